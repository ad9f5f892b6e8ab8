package pipeline

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/storage"
)

// DefaultHistoryGrace is how long a replaced build stays readable when
// Config.HistoryGrace is 0.
const DefaultHistoryGrace = time.Hour

// NoHistoryGrace as Config.HistoryGrace keeps replaced builds only by the
// history limit.
const NoHistoryGrace time.Duration = -1

// PruneOptions say which builds Prune keeps.
type PruneOptions struct {
	// Keep is the number of published builds kept, newest generations
	// first, the current one included (at least 1).
	Keep int
	// Grace keeps, beyond Keep, every build replaced less than Grace ago,
	// 0 means none.
	Grace time.Duration
	// Now is the pruner's clock; zero means time.Now.
	Now time.Time
}

// Prune deletes old builds of an output location. Published builds are
// those a generation claim names, ordered by generation (never by their
// ids or clocks). It keeps:
//
//   - the opt.Keep builds of the highest generations, the current one
//     among them;
//   - every build replaced less than opt.Grace ago (replaced at the
//     PublishedAt of the next claim), so that readers that resolved the
//     previous pointer a moment ago can still read it;
//   - the build latest.json names, whatever its generation;
//   - every part file a kept build lists (incremental builds reuse earlier
//     builds' parts);
//   - sharded builds' staging files (plan, shard results) while young:
//     those of published builds and older ones are deleted (pruneStaging);
//   - folders no claim names (a failed build, a lost race, a build whose
//     publish had an unknown outcome, or one still running) until their
//     newest file is older than opt.Grace, and at least DefaultHistoryGrace
//     whatever opt.Grace says: a running build must not spend longer than
//     that between two writes. Their age is the store's modification time
//     against the pruner's clock.
//
// Of a pruned build it deletes the claim first, then the manifest, then the
// parts, so that a prune that stops halfway never leaves a claim or a
// manifest naming a missing file. It returns the ids of the builds it
// deleted, in order.
func Prune(ctx context.Context, out *storage.Location, opt PruneOptions) ([]string, error) {
	if opt.Keep < 1 {
		return nil, fmt.Errorf("history limit %d: keep at least 1 build", opt.Keep)
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	claimList, err := manifest.ListClaims(ctx, out)
	if err != nil {
		return nil, err
	}
	if len(claimList) == 0 {
		return nil, nil // nothing published: nothing to tell leftovers from builds
	}
	claims := make([]*manifest.Pointer, len(claimList))
	for i, c := range claimList {
		if claims[i], err = manifest.ReadClaim(ctx, out, c.Key); err != nil {
			return nil, err
		}
	}
	keep := map[string]bool{}
	keptClaims := map[int64]bool{}
	for i := len(claims) - 1; i >= 0; i-- {
		top := len(claims)-i <= opt.Keep
		recent := i+1 < len(claims) && opt.Grace > 0 && opt.Now.Sub(claims[i+1].PublishedAt) < opt.Grace
		if top || recent || keep[claims[i].BuildID] {
			keep[claims[i].BuildID] = true
			keptClaims[claims[i].Generation] = true
		}
	}
	// latest.json may lag behind the claims (see ReadLatest): what it names
	// stays readable.
	if data, err := out.ReadFile(ctx, manifest.PointerKey); err == nil {
		if p, err := manifest.DecodePointer(data); err == nil {
			keep[p.BuildID] = true
		}
	} else if !storage.IsNotExist(err) {
		return nil, fmt.Errorf("read %s: %w", manifest.PointerKey, err)
	}

	objs, err := out.ListDir(ctx, "builds/")
	if err != nil {
		return nil, err
	}
	type folder struct {
		keys   []string
		newest time.Time
	}
	folders := map[string]*folder{}
	for _, o := range objs {
		id, _, ok := strings.Cut(strings.TrimPrefix(o.Key, "builds/"), "/")
		if !ok {
			continue
		}
		f := folders[id]
		if f == nil {
			f = &folder{}
			folders[id] = f
		}
		f.keys = append(f.keys, o.Key)
		if o.ModTime.After(f.newest) {
			f.newest = o.ModTime
		}
	}
	referenced := map[string]bool{}
	for id := range keep {
		if folders[id] == nil {
			continue // a claim of a build whose files are gone (not ours to fix)
		}
		m, err := manifest.Read(ctx, out, manifest.Key(id))
		if err != nil {
			return nil, fmt.Errorf("read kept build %s: %w", id, err)
		}
		for _, s := range m.Splits {
			for _, p := range s.Parts {
				referenced[p.Path] = true
			}
		}
	}
	claimed := map[string]bool{}
	var doomedClaims []string
	for i, c := range claims {
		claimed[c.BuildID] = true
		if !keptClaims[c.Generation] && !keep[c.BuildID] {
			doomedClaims = append(doomedClaims, claimList[i].Key)
		}
	}
	var pruned, doomed []string
	for id, f := range folders {
		if keep[id] {
			continue
		}
		if !claimed[id] && opt.Now.Sub(f.newest) < max(opt.Grace, DefaultHistoryGrace) {
			continue // maybe still running, or its publish still settling
		}
		pruned = append(pruned, id)
		for _, k := range f.keys {
			if !referenced[k] {
				doomed = append(doomed, k)
			}
		}
	}
	sort.Slice(doomed, func(i, j int) bool {
		mi, mj := strings.HasSuffix(doomed[i], "/manifest.json"), strings.HasSuffix(doomed[j], "/manifest.json")
		if mi != mj {
			return mi
		}
		return doomed[i] < doomed[j]
	})
	for _, k := range append(doomedClaims, doomed...) {
		if err := out.Delete(ctx, k); err != nil && !storage.IsNotExist(err) {
			return nil, fmt.Errorf("delete %s: %w", k, err)
		}
	}
	if err := pruneStaging(ctx, out, claimed, opt.Now, max(opt.Grace, DefaultHistoryGrace)); err != nil {
		return nil, err
	}
	sort.Strings(pruned)
	return pruned, nil
}
