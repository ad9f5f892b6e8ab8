package controllers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/jobs"
	"github.com/mldata-io/mldata/internal/worker"
)

// jobOfPhase waits for the build's Job of a phase.
func jobOfPhase(t *testing.T, ns, phase string) *batchv1.Job {
	t.Helper()
	var found *batchv1.Job
	eventually(t, "a "+phase+" Job", func() error {
		for _, j := range listJobs(t, ns) {
			if j.Annotations[AnnotationPhase] == phase {
				found = &j
				return nil
			}
		}
		return fmt.Errorf("no %s Job", phase)
	})
	return found
}

// runShards plays an Indexed Job's pods: each shard's task runs with the
// real worker code, with its index as JOB_COMPLETION_INDEX would give it.
func runShards(t *testing.T, j *batchv1.Job) {
	t.Helper()
	task := taskOf(t, j)
	for i := 0; i < int(*j.Spec.Completions); i++ {
		task.Shard = i
		if _, err := worker.Run(ctx, task, worker.Options{ScratchDir: t.TempDir()}); err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
	}
}

// setIndexedStatus writes an Indexed Job's status as the Job controller
// would: running, or finished (complete, or failed with failed indexes).
func setIndexedStatus(t *testing.T, j *batchv1.Job, active, succeeded int32, completed, failedIdx string, done bool, start time.Time) {
	t.Helper()
	st := metav1.NewTime(start)
	j.Status = batchv1.JobStatus{StartTime: &st, Active: active, Succeeded: succeeded, CompletedIndexes: completed, Ready: ptr.To(active)}
	if failedIdx != "" {
		j.Status.FailedIndexes, j.Status.Failed = &failedIdx, 3
	} else {
		j.Status.FailedIndexes = ptr.To("")
	}
	if done {
		end := metav1.NewTime(start.Add(time.Minute))
		if failedIdx == "" {
			j.Status.CompletionTime = &end
			j.Status.Conditions = []batchv1.JobCondition{
				{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: end},
				{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: end}}
		} else {
			j.Status.Conditions = []batchv1.JobCondition{
				{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "FailedIndexes", Message: "Job has failed indexes", LastTransitionTime: end},
				{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "FailedIndexes", Message: "Job has failed indexes", LastTransitionTime: end}}
		}
	}
	if err := k8s.Status().Update(ctx, j); err != nil {
		t.Fatalf("Job status: %v", err)
	}
}

// failedPod plays the kubelet for a shard's last failed pod: its worker
// container terminated with msg.
func failedPod(t *testing.T, j *batchv1.Job, msg string, at time.Time) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: j.Name + "-1-pod", Namespace: j.Namespace, Labels: j.Spec.Template.Labels,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(j, batchv1.SchemeGroupVersion.WithKind("Job"))},
		},
		Spec: *j.Spec.Template.Spec.DeepCopy(),
	}
	if err := k8s.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{
		Name: jobs.ContainerName, Image: j.Spec.Template.Spec.Containers[0].Image,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 1, Message: msg, StartedAt: metav1.NewTime(at), FinishedAt: metav1.NewTime(at.Add(time.Second))}},
	}}}
	if err := k8s.Status().Update(ctx, pod); err != nil {
		t.Fatal(err)
	}
}

// TestShardProgressAfterALostWrite: the reconcile that saw the shards Job
// finish started the commit Job, but its status write lost to a conflict,
// so status.shards still holds the counts of the shards Job's interim
// status (all indexes succeeded, the killed pod's failure not yet counted).
// The next reconcile sees the commit Job running and takes the counts from
// the finished shards Job of the same build, not from another build's.
func TestShardProgressAfterALostWrite(t *testing.T) {
	phaseJob := func(phase, buildID string) batchv1.Job {
		return batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: buildID + "-" + phase,
			Annotations: map[string]string{AnnotationPhase: phase, AnnotationBuildID: buildID}}}
	}
	old := phaseJob(worker.PhaseShard, "b1")
	old.Spec.Completions = ptr.To[int32](4)
	old.Status = batchv1.JobStatus{Succeeded: 2, Failed: 5, FailedIndexes: ptr.To("0,3")}
	shards := phaseJob(worker.PhaseShard, "b2")
	shards.Spec.Completions = ptr.To[int32](4)
	shards.Status = batchv1.JobStatus{Succeeded: 4, Failed: 1, FailedIndexes: ptr.To(""), CompletedIndexes: "0-3",
		Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}
	commit := phaseJob(worker.PhaseCommit, "b2")
	b := &v1alpha1.DatasetBuild{Spec: v1alpha1.DatasetBuildSpec{Parallelism: &v1alpha1.ParallelismSpec{Shards: ptr.To[int32](4)}}}
	b.Status.Shards = &v1alpha1.ShardStatus{BuildID: "b2", Phase: v1alpha1.ShardPhaseShards, Shards: 4, Succeeded: 4, Progress: "4/4"}
	owned := []batchv1.Job{commit, shards, old}

	r := &DatasetBuildReconciler{}
	r.shardProgress(b, &commit, owned)
	want := v1alpha1.ShardStatus{BuildID: "b2", Phase: v1alpha1.ShardPhaseCommit, Shards: 4, Succeeded: 4, Failed: 1, Progress: "4/4"}
	if *b.Status.Shards != want {
		t.Errorf("commit running: status.shards %+v, want %+v", *b.Status.Shards, want)
	}
	commit.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
	r.shardProgress(b, &commit, owned)
	want.Phase = v1alpha1.ShardPhaseDone
	if *b.Status.Shards != want {
		t.Errorf("commit done: status.shards %+v, want %+v", *b.Status.Shards, want)
	}
}

// TestShardedDatasetBuild drives a DatasetBuild with parallelism.shards 3
// through its phases: the plan Job, the Indexed Job (its spec, its
// progress in status), the commit Job, and the published build; then a
// failed shard that names its index and file.
func TestShardedDatasetBuild(t *testing.T) {
	needEnv(t)
	startManager(t, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	ns := newNamespace(t)
	src, srcDir := copySample(t, "sample")
	out := "file://" + t.TempDir()
	b := newBuild(ns, "sharded", src, out)
	b.Spec.Parallelism = &v1alpha1.ParallelismSpec{Shards: ptr.To[int32](3), MaxParallel: ptr.To[int32](2), ChunkRows: ptr.To[int32](64), PartRows: ptr.To[int64](128)}
	if err := k8s.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 27, 12, 0, 5, 0, time.UTC)

	// Plan.
	plan := jobOfPhase(t, ns, worker.PhasePlan)
	task := taskOf(t, plan)
	buildID := plan.Annotations[AnnotationBuildID]
	if task.Phase != worker.PhasePlan || task.Shards != 3 || task.BuildID != buildID || buildID == "" || ptr.Deref(plan.Spec.CompletionMode, "") == batchv1.IndexedCompletion {
		t.Fatalf("plan Job: task %+v, build id %q", task, buildID)
	}
	eventually(t, "status in the plan phase", func() error {
		st := getBuild(t, b).Status
		if st.Shards == nil || st.Shards.Phase != v1alpha1.ShardPhasePlan || st.Shards.BuildID != buildID || st.Shards.Progress != "0/3" || st.JobName != plan.Name {
			return fmt.Errorf("status.shards %+v, jobName %s", st.Shards, st.JobName)
		}
		return nil
	})
	finishJob(t, plan, true, runWorker(t, plan), start, start.Add(time.Second))

	// Shards: an Indexed Job built as specified.
	shards := jobOfPhase(t, ns, worker.PhaseShard)
	spec := shards.Spec
	if ptr.Deref(spec.CompletionMode, "") != batchv1.IndexedCompletion || ptr.Deref(spec.Completions, 0) != 3 || ptr.Deref(spec.Parallelism, 0) != 2 ||
		ptr.Deref(spec.BackoffLimitPerIndex, -1) != testSettings.BackoffLimit || spec.PodFailurePolicy == nil || len(spec.PodFailurePolicy.Rules) != 2 {
		t.Fatalf("shards Job spec: %s", mustJSON(spec))
	}
	rules := spec.PodFailurePolicy.Rules
	if rules[0].Action != batchv1.PodFailurePolicyActionIgnore || rules[0].OnPodConditions[0].Type != corev1.DisruptionTarget ||
		rules[1].Action != batchv1.PodFailurePolicyActionFailIndex || rules[1].OnExitCodes.Values[0] != jobs.ExitUsage {
		t.Errorf("podFailurePolicy %s", mustJSON(spec.PodFailurePolicy))
	}
	if tsc := spec.Template.Spec.TopologySpreadConstraints; len(tsc) != 1 || tsc[0].TopologyKey != corev1.LabelHostname ||
		tsc[0].LabelSelector.MatchLabels[v1alpha1.LabelRunID] != shards.Labels[v1alpha1.LabelRunID] {
		t.Errorf("topology spread %s", mustJSON(tsc))
	}
	if st := taskOf(t, shards); st.Phase != worker.PhaseShard || st.BuildID != buildID || st.Shards != 3 {
		t.Errorf("shard task %+v", st)
	}
	// Progress while the shards run.
	setIndexedStatus(t, shards, 2, 1, "0", "", false, start.Add(2*time.Second))
	eventually(t, "shard progress in status", func() error {
		st := getBuild(t, b).Status
		if st.Shards == nil || st.Shards.Phase != v1alpha1.ShardPhaseShards || st.Shards.Progress != "1/3" || st.Shards.Running != 2 || st.Shards.Succeeded != 1 {
			return fmt.Errorf("status.shards %+v", st.Shards)
		}
		return nil
	})
	runShards(t, shards)
	shards = jobNamed(t, ns, shards.Name)
	setIndexedStatus(t, shards, 0, 3, "0-2", "", true, start.Add(2*time.Second))

	// Commit, then the build is recorded as any build.
	commit := jobOfPhase(t, ns, worker.PhaseCommit)
	finishJob(t, commit, true, runWorker(t, commit), start.Add(3*time.Minute), start.Add(3*time.Minute+time.Second))
	eventually(t, "Ready after the commit", func() error {
		st := getBuild(t, b).Status
		if s := condition(st.Conditions, v1alpha1.ConditionReady); s != "True/Succeeded" || st.BuildID != buildID || st.TotalRows != 1000 ||
			st.Shards == nil || st.Shards.Phase != v1alpha1.ShardPhaseDone || st.Shards.Progress != "3/3" {
			return fmt.Errorf("Ready %s, build %s, rows %d, shards %+v", s, st.BuildID, st.TotalRows, st.Shards)
		}
		return nil
	})
	if n := len(listJobs(t, ns)); n != 3 {
		t.Errorf("%d Jobs for one sharded build, want 3", n)
	}

	// A new file, and a shard that exhausts its retries: the build fails
	// naming the index and the worker's message; nothing is published.
	data, err := os.ReadFile(filepath.Join("..", "testdata", "sample-drifted", "customers-2025.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(srcDir, "extra.csv"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	touch(t, b, "example.com/poke", "1")
	var plan2 *batchv1.Job
	eventually(t, "a second plan Job", func() error {
		for _, j := range listJobs(t, ns) {
			if j.Annotations[AnnotationPhase] == worker.PhasePlan && j.Name != plan.Name {
				plan2 = &j
				return nil
			}
		}
		return fmt.Errorf("no second plan")
	})
	finishJob(t, plan2, true, runWorker(t, plan2), start.Add(10*time.Minute), start.Add(10*time.Minute+time.Second))
	var shards2 *batchv1.Job
	eventually(t, "a second shards Job", func() error {
		for _, j := range listJobs(t, ns) {
			if j.Annotations[AnnotationPhase] == worker.PhaseShard && j.Name != shards.Name {
				shards2 = &j
				return nil
			}
		}
		return fmt.Errorf("no second shards Job")
	})
	fail, _ := worker.FailureSummary(worker.KindDatasetBuild, fmt.Errorf("shard 1 of 3: extra.csv changed since the build was planned")).Encode()
	failedPod(t, shards2, string(fail), start.Add(11*time.Minute))
	setIndexedStatus(t, shards2, 0, 2, "0,2", "1", true, start.Add(11*time.Minute))
	eventually(t, "the failed shard recorded", func() error {
		st := getBuild(t, b).Status
		ready := ""
		for _, c := range st.Conditions {
			if c.Type == v1alpha1.ConditionReady {
				ready = c.Message
			}
		}
		if !strings.Contains(ready, "shard(s) 1 failed") || !strings.Contains(ready, "extra.csv changed") || st.BuildID != buildID ||
			st.Shards == nil || st.Shards.FailedIndexes != "1" {
			return fmt.Errorf("Ready message %q, build %s, shards %+v", ready, st.BuildID, st.Shards)
		}
		return nil
	})
	for _, j := range listJobs(t, ns) {
		if j.Annotations[AnnotationPhase] == worker.PhaseCommit && j.Name != commit.Name {
			t.Errorf("a commit Job %s started after a failed shard", j.Name)
		}
	}
}

// TestShardRangeBytesReachesThePlan: the manager's --shard-range-bytes
// travels in the plan Job's task only; the shards and the commit read the
// plan, which records the units it cut.
func TestShardRangeBytesReachesThePlan(t *testing.T) {
	r := &DatasetBuildReconciler{Jobs: testSettings, Reach: testReach, ShardRangeBytes: 8 << 20}
	b := newBuild("ns", "ranged", "file:///src", "file:///out")
	b.UID = "uid-1"
	b.Spec.Parallelism = &v1alpha1.ParallelismSpec{Shards: ptr.To[int32](4)}
	for phase, want := range map[string]int64{worker.PhasePlan: 8 << 20, worker.PhaseShard: 0, worker.PhaseCommit: 0} {
		j, err := r.shardedJob(b, "r1", "b1", phase, []string{"", ""})
		if err != nil {
			t.Fatal(err)
		}
		if got := taskOf(t, j).RangeBytes; got != want {
			t.Errorf("%s task: rangeBytes %d, want %d", phase, got, want)
		}
	}
}
