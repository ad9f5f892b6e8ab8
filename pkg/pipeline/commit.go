package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/mldata-io/mldata/pkg/dataset"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/storage"
	"github.com/mldata-io/mldata/pkg/validate"
)

// ShardError is Commit's error when shards failed or did not run: nothing
// was published.
type ShardError struct {
	BuildID string
	// Failed maps a shard to what failed in it (naming the file), or to
	// "no result" when it never finished.
	Failed map[int]string
	Shards int
}

func (e *ShardError) Error() string {
	idx := make([]int, 0, len(e.Failed))
	for i := range e.Failed {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	lines := make([]string, len(idx))
	for k, i := range idx {
		lines[k] = fmt.Sprintf("  - shard %d: %s", i, e.Failed[i])
	}
	return fmt.Sprintf("build %s: %d of %d shard(s) failed; nothing was published:\n%s", e.BuildID, len(idx), e.Shards, strings.Join(lines, "\n"))
}

// Commit runs the commit phase of a sharded build (cfg.BuildID): it reads
// the plan and every shard's result, checks the validation rules across all
// of the build's rows (unique keys spread over shards, minRows,
// maxNullFraction, …) and the schema policy, writes the manifest and
// publishes it as Build does. If any shard failed or has no result, nothing
// is published and the error (a *ShardError) names the shards and what
// failed in them.
func Commit(ctx context.Context, cfg Config) (*Result, error) {
	b, out, sp, err := openPlanned(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cfg = b.cfg
	b.start = sp.CreatedAt
	sch, err := decodeSchema(sp.Schema)
	if err != nil {
		return nil, err
	}
	validator, err := validate.New(cfg.Rules, sch)
	if err != nil {
		return nil, err
	}

	// Gather the shards' results.
	b.stats.setStage("gather")
	results, err := readShardResults(ctx, out, sp)
	if err != nil {
		return nil, err
	}
	files := map[int]*taskResult{}
	var partials []*validate.Partial
	for _, r := range results {
		for k, fi := range r.Files {
			if fi < 0 || fi >= len(sp.Files) || k >= len(r.Results) {
				return nil, fmt.Errorf("shard %d of build %s: its result is damaged", r.Shard, sp.BuildID)
			}
			tr := &r.Results[k]
			acc := files[fi]
			if acc == nil {
				acc = &taskResult{Nulls: make([]int64, sch.NumFields())}
				files[fi] = acc
			}
			acc.Parts = append(acc.Parts, tr.Parts...)
			acc.Rows += tr.Rows
			for c, v := range tr.Nulls {
				if c < len(acc.Nulls) {
					acc.Nulls[c] += v
				}
			}
			switch {
			case tr.Strata == nil:
			case acc.Strata == nil:
				acc.Strata = tr.Strata // each result is decoded afresh: no sharing
			default:
				if err := acc.Strata.Merge(tr.Strata); err != nil {
					return nil, err
				}
			}
		}
		for _, data := range r.Validation {
			p, err := validator.DecodePartial(data)
			if err != nil {
				return nil, fmt.Errorf("shard %d of build %s: %w", r.Shard, sp.BuildID, err)
			}
			partials = append(partials, p)
		}
	}

	// Rebuild the one-process build's view: the work and what was processed.
	w := &work{schema: sch, reused: map[string]manifest.SourceFile{}, reuse: sp.Reuse}
	proc := &processed{validator: validator, partials: partials}
	for fi, pf := range sp.Files {
		o := pf.object()
		w.objs = append(w.objs, o)
		if pf.Reused != nil {
			w.reused[pf.Key] = *pf.Reused
			continue
		}
		own, err := decodeSchema(pf.Schema)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pf.Key, err)
		}
		acc := files[fi]
		if acc == nil {
			return nil, fmt.Errorf("build %s: no shard processed %s; the shards' results do not match the plan", sp.BuildID, pf.Key)
		}
		if acc.Rows != pf.Rows {
			return nil, fmt.Errorf("%s: the shards read %d rows but the plan found %d; the file changed while it was read — run the build again", pf.Key, acc.Rows, pf.Rows)
		}
		// Parts group by group; within a group, as its one writer made them.
		sort.SliceStable(acc.Parts, func(i, j int) bool { return acc.Parts[i].Group < acc.Parts[j].Group })
		var parts []manifest.Part
		for _, p := range acc.Parts {
			parts = append(parts, p.Part)
		}
		proc.files = append(proc.files, &dataset.File{Object: o, SHA256: pf.SHA256, Schema: own, Rows: pf.Rows})
		proc.parts = append(proc.parts, parts)
		proc.rows = append(proc.rows, acc.Rows)
		proc.nullCounts = append(proc.nullCounts, acc.Nulls)
		proc.strata = append(proc.strata, acc.Strata)
	}

	var prev *manifest.Manifest
	if sp.Pointer != nil && !sp.PreviousDamaged {
		if prev, err = manifest.Read(ctx, out, sp.Pointer.Manifest); err != nil {
			return nil, fmt.Errorf("read the build the plan started from: %w", err)
		}
	}
	m := b.newManifest()
	m.Timings.ListMS, m.Timings.InferMS = sp.ListMS, sp.InferMS
	for _, r := range results {
		m.Timings.ProcessMS = max(m.Timings.ProcessMS, r.ProcessMS)
	}
	b.stats.setStage("validate")
	if err := b.validateReused(ctx, out, w, proc); err != nil {
		return nil, err
	}
	if err := b.finish(w, proc, prev); err != nil {
		b.discard(out, proc)
		return nil, err
	}

	res, err := b.publish(ctx, out, sp.Pointer, prev, proc, &Result{Plan: sp.Plan, Reuse: sp.Reuse})
	if err != nil {
		return nil, err
	}
	// The staging area has served its purpose.
	if err := deleteStaging(ctx, out, sp); err != nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("build %s is published, but its staging files stay: %v", res.Manifest.BuildID, err))
	}
	return res, nil
}

// readShardResults reads every shard's result; failed and missing shards
// make a *ShardError.
func readShardResults(ctx context.Context, out *storage.Location, sp *ShardPlan) ([]*ShardResult, error) {
	results := make([]*ShardResult, 0, sp.Shards)
	failed := map[int]string{}
	want := Assign(sp.Units, sp.Shards)
	for i := 0; i < sp.Shards; i++ {
		key := ShardResultKey(sp.BuildID, i, sp.Shards)
		data, err := out.ReadFile(ctx, key)
		if storage.IsNotExist(err) {
			failed[i] = "no result: it did not finish" + filesOf(sp, want[i])
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", key, err)
		}
		var r ShardResult
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("%s is damaged: %w", key, err)
		}
		switch {
		case r.Plan != sp.digest:
			failed[i] = "its result is of another plan of build " + sp.BuildID + " (the build was planned again): run the shard again"
		case r.Error != "":
			failed[i] = r.Error
		case r.BuildID != sp.BuildID || r.Shard != i || r.Shards != sp.Shards || !equalInts(r.Units, want[i]):
			failed[i] = "its result does not match the plan (" + key + ")"
		default:
			results = append(results, &r)
		}
	}
	if len(failed) > 0 {
		return nil, &ShardError{BuildID: sp.BuildID, Failed: failed, Shards: sp.Shards}
	}
	return results, nil
}

// filesOf names the files of some units, for messages (at most three).
func filesOf(sp *ShardPlan, units []int) string {
	var names []string
	seen := map[int]bool{}
	for _, u := range units {
		fi := sp.Units[u].File
		if seen[fi] {
			continue
		}
		seen[fi] = true
		names = append(names, sp.Files[fi].Key)
	}
	switch {
	case len(names) == 0:
		return ""
	case len(names) > 3:
		return fmt.Sprintf(" (its files: %s and %d more)", strings.Join(names[:3], ", "), len(names)-3)
	}
	return " (its files: " + strings.Join(names, ", ") + ")"
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// deleteStaging deletes the plan and the shards' results of a build.
func deleteStaging(ctx context.Context, out *storage.Location, sp *ShardPlan) error {
	var errs []error
	for i := 0; i < sp.Shards; i++ {
		if err := out.Delete(ctx, ShardResultKey(sp.BuildID, i, sp.Shards)); err != nil && !storage.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	if err := out.Delete(ctx, PlanKey(sp.BuildID)); err != nil && !storage.IsNotExist(err) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
