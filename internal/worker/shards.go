package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/pipeline"
)

// Phases of a sharded DatasetBuild (see docs/sharding.md).
const (
	PhasePlan   = "plan"
	PhaseShard  = "shard"
	PhaseCommit = "commit"
)

// ShardIndexEnv is where an Indexed Job gives each pod its index.
const ShardIndexEnv = "JOB_COMPLETION_INDEX"

// Shards is the number of shards a DatasetBuild asks for (1 when unset).
func Shards(spec *v1alpha1.DatasetBuildSpec) int {
	if p := spec.Parallelism; p != nil && p.Shards != nil && *p.Shards > 1 {
		return int(*p.Shards)
	}
	return 1
}

// RunBuildPhase runs one phase of a sharded build. The plan's summary is a
// build's "up to date" summary when nothing changed (the controller then
// starts no shard), else it says how the work was cut; a shard's says what
// it processed; the commit's is the published build's, as RunBuild's.
func RunBuildPhase(ctx context.Context, t *Task, opt Options) (*Result, error) {
	opt, err := limitOptions(t.Build.Limits, opt)
	if err != nil {
		return nil, err
	}
	cfg, err := BuildConfig(t.Build, opt)
	if err != nil {
		return nil, &Failure{Reason: v1alpha1.ReasonInvalidSpec, Err: err}
	}
	if t.BuildID == "" {
		return nil, &Failure{Reason: v1alpha1.ReasonInvalidSpec, Err: errors.New("task: a build phase needs the build id")}
	}
	cfg.BuildID = t.BuildID
	switch t.Phase {
	case PhasePlan:
		pr, err := pipeline.PlanShards(ctx, cfg, pipeline.ShardOptions{Shards: t.Shards, RangeBytes: t.RangeBytes})
		if err != nil {
			return nil, buildFailure(t.Build, err)
		}
		if pr.UpToDate {
			b, err := buildResult(ctx, cfg, &pipeline.Result{Manifest: pr.Manifest, Plan: pr.Plan, UpToDate: true})
			if err != nil {
				return nil, err
			}
			return &Result{Summary: b.Summary(), Build: b}, nil
		}
		sp := pr.Shard
		s := &Summary{Kind: KindDatasetBuild, OK: true, BuildID: sp.BuildID,
			FilesProcessed: int64(len(sp.Reuse.Processed)), FilesReused: int64(len(sp.Reuse.Reused)), SourceCount: int64(len(sp.Files)),
			Message: fmt.Sprintf("planned build %s: %d unit(s) of work from %d changed file(s) over %d shard(s)", sp.BuildID, len(sp.Units), len(sp.Reuse.Processed), sp.Shards)}
		return &Result{Summary: s}, nil
	case PhaseShard:
		r, err := pipeline.RunShard(ctx, cfg, t.Shard, t.Shards)
		if err != nil {
			return nil, buildFailure(t.Build, err)
		}
		var rows int64
		for _, tr := range r.Results {
			rows += tr.Rows
		}
		return &Result{Summary: &Summary{Kind: KindDatasetBuild, OK: true, BuildID: r.BuildID,
			Message: fmt.Sprintf("shard %d/%d of build %s: %d unit(s) of %d file(s), %d rows", t.Shard, t.Shards, r.BuildID, len(r.Units), len(r.Files), rows)}}, nil
	case PhaseCommit:
		res, err := pipeline.Commit(ctx, cfg)
		b, err := finishBuild(ctx, t.Build, cfg, res, err)
		if err != nil {
			return nil, err
		}
		return &Result{Summary: b.Summary(), Build: b}, nil
	}
	return nil, fmt.Errorf("task: unknown build phase %q: use %s, %s or %s", t.Phase, PhasePlan, PhaseShard, PhaseCommit)
}

// runSharded runs a sharded build locally: the plan, the shards at once
// (each in its own process when opt.RunShard is set), then the commit.
func runSharded(ctx context.Context, name string, spec *v1alpha1.DatasetBuildSpec, opt Options) (*BuildResult, error) {
	n := Shards(spec)
	// Every phase reads with the same limits, also a shard run in a
	// process of its own: they are part of the settings the plan records.
	lim, err := ResolveLimits(spec.Limits, opt.Limits)
	if err != nil {
		return nil, &Failure{Reason: v1alpha1.ReasonInvalidSpec, Err: err}
	}
	opt.Limits = lim.Format()
	t := &Task{Kind: KindDatasetBuild, Name: name, Build: spec, Shards: n, Limits: lim,
		BuildID: manifest.NewBuildID(opt.now(), fmt.Sprintf("s%d", n))}
	plan := *t
	plan.Phase = PhasePlan
	pr, err := RunBuildPhase(ctx, &plan, opt)
	if err != nil {
		return nil, err
	}
	if pr.Build != nil { // up to date
		return pr.Build, nil
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			st := *t
			st.Phase, st.Shard = PhaseShard, i
			if opt.RunShard != nil {
				errs[i] = opt.RunShard(ctx, &st, i)
			} else {
				_, errs[i] = RunBuildPhase(ctx, &st, opt)
			}
		}(i)
	}
	wg.Wait()
	// The commit names the failed shards and their files; it publishes
	// nothing if any failed.
	commit := *t
	commit.Phase = PhaseCommit
	cr, err := RunBuildPhase(ctx, &commit, opt)
	if err != nil {
		if serr := errors.Join(errs...); serr != nil {
			return nil, fmt.Errorf("%w\nthe shards' own errors: %v", err, serr)
		}
		return nil, err
	}
	return cr.Build, nil
}
