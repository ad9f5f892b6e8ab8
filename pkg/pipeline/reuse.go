package pipeline

import (
	"context"
	"fmt"
	"sort"
	"strings"
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
	defer dataset.CloseFiles(files)
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

// Prune keeps the newest `keep` published builds (always including the one
// latest.json names) and deletes the rest: their manifests, and their part
// files unless a kept build still lists them (incremental builds reuse
// earlier parts). Folders of failed builds older than the published one are
// deleted too; newer ones may belong to a build in progress and are left.
// It returns the ids of the builds it deleted.
func Prune(ctx context.Context, out *storage.Location, keep int) ([]string, error) {
	if keep < 1 {
		return nil, fmt.Errorf("history limit %d: keep at least 1 build", keep)
	}
	ptr, _, err := manifest.ReadLatest(ctx, out)
	if err != nil {
		return nil, err
	}
	objs, err := out.List(ctx, nil)
	if err != nil {
		return nil, err
	}
	byBuild := map[string][]string{}
	hasManifest := map[string]bool{}
	var claims []string
	for _, o := range objs {
		switch {
		case strings.HasPrefix(o.Key, "builds/"):
			rest := strings.TrimPrefix(o.Key, "builds/")
			id, _, ok := strings.Cut(rest, "/")
			if !ok {
				continue
			}
			byBuild[id] = append(byBuild[id], o.Key)
			if o.Key == manifest.Key(id) {
				hasManifest[id] = true
			}
		case strings.HasPrefix(o.Key, "generations/") && o.Key < manifest.GenerationKey(ptr.Generation):
			claims = append(claims, o.Key)
		}
	}
	var published []string
	for id := range hasManifest {
		if id <= ptr.BuildID {
			published = append(published, id)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(published)))
	kept := map[string]bool{ptr.BuildID: true}
	for _, id := range published {
		if len(kept) >= keep {
			break
		}
		kept[id] = true
	}
	referenced := map[string]bool{}
	for id := range kept {
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
	var pruned, doomed []string
	for id, keys := range byBuild {
		if kept[id] || id > ptr.BuildID {
			continue
		}
		pruned = append(pruned, id)
		for _, k := range keys {
			if !referenced[k] {
				doomed = append(doomed, k)
			}
		}
	}
	// Manifests go first, so a crash halfway never leaves a manifest whose
	// parts are gone.
	sort.Slice(doomed, func(i, j int) bool {
		mi, mj := strings.HasSuffix(doomed[i], "/manifest.json"), strings.HasSuffix(doomed[j], "/manifest.json")
		if mi != mj {
			return mi
		}
		return doomed[i] < doomed[j]
	})
	for _, k := range append(doomed, claims...) {
		if err := out.Delete(ctx, k); err != nil && !storage.IsNotExist(err) {
			return nil, fmt.Errorf("delete %s: %w", k, err)
		}
	}
	sort.Strings(pruned)
	return pruned, nil
}
