package dataset

import (
	"context"
	"fmt"

	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/storage"
)

// OpenBuild opens the parts of one split of a build's manifest (every
// split when split is ""), whether or not the build is published: the
// pipeline reads a candidate build back before it publishes it, and tools
// read any build a manifest describes. uri is the build's output location.
// A split without rows gives an error, as an empty folder does.
func OpenBuild(ctx context.Context, uri string, m *manifest.Manifest, split string, opt Options) (*Dataset, error) {
	loc, err := storage.Open(ctx, uri)
	if err != nil {
		return nil, err
	}
	d := &Dataset{URI: uri, loc: loc, opts: opt, Build: m}
	objs, err := partObjects(m, &manifest.Pointer{BuildID: m.BuildID}, split)
	if err == nil && len(objs) == 0 {
		err = errNoParts(m.BuildID, split)
	}
	if err != nil {
		loc.Close()
		return nil, err
	}
	return d.inspect(ctx, objs)
}

func errNoParts(buildID, split string) error {
	if split == "" {
		return fmt.Errorf("build %s has no part files", buildID)
	}
	return fmt.Errorf("split %q of build %s has no part files", split, buildID)
}
