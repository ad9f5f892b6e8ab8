package controllers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mldata-io/mldata/internal/jobs"
	"github.com/mldata-io/mldata/internal/worker"
)

var ctx = context.Background()

// newNamespace creates a namespace for one test.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "t-"}}
	if err := k8s.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// eventually polls f until it returns nil or the timeout passes.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	// Generous: the machine may be busy; passing tests do not wait.
	deadline := time.Now().Add(60 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: %v", what, err)
}

// consistently checks that f stays nil for a while.
func consistently(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func listJobs(t *testing.T, ns string) []batchv1.Job {
	t.Helper()
	var l batchv1.JobList
	if err := k8s.List(ctx, &l, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// waitJobs waits until ns has n Jobs and returns them, newest first.
func waitJobs(t *testing.T, ns string, n int) []batchv1.Job {
	t.Helper()
	var got []batchv1.Job
	eventually(t, fmt.Sprintf("%d Jobs in %s", n, ns), func() error {
		got = listJobs(t, ns)
		if len(got) != n {
			names := []string{}
			for _, j := range got {
				names = append(names, j.Name)
			}
			return fmt.Errorf("have %d: %v", len(got), names)
		}
		return nil
	})
	return got
}

func jobNamed(t *testing.T, ns, name string) *batchv1.Job {
	t.Helper()
	var j batchv1.Job
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &j); err != nil {
		t.Fatal(err)
	}
	return &j
}

// taskOf decodes the task a Job hands its worker.
func taskOf(t *testing.T, j *batchv1.Job) *worker.Task {
	t.Helper()
	for _, e := range j.Spec.Template.Spec.Containers[0].Env {
		if e.Name == worker.TaskEnv {
			task, err := worker.DecodeTask([]byte(e.Value))
			if err != nil {
				t.Fatal(err)
			}
			return task
		}
	}
	t.Fatalf("Job %s has no %s", j.Name, worker.TaskEnv)
	return nil
}

// runWorker plays the kubelet: it runs the Job's task with the real worker
// code in this process and returns the termination message.
func runWorker(t *testing.T, j *batchv1.Job) string {
	t.Helper()
	task := taskOf(t, j)
	res, err := worker.Run(ctx, task, worker.Options{ScratchDir: t.TempDir()})
	var s *worker.Summary
	if err != nil {
		s = worker.FailureSummary(task.Kind, err)
	} else {
		s = res.Summary
	}
	data, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// finishJob plays the kubelet and the Job controller: a pod of the Job
// whose worker container terminated with msg, then the Job's terminal
// status.
func finishJob(t *testing.T, j *batchv1.Job, succeeded bool, msg string, start, end time.Time) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: j.Name + "-pod", Namespace: j.Namespace, Labels: j.Spec.Template.Labels,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(j, batchv1.SchemeGroupVersion.WithKind("Job"))},
		},
		Spec: *j.Spec.Template.Spec.DeepCopy(),
	}
	if err := k8s.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	exit := int32(0)
	phase := corev1.PodSucceeded
	if !succeeded {
		exit, phase = 1, corev1.PodFailed
	}
	pod.Status = corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{
		Name: jobs.ContainerName, Image: j.Spec.Template.Spec.Containers[0].Image,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: exit, Message: msg, StartedAt: metav1.NewTime(start), FinishedAt: metav1.NewTime(end)}},
	}}}
	if err := k8s.Status().Update(ctx, pod); err != nil {
		t.Fatal(err)
	}
	st := metav1.NewTime(start)
	now := metav1.NewTime(end)
	if succeeded {
		j.Status = batchv1.JobStatus{StartTime: &st, CompletionTime: &now, Succeeded: 1, Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now},
		}}
	} else {
		j.Status = batchv1.JobStatus{StartTime: &st, Failed: 1, Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit", LastTransitionTime: now},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit", LastTransitionTime: now},
		}}
	}
	if err := k8s.Status().Update(ctx, j); err != nil {
		t.Fatalf("Job status: %v", err)
	}
}

// condition returns "Status/Reason" of a condition type.
func condition(conds []metav1.Condition, typ string) string {
	c := apimeta.FindStatusCondition(conds, typ)
	if c == nil {
		return "none"
	}
	return string(c.Status) + "/" + c.Reason
}

// copySample copies testdata/sample's CSV files into a new folder and
// returns it as a file:// URI with the folder path.
func copySample(t *testing.T, name string) (uri, dir string) {
	t.Helper()
	dir = t.TempDir()
	src := filepath.Join("..", "testdata", name)
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".csv") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return "file://" + dir, dir
}

// update applies mutate to the latest version of obj and writes it,
// retrying when a controller's status write came in between.
func update[T client.Object](t *testing.T, obj T, mutate func(T)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		mutate(obj)
		return k8s.Update(ctx, obj)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func touch(t *testing.T, obj client.Object, key, value string) {
	t.Helper()
	patch := []byte(fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, key, value))
	if err := k8s.Patch(ctx, obj, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		t.Fatal(err)
	}
}
