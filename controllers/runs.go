package controllers

import (
	"context"
	"fmt"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/jobs"
)

// Run helpers shared by the three reconcilers: fetching the resource,
// finding its running Job, starting a Job and adopting only its own.

// AnnotationGeneration is the resource generation a Job was created for,
// so that a Job of an outdated spec can be told from the current one.
const AnnotationGeneration = "mldata.io/generation"

// fetch reads the resource of req into obj. ok is false when there is
// nothing to reconcile: it is gone (forget then drops its metrics) or
// being deleted (its Jobs go with it through their owner references).
func fetch(ctx context.Context, c client.Reader, req ctrl.Request, obj client.Object, forget func()) (ok bool, err error) {
	if err := c.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			forget()
		}
		return false, client.IgnoreNotFound(err)
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		forget()
		return false, nil
	}
	return true, nil
}

// activeJobs are the unfinished Jobs among owned, in owned's order,
// without those being deleted.
func activeJobs(owned []batchv1.Job) []batchv1.Job {
	var out []batchv1.Job
	for _, j := range owned {
		if done, _ := jobs.Finished(&j); !done && j.DeletionTimestamp.IsZero() {
			out = append(out, j)
		}
	}
	return out
}

// jobGeneration is the generation a Job was created for; 0 when unknown.
func jobGeneration(j *batchv1.Job) int64 {
	g, _ := strconv.ParseInt(j.Annotations[AnnotationGeneration], 10, 64)
	return g
}

// outdated reports whether j runs an older spec than generation gen.
func outdated(j *batchv1.Job, gen int64) bool {
	g := jobGeneration(j)
	return g != 0 && g < gen
}

// deleteJob stops a Job and its pods.
func deleteJob(ctx context.Context, c client.Client, j *batchv1.Job) error {
	if err := c.Delete(ctx, j, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting Job %s: %w", j.Name, err)
	}
	return nil
}

// runAnnotations marks job with the inputs digest and generation it runs.
func runAnnotations(job *batchv1.Job, inputs string, gen int64) {
	if job.Annotations == nil {
		job.Annotations = map[string]string{}
	}
	job.Annotations[AnnotationInputs] = inputs
	job.Annotations[AnnotationGeneration] = strconv.FormatInt(gen, 10)
}

// startJob creates job for owner. When a Job of that name exists, it is
// adopted only if owner controls it (a restarted controller, a stale
// cache); a Job of another owner is a stalling error, never taken as ours.
// reader should read from the API server: the cache may not have the Job
// yet, or not hold Jobs without the operator's labels at all.
//
// A reconcile that worked from a copy of owner older than the API server's
// (the cache has not seen this controller's last status write yet) starts
// no Job: its status write would fail on the resourceVersion, and the
// reconcile after it would find the Job running and never record what this
// one decided (the result of the Job before, status.shards, the attempt).
// It gets errStale, and the reconcile runs again from a fresh copy.
func startJob(ctx context.Context, c client.Client, reader client.Reader, owner client.Object, job *batchv1.Job) (created bool, err error) {
	if reader == nil {
		reader = c
	}
	live := owner.DeepCopyObject().(client.Object)
	if err := reader.Get(ctx, client.ObjectKeyFromObject(owner), live); err != nil {
		if apierrors.IsNotFound(err) {
			return false, errStale
		}
		return false, fmt.Errorf("reading %s before creating Job %s: %w", owner.GetName(), job.Name, err)
	}
	if live.GetResourceVersion() != owner.GetResourceVersion() {
		return false, errStale
	}
	err = c.Create(ctx, job)
	if err == nil {
		return true, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return false, fmt.Errorf("creating Job %s: %w", job.Name, err)
	}
	var existing batchv1.Job
	if err := reader.Get(ctx, client.ObjectKeyFromObject(job), &existing); err != nil {
		if apierrors.IsNotFound(err) {
			return false, fmt.Errorf("the Job %s exists but cannot be read: %w", job.Name, err)
		}
		return false, fmt.Errorf("reading Job %s: %w", job.Name, err)
	}
	if ref := metav1.GetControllerOf(&existing); ref == nil || ref.UID != owner.GetUID() {
		return false, stalling(v1alpha1.ReasonJobNameTaken, "Job %s exists and is not controlled by this resource: delete or rename it", job.Name)
	}
	return false, nil
}

// jobEnd is when a finished Job ended: its completion time, or when it was
// marked Failed; now when neither is known.
func jobEnd(j *batchv1.Job, now time.Time) time.Time {
	if j.Status.CompletionTime != nil {
		return j.Status.CompletionTime.Time
	}
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime.Time
		}
	}
	return now
}

// unrecorded reports whether the finished Job j has not been recorded in
// status yet: status names it (jobName) while Reconciling says its run is
// in progress, until its result is in.
func unrecorded(conds []metav1.Condition, jobName string, j *batchv1.Job) bool {
	c := apimeta.FindStatusCondition(conds, v1alpha1.ConditionReconciling)
	return jobName == j.Name && c != nil && c.Status == metav1.ConditionTrue &&
		(c.Reason == v1alpha1.ReasonProgressing || c.Reason == v1alpha1.ReasonSuspended)
}

// requireSecrets is a stalling error naming the first referenced Secret
// that does not exist; the Secret watch wakes the resource when it does.
func requireSecrets(ctx context.Context, c client.Reader, ns string, names []string) error {
	missing, err := secretsExist(ctx, c, ns, names)
	if err != nil {
		return err
	}
	if missing != "" {
		return stalling(v1alpha1.ReasonSecretNotFound, "Secret %s does not exist in namespace %s", missing, ns)
	}
	return nil
}

// running is the outcome while Job name runs: waiting, and saying when
// the resource is suspended that no new Job follows.
func running(suspend bool, name, verb string) error {
	if suspend {
		return waiting(v1alpha1.ReasonSuspended, 0, "spec.suspend is true: Job %s finishes %s, then no new Job starts", name, verb)
	}
	return waiting(v1alpha1.ReasonProgressing, 0, "Job %s is %s", name, verb)
}
