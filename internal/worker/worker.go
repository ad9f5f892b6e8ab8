// Package worker runs one DatasetBuild, DatasetProfile or DriftCheck: it
// turns the resource's spec into calls of the data engine in pkg/ (pipeline,
// profile, drift), and turns their results into the status the controller
// writes. The same code runs in a Job's pod (`mldata worker <kind>`) and on a
// laptop (`mldata run -f`), so that trying a manifest locally shows exactly
// what the cluster would do. `mldata build`, `mldata profile` and `mldata
// drift` turn their flags into the same specs and options and call the same
// converters (BuildConfig, ProfileInput, CompareInputs), so that there is
// one place where settings become pkg calls.
//
// The worker needs no Kubernetes client. A Job hands it a Task as JSON in the
// MLDATA_TASK environment variable (decision: an env var rather than a
// mounted ConfigMap, because a spec is a few KiB at most and an env var needs
// no extra object whose lifetime must follow the Job's). References to other
// resources (datasetBuildRef, datasetProfileRef) are resolved by the caller
// into plain Inputs before the Task is built, so the worker never looks
// anything up.
//
// The worker writes its full result to object storage (the build manifest,
// profile.json, drift.json) and a short Summary (< 4 KiB) to the termination
// message path, from which the controller fills status.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/format"
)

// Kinds of resources the worker runs, as in the API's kind names.
const (
	KindDatasetBuild   = "DatasetBuild"
	KindDatasetProfile = "DatasetProfile"
	KindDriftCheck     = "DriftCheck"
)

// TaskEnv is the environment variable that carries the Task as JSON.
const TaskEnv = "MLDATA_TASK"

// DefaultTerminationPath is where Kubernetes reads a container's
// termination message.
const DefaultTerminationPath = "/dev/termination-log"

// MaxSummaryBytes bounds the termination message: the kubelet keeps at most
// 4096 bytes of it.
const MaxSummaryBytes = 4096

// Input is one dataset to read: a file, a folder or bucket prefix, or the
// output of a DatasetBuild (whose latest.json the reader follows), or, for a
// drift baseline, a profile JSON.
type Input struct {
	URI     string   `json:"uri"`
	Format  string   `json:"format,omitempty"`
	Include []string `json:"include,omitempty"`
	Split   string   `json:"split,omitempty"`
	// BuildID, when the input is a DatasetBuild's output, is the build the
	// reader must see; the worker checks it against the published one.
	BuildID string `json:"buildID,omitempty"`
	// Profile is true when URI is a profile JSON (a datasetProfileRef).
	Profile bool `json:"profile,omitempty"`
}

// Task is what one run of the worker does.
type Task struct {
	Kind string `json:"kind"`
	// Name of the resource, for messages.
	Name string `json:"name,omitempty"`
	// RunID names the run; reports are written under <output>/<runID>/.
	RunID string `json:"runID,omitempty"`

	Build   *v1alpha1.DatasetBuildSpec   `json:"build,omitempty"`
	Profile *v1alpha1.DatasetProfileSpec `json:"profile,omitempty"`
	Drift   *v1alpha1.DriftCheckSpec     `json:"drift,omitempty"`

	// Source is the resolved input of a DatasetProfile; Baseline and
	// Current those of a DriftCheck.
	Source   *Input `json:"source,omitempty"`
	Baseline *Input `json:"baseline,omitempty"`
	Current  *Input `json:"current,omitempty"`

	// Limits are the input limits to read with, resolved by the
	// controller from spec.limits under the operator's ceilings; nil
	// (a local run) resolves spec.limits under Options.Limits.
	Limits *Limits `json:"limits,omitempty"`

	// Phase, for a sharded DatasetBuild: PhasePlan, PhaseShard or
	// PhaseCommit of build BuildID over Shards shards; "" runs the whole
	// build in one process. A shard's index is Shard, which an Indexed
	// Job's pod takes from JOB_COMPLETION_INDEX.
	Phase   string `json:"phase,omitempty"`
	BuildID string `json:"buildID,omitempty"`
	Shards  int    `json:"shards,omitempty"`
	Shard   int    `json:"shard,omitempty"`
	// RangeBytes, for a plan: source files larger than this are cut into
	// ranges that different shards process; 0 means
	// pipeline.DefaultRangeBytes (the manager's --shard-range-bytes).
	RangeBytes int64 `json:"rangeBytes,omitempty"`
}

// Options are how the worker runs, as opposed to what it runs.
type Options struct {
	// ScratchDir holds spooled copies of remote Parquet files; "" means
	// os.TempDir(). In a Job it is the emptyDir, since the root filesystem
	// is read-only.
	ScratchDir string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Limits bound what one input file may take in memory; zero fields
	// keep format's defaults.
	Limits format.Limits
	// RunShard runs shard index of a sharded build's task (RunLocal), in a
	// process of its own; nil runs the shards in this process.
	RunShard func(ctx context.Context, t *Task, index int) error
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now().UTC()
	}
	return time.Now().UTC()
}

// Result is what a run produced: the Summary for the termination message and
// the full results that status is computed from.
type Result struct {
	Summary *Summary
	Build   *BuildResult
	Profile *ProfileResult
	Drift   *DriftResult
}

// Failure is an error with the condition reason it stands for, so that the
// controller (and `mldata run`) can tell a validation failure from a
// breaking schema change from a broken bucket.
type Failure struct {
	Reason string
	Err    error
	// HTMLReportURI is a report the failed run still wrote: a refused
	// build's publish gate page.
	HTMLReportURI string
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

// ReasonOf returns the condition reason of a worker error.
func ReasonOf(err error) string {
	var f *Failure
	if errors.As(err, &f) && f.Reason != "" {
		return f.Reason
	}
	var fe *format.Error
	if errors.As(err, &fe) {
		return v1alpha1.ReasonInvalidInput
	}
	return v1alpha1.ReasonJobFailed
}

// permanentReasons are the failure reasons that running again with the
// same spec and inputs cannot cure.
var permanentReasons = map[string]bool{
	v1alpha1.ReasonInvalidSpec:          true,
	v1alpha1.ReasonInvalidInput:         true,
	v1alpha1.ReasonValidationFailed:     true,
	v1alpha1.ReasonBreakingSchemaChange: true,
	v1alpha1.ReasonReferenceNotFound:    true,
	v1alpha1.ReasonSplitsLeak:           true,
	v1alpha1.ReasonDriftGateFailed:      true,
}

// Permanent reports whether err is a failure that a retry cannot cure: bad
// input (a file that does not parse, validation, schema policy) or a spec
// or reference that cannot work. Everything else (storage errors,
// timeouts, interrupted reads) is transient: the same run may succeed
// later.
func Permanent(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	return permanentReasons[ReasonOf(err)]
}

// Run runs the task. On failure the error says why and, through ReasonOf,
// which condition reason it is; the Summary of a failed run is built with
// FailureSummary.
func Run(ctx context.Context, t *Task, opt Options) (*Result, error) {
	if t.Limits != nil {
		opt.Limits = t.Limits.Format()
	}
	switch t.Kind {
	case KindDatasetBuild:
		if t.Build == nil {
			return nil, errors.New("task: kind DatasetBuild without build spec")
		}
		if t.Phase != "" {
			return RunBuildPhase(ctx, t, opt)
		}
		b, err := RunBuild(ctx, t.Build, opt)
		if err != nil {
			return nil, err
		}
		return &Result{Summary: b.Summary(), Build: b}, nil
	case KindDatasetProfile:
		if t.Profile == nil || t.Source == nil {
			return nil, errors.New("task: kind DatasetProfile needs the profile spec and a resolved source")
		}
		p, err := RunProfile(ctx, t, opt)
		if err != nil {
			return nil, err
		}
		return &Result{Summary: p.Summary(), Profile: p}, nil
	case KindDriftCheck:
		if t.Drift == nil || t.Baseline == nil || t.Current == nil {
			return nil, errors.New("task: kind DriftCheck needs the drift spec and resolved baseline and current")
		}
		d, err := RunDrift(ctx, t, opt)
		if err != nil {
			return nil, err
		}
		return &Result{Summary: d.Summary(), Drift: d}, nil
	}
	return nil, fmt.Errorf("task: unknown kind %q: use DatasetBuild, DatasetProfile or DriftCheck", t.Kind)
}

// DecodeTask parses a Task from JSON and checks that it names a known kind.
func DecodeTask(data []byte) (*Task, error) {
	var t Task
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("decoding task: %w", err)
	}
	switch t.Kind {
	case KindDatasetBuild, KindDatasetProfile, KindDriftCheck:
	default:
		return nil, fmt.Errorf("task: unknown kind %q", t.Kind)
	}
	return &t, nil
}

// WriteTermination writes the summary to path (the termination message
// file). Errors are returned, but a worker should not fail a successful run
// because of them: the result is in object storage anyway.
func WriteTermination(path string, s *Summary) error {
	data, err := s.Encode()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing termination message: %w", err)
	}
	return nil
}
