package controllers

import (
	"context"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/jobs"
	"github.com/mldata-io/mldata/internal/worker"
	"github.com/mldata-io/mldata/pkg/manifest"
)

// A sharded build (parallelism.shards > 1) is three Jobs in a row, each
// started when the one before succeeded: the plan, the Indexed Job of the
// shards, the commit. The controller only reads Job status and the plan's
// summary; the phases exchange everything else through the output's
// staging area. The Jobs carry the build id and their phase.
const (
	AnnotationPhase   = "mldata.io/build-phase"
	AnnotationBuildID = "mldata.io/build-id"
)

// phaseRun is the run id of a phase's Job: the attempt's run id and the
// phase, so that each phase has its own Job name and pod labels.
func phaseRun(runID, phase string) string { return runID + "-" + phase }

// shardedJob returns the Job of one phase of attempt runID of build buildID.
func (r *DatasetBuildReconciler) shardedJob(b *v1alpha1.DatasetBuild, runID, buildID, phase string, secrets []string) (*batchv1.Job, error) {
	n := int32(worker.Shards(&b.Spec))
	id := phaseRun(runID, phase)
	lim, err := r.Reach.taskLimits(b.Spec.Limits)
	if err != nil {
		return nil, err
	}
	run := jobs.Run{
		Owner: b, GVK: v1alpha1.GroupVersion.WithKind(worker.KindDatasetBuild), ID: id,
		Task: &worker.Task{Kind: worker.KindDatasetBuild, Name: b.Name, RunID: id, Build: &b.Spec,
			Phase: phase, BuildID: buildID, Shards: int(n), Limits: lim},
		SecretNames: secrets, Resources: b.Spec.Resources, ServiceAccountName: b.Spec.ServiceAccountName,
		ActiveDeadlineSeconds: ptr.To(b.Spec.ActiveDeadlineOf()),
	}
	if phase == worker.PhasePlan {
		run.Task.RangeBytes = r.ShardRangeBytes
	}
	var job *batchv1.Job
	if phase == worker.PhaseShard {
		var maxPar int32
		if p := b.Spec.Parallelism; p != nil && p.MaxParallel != nil {
			maxPar = *p.MaxParallel
		}
		job, err = jobs.Shards(r.Jobs, run, n, maxPar)
	} else {
		job, err = jobs.Build(r.Jobs, run)
	}
	if err != nil {
		return nil, err
	}
	if job.Annotations == nil {
		job.Annotations = map[string]string{}
	}
	job.Annotations[AnnotationPhase] = phase
	job.Annotations[AnnotationBuildID] = buildID
	return job, nil
}

// startSharded starts the plan Job of a sharded build's attempt.
func (r *DatasetBuildReconciler) startSharded(ctx context.Context, b *v1alpha1.DatasetBuild, runID, key string, secrets []string, now metav1.Time) (*batchv1.Job, bool, error) {
	buildID := manifest.NewBuildID(now.Time, runID)
	job, err := r.shardedJob(b, runID, buildID, worker.PhasePlan, secrets)
	if err != nil {
		return nil, false, err
	}
	runAnnotations(job, key, b.Generation)
	created, err := startJob(ctx, r.Client, r.APIReader, b, job)
	if err != nil {
		return nil, false, err
	}
	n := int32(worker.Shards(&b.Spec))
	b.Status.Shards = &v1alpha1.ShardStatus{BuildID: buildID, Phase: v1alpha1.ShardPhasePlan, Shards: n, Progress: fmt.Sprintf("0/%d", n)}
	return job, created, nil
}

// advance moves a sharded build on from j, the build's finished Job: when
// j is a plan or shards Job that succeeded (and a plan that found work), it
// starts the next phase's Job. handled is true when j's result is not to be
// recorded as a build's: the next phase started, or j ran an older spec (a
// new attempt follows). A failed phase, an up-to-date plan and the commit
// are recorded as a one-pod build's Job is. owned are the build's Jobs.
func (r *DatasetBuildReconciler) advance(ctx context.Context, b *v1alpha1.DatasetBuild, j *batchv1.Job, owned []batchv1.Job, evs *[]event) (handled bool, err error) {
	phase := j.Annotations[AnnotationPhase]
	r.shardProgress(b, j, owned)
	if phase != worker.PhasePlan && phase != worker.PhaseShard {
		return false, nil
	}
	if outdated(j, b.Generation) {
		return true, nil
	}
	if done, ok := jobs.Finished(j); !done || !ok {
		return false, nil
	}
	next := worker.PhaseCommit
	if phase == worker.PhasePlan {
		s := jobSummary(ctx, r.Client, r.APIReader, worker.KindDatasetBuild, j)
		if !s.OK || s.UpToDate {
			return false, nil
		}
		next = worker.PhaseShard
	}
	runID := j.Labels[v1alpha1.LabelRunID]
	runID = runID[:len(runID)-len(phase)-1]
	secrets := []string{secretName(b.Spec.Source.SecretRef), secretName(b.Spec.Output.SecretRef)}
	job, err := r.shardedJob(b, runID, j.Annotations[AnnotationBuildID], next, secrets)
	if err != nil {
		return false, err
	}
	runAnnotations(job, j.Annotations[AnnotationInputs], jobGeneration(j))
	created, err := startJob(ctx, r.Client, r.APIReader, b, job)
	if err != nil {
		return false, err
	}
	b.Status.JobName = job.Name
	if b.Status.Shards == nil {
		r.shardProgress(b, job, owned)
	}
	if next == worker.PhaseShard {
		b.Status.Shards.Phase = v1alpha1.ShardPhaseShards
	} else {
		b.Status.Shards.Phase = v1alpha1.ShardPhaseCommit
	}
	if created {
		*evs = append(*evs, event{reason: EventJobCreated, action: "Build", msg: fmt.Sprintf("created Job %s (%s of build %s)", job.Name, next, j.Annotations[AnnotationBuildID])})
	}
	return true, nil
}

// shardProgress copies the progress of j, a phase Job of a sharded build,
// into status.shards. The shard counts come from the build's shards Job
// among owned (j itself in the shards phase): a reconcile that started the
// commit Job may have lost its status write to a conflict, and the one
// that follows sees the commit Job running, not the shards Job finishing.
func (r *DatasetBuildReconciler) shardProgress(b *v1alpha1.DatasetBuild, j *batchv1.Job, owned []batchv1.Job) {
	phase := j.Annotations[AnnotationPhase]
	if phase == "" {
		return
	}
	buildID := j.Annotations[AnnotationBuildID]
	st := b.Status.Shards
	if st == nil || st.BuildID != buildID {
		n := int32(worker.Shards(&b.Spec))
		st = &v1alpha1.ShardStatus{BuildID: buildID, Shards: n, Progress: fmt.Sprintf("0/%d", n)}
		b.Status.Shards = st
	}
	switch phase {
	case worker.PhasePlan:
		st.Phase = v1alpha1.ShardPhasePlan
	case worker.PhaseCommit:
		st.Phase = v1alpha1.ShardPhaseCommit
		if done, _ := jobs.Finished(j); done {
			st.Phase = v1alpha1.ShardPhaseDone
		}
		for i := range owned {
			if s := &owned[i]; s.Annotations[AnnotationPhase] == worker.PhaseShard && s.Annotations[AnnotationBuildID] == buildID {
				shardCounts(st, s)
			}
		}
	case worker.PhaseShard:
		st.Phase = v1alpha1.ShardPhaseShards
		shardCounts(st, j)
	}
}

// shardCounts copies the shards Job j's counts into st.
func shardCounts(st *v1alpha1.ShardStatus, j *batchv1.Job) {
	if c := j.Spec.Completions; c != nil {
		st.Shards = *c
	}
	st.Succeeded, st.Running = j.Status.Succeeded, j.Status.Active
	st.Failed = j.Status.Failed
	st.FailedIndexes = ""
	if f := j.Status.FailedIndexes; f != nil {
		st.FailedIndexes = worker.Truncate(*f, 256)
	}
	st.Progress = fmt.Sprintf("%d/%d", st.Succeeded, st.Shards)
}
