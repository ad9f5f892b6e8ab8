package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/mldata-io/mldata/pkg/pipeline"
)

// phaseFlags select one phase of a sharded build (see docs/sharding.md).
type phaseFlags struct {
	planOnly   bool
	shards     int
	shard      string // "I/N"
	commit     bool
	rangeBytes int64
}

func addPhaseFlags(fl *pflag.FlagSet, f *phaseFlags) {
	fl.BoolVar(&f.planOnly, "plan-only", false, "sharded build, phase 1: plan the build for --shards shards and write the plan to the output's staging area")
	fl.IntVar(&f.shards, "shards", 1, "with --plan-only: the number of shards (1-1024)")
	fl.StringVar(&f.shard, "shard", "", "sharded build, phase 2: run shard I of N (0 <= I < N) of the planned build --build-id")
	fl.BoolVar(&f.commit, "commit", false, "sharded build, phase 3: check the shards' results and publish the build --build-id")
	fl.Int64Var(&f.rangeBytes, "range-bytes", pipeline.DefaultRangeBytes, "with --plan-only: source files larger than this are cut into ranges that different shards process")
	_ = fl.MarkHidden("range-bytes")
}

func (f phaseFlags) set() bool { return f.planOnly || f.shard != "" || f.commit }

// parseShard parses "I/N".
func parseShard(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	if ok {
		i, err = strconv.Atoi(a)
		if err == nil {
			n, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || n < 1 || n > pipeline.MaxShards || i < 0 || i >= n {
		return 0, 0, usagef("--shard %q: use I/N with 0 <= I < N <= %d, e.g. --shard 0/4", s, pipeline.MaxShards)
	}
	return i, n, nil
}

// runPhase runs one phase of a sharded build.
func runPhase(ctx context.Context, cfg pipeline.Config, f phaseFlags, asJSON bool, gate gateOutput, stdout, stderr io.Writer) error {
	n := 0
	for _, on := range []bool{f.planOnly, f.shard != "", f.commit} {
		if on {
			n++
		}
	}
	if n > 1 {
		return usagef("--plan-only, --shard and --commit are phases of a sharded build: give one of them")
	}
	if cfg.DryRun {
		return usagef("--dry-run plans a one-process build; with --plan-only it is not needed")
	}
	if !f.planOnly && cfg.BuildID == "" {
		return usagef("--shard and --commit need the --build-id the plan was made with")
	}
	stats := &pipeline.Stats{}
	cfg.Stats = stats
	start := time.Now()
	switch {
	case f.planOnly:
		if f.shards < 1 || f.shards > pipeline.MaxShards {
			return usagef("--shards %d: use 1 to %d", f.shards, pipeline.MaxShards)
		}
		cfg.OnPlan = func(p *pipeline.Plan) { printPlan(stderr, p, false) }
		stop := startProgress(stats, stderr)
		res, err := pipeline.PlanShards(ctx, cfg, pipeline.ShardOptions{Shards: f.shards, RangeBytes: f.rangeBytes})
		stop()
		if err != nil {
			return err
		}
		sum := planSummary(res, f.shards)
		if asJSON {
			return writeJSON(stdout, sum)
		}
		if res.UpToDate {
			fmt.Fprintf(stdout, "up to date: build %s is published (%d rows); nothing to run\n", res.Manifest.BuildID, res.Manifest.Rows())
			return nil
		}
		fmt.Fprintf(stdout, "planned build %s: %d unit(s) of work over %d shard(s)\n", sum.BuildID, sum.Units, sum.Shards)
		for i, u := range sum.ShardUnits {
			fmt.Fprintf(stdout, "  shard %d: %d unit(s), about %d source bytes\n", i, u, sum.ShardBytes[i])
		}
		return nil
	case f.shard != "":
		i, n, err := parseShard(f.shard)
		if err != nil {
			return err
		}
		stop := startProgress(stats, stderr)
		res, err := pipeline.RunShard(ctx, cfg, i, n)
		stop()
		if err != nil {
			return err
		}
		if asJSON {
			res.Validation = nil // encoded state for the commit, not for people
			return writeJSON(stdout, res)
		}
		var rows int64
		for _, r := range res.Results {
			rows += r.Rows
		}
		fmt.Fprintf(stdout, "shard %d/%d of build %s: %d unit(s) of %d file(s), %d rows in %s\n",
			i, n, res.BuildID, len(res.Units), len(res.Files), rows, time.Since(start).Round(time.Millisecond))
		return nil
	default:
		stop := startProgress(stats, stderr)
		res, err := pipeline.Commit(ctx, cfg)
		stop()
		if err := gate.write(ctx, res, err); err != nil {
			return err
		}
		return printBuild(cfg, res, start, asJSON, stdout, stderr)
	}
}

// PlanSummary is what --plan-only --json prints.
type PlanSummary struct {
	BuildID  string `json:"build_id,omitempty"`
	UpToDate bool   `json:"up_to_date"`
	Shards   int    `json:"shards"`
	Units    int    `json:"units"`
	// ShardUnits and ShardBytes are each shard's units and estimated
	// source bytes.
	ShardUnits []int          `json:"shard_units,omitempty"`
	ShardBytes []int64        `json:"shard_bytes,omitempty"`
	Plan       *pipeline.Plan `json:"plan"`
}

func planSummary(res *pipeline.PlanResult, shards int) PlanSummary {
	s := PlanSummary{UpToDate: res.UpToDate, Shards: shards, Plan: res.Plan}
	if res.Shard == nil {
		return s
	}
	sp := res.Shard
	s.BuildID, s.Units = sp.BuildID, len(sp.Units)
	for _, units := range pipeline.Assign(sp.Units, shards) {
		var b int64
		for _, u := range units {
			b += sp.Units[u].Bytes
		}
		s.ShardUnits = append(s.ShardUnits, len(units))
		s.ShardBytes = append(s.ShardBytes, b)
	}
	return s
}
