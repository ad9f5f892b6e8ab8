package pipeline

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mldata-io/mldata/pkg/storage"
)

// pruneStaging deletes the staging files (plan, shard results) of sharded
// builds that will not commit any more: those published (their commit
// normally deletes them; this catches a delete that failed) and those whose
// newest staging file is older than grace — a plan whose shards failed or
// were abandoned. A sharded build in progress writes its results as its
// shards end, so its staging folder stays young.
func pruneStaging(ctx context.Context, out *storage.Location, claimed map[string]bool, now time.Time, grace time.Duration) error {
	objs, err := out.ListDir(ctx, "staging/")
	if err != nil {
		return err
	}
	type folder struct {
		keys   []string
		newest time.Time
	}
	folders := map[string]*folder{}
	var order []string
	for _, o := range objs {
		id, _, ok := strings.Cut(strings.TrimPrefix(o.Key, "staging/"), "/")
		if !ok {
			continue
		}
		f := folders[id]
		if f == nil {
			f = &folder{}
			folders[id] = f
			order = append(order, id)
		}
		f.keys = append(f.keys, o.Key)
		if o.ModTime.After(f.newest) {
			f.newest = o.ModTime
		}
	}
	for _, id := range order {
		f := folders[id]
		if !claimed[id] && now.Sub(f.newest) < grace {
			continue
		}
		for _, k := range f.keys {
			if err := out.Delete(ctx, k); err != nil && !storage.IsNotExist(err) {
				return fmt.Errorf("delete %s: %w", k, err)
			}
		}
	}
	return nil
}
