package pipeline

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/mldata-io/mldata/pkg/dataset"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/parallel"
	"github.com/mldata-io/mldata/pkg/storage"
)

// missingParts returns, for each reused file with a part that no longer
// exists, the first missing part's path.
func missingParts(ctx context.Context, out *storage.Location, reused map[string]manifest.SourceFile, workers int) (map[string]string, error) {
	type check struct{ key, path string }
	var checks []check
	for k, f := range reused {
		for _, p := range f.Parts {
			checks = append(checks, check{k, p.Path})
		}
	}
	sort.Slice(checks, func(i, j int) bool { return checks[i].path < checks[j].path })
	missing := map[string]string{}
	var mu sync.Mutex
	err := parallel.ForEach(ctx, max(workers, 8), len(checks), func(_, i int) error {
		ok, err := out.Exists(ctx, checks[i].path)
		if err != nil {
			return fmt.Errorf("check cached part %s: %w", checks[i].path, err)
		}
		if !ok {
			mu.Lock()
			if cur, seen := missing[checks[i].key]; !seen || checks[i].path < cur {
				missing[checks[i].key] = checks[i].path
			}
			mu.Unlock()
		}
		return nil
	})
	return missing, err
}

// validateReused runs the validation rules over the parts of reused files,
// so that rules spanning the dataset (unique, minRows, maxNullFraction) see
// every row. Only output parts are read, never the sources; without rules
// nothing is read.
func (b *builder) validateReused(ctx context.Context, out *storage.Location, w *work, proc *processed) error {
	if len(b.cfg.Rules) == 0 || len(w.reused) == 0 {
		return nil
	}
	var objs []storage.Object
	for _, o := range w.objs {
		for _, p := range w.reused[o.Key].Parts {
			objs = append(objs, storage.Object{Key: p.Path, Size: p.Bytes})
		}
	}
	files, err := dataset.Inspect(ctx, out, objs, dataset.Options{Format: b.cfg.OutputFormat, Read: b.cfg.Read, ScratchDir: b.cfg.ScratchDir, Workers: b.cfg.Workers})
	if err != nil {
		return fmt.Errorf("read reused parts for validation: %w", err)
	}
	defer func() { _ = dataset.CloseFiles(files) }() // read only: nothing to lose
	part := proc.validator.NewPartial()
	proc.partials = append(proc.partials, part)
	for i, f := range files {
		err := dataset.ScanFile(ctx, w.schema, f, len(w.objs)+i, b.cfg.Read, 1,
			func(_ int, bt dataset.Batch) (struct{}, error) {
				defer bt.Record.Release()
				part.Observe(bt.Record, f.Object.Key, len(w.objs)+i, bt.Chunk.FirstRow+1)
				return struct{}{}, nil
			},
			func(struct{}) error { return nil })
		if err != nil {
			return fmt.Errorf("validate reused part %s: %w", f.Object.Key, err)
		}
	}
	return nil
}
