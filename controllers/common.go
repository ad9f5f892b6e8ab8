// Package controllers reconciles DatasetBuild, DatasetProfile and DriftCheck
// resources into batch/v1 Jobs that run `mldata worker`, and records the
// Jobs' results in the resources' status.
//
// The reconcilers are thin: they read state, decide whether a run is due,
// create its Job (built by package jobs, named deterministically from what
// the run depends on, so that a restarted controller finds the Job instead
// of creating a second one), and, when the Job finishes, turn the worker's
// termination message into status with the same functions `mldata run -f`
// uses (package worker). Status is written once per reconcile, and only
// when it changed; events are emitted after the write.
package controllers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/jobs"
	"github.com/mldata-io/mldata/internal/worker"
	"github.com/mldata-io/mldata/pkg/storage"
)

// OwnerIndex is the field index of Jobs by their controlling resource, as
// "<Kind>/<name>", so that each reconciler lists its own Jobs without a
// label selector that a user could edit.
const OwnerIndex = ".metadata.controller"

// Reasons used by the controllers beside the API's.
const (
	// ReasonSourceUnavailable: the sources could not be listed.
	ReasonSourceUnavailable = "SourceUnavailable"
)

// Event reasons.
const (
	EventJobCreated = "JobCreated"
)

// SetupIndexes registers the Job owner index with the manager's cache.
func SetupIndexes(ctx context.Context, mgr manager.Manager) error {
	return mgr.GetFieldIndexer().IndexField(ctx, &batchv1.Job{}, OwnerIndex, jobOwnerKey)
}

func jobOwnerKey(o client.Object) []string {
	ref := metav1.GetControllerOf(o)
	if ref == nil || ref.APIVersion != v1alpha1.GroupVersion.String() {
		return nil
	}
	return []string{ref.Kind + "/" + ref.Name}
}

// ownedJobs lists the Jobs a resource controls, newest first.
func ownedJobs(ctx context.Context, c client.Reader, kind string, obj client.Object) ([]batchv1.Job, error) {
	var list batchv1.JobList
	if err := c.List(ctx, &list, client.InNamespace(obj.GetNamespace()), client.MatchingFields{OwnerIndex: kind + "/" + obj.GetName()}); err != nil {
		return nil, fmt.Errorf("listing Jobs: %w", err)
	}
	var out []batchv1.Job
	for _, j := range list.Items {
		// A Job of an earlier resource of the same name is not ours.
		if ref := metav1.GetControllerOf(&j); ref != nil && ref.UID == obj.GetUID() {
			out = append(out, j)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreationTimestamp.Equal(&out[j].CreationTimestamp) {
			return out[j].CreationTimestamp.Before(&out[i].CreationTimestamp)
		}
		return out[i].Name > out[j].Name
	})
	return out, nil
}

// jobSummary reads the result of a finished Job: the worker's termination
// message from its pods, or, when there is none, a failure summary from the
// Job's condition.
func jobSummary(ctx context.Context, c client.Reader, kind string, j *batchv1.Job) *worker.Summary {
	_, ok := jobs.Finished(j)
	var pods corev1.PodList
	sel := client.MatchingLabels{v1alpha1.LabelUID: j.Labels[v1alpha1.LabelUID], v1alpha1.LabelRunID: j.Labels[v1alpha1.LabelRunID]}
	if err := c.List(ctx, &pods, client.InNamespace(j.Namespace), sel); err == nil {
		if msg := jobs.TerminationMessage(pods.Items); msg != "" {
			if s, err := worker.DecodeSummary([]byte(msg)); err == nil && s.Kind == kind {
				if !ok {
					s.OK = false
				}
				if !s.OK && s.Reason == "" {
					s.Reason = v1alpha1.ReasonJobFailed
				}
				return s
			}
			// FallbackToLogsOnError: the message is the log's tail.
			if !ok {
				return &worker.Summary{Kind: kind, Reason: v1alpha1.ReasonJobFailed, Message: worker.Truncate(msg, 1024)}
			}
		}
	}
	if ok {
		return &worker.Summary{Kind: kind, Reason: v1alpha1.ReasonJobFailed, Message: fmt.Sprintf("Job %s completed without a result summary", j.Name)}
	}
	msg := jobs.FailureMessage(j)
	if msg == "" {
		msg = "the Job failed"
	}
	return &worker.Summary{Kind: kind, Reason: v1alpha1.ReasonJobFailed, Message: fmt.Sprintf("Job %s: %s", j.Name, msg)}
}

// createJob creates job, or finds it when it already exists (a restarted
// controller, a stale cache): never a second Job for the same run.
func createJob(ctx context.Context, c client.Client, job *batchv1.Job) (created bool, err error) {
	if err := c.Create(ctx, job); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return false, nil
		}
		return false, fmt.Errorf("creating Job %s: %w", job.Name, err)
	}
	return true, nil
}

// secretsExist checks the referenced Secrets, returning the first missing.
func secretsExist(ctx context.Context, c client.Reader, ns string, names []string) (missing string, err error) {
	for _, n := range names {
		if n == "" {
			continue
		}
		var s corev1.Secret
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: n}, &s); err != nil {
			if apierrors.IsNotFound(err) {
				return n, nil
			}
			return "", fmt.Errorf("reading Secret %s: %w", n, err)
		}
	}
	return "", nil
}

func secretName(r *v1alpha1.SecretRef) string {
	if r == nil {
		return ""
	}
	return string(r.Name)
}

// event is an event to emit after the status write.
type event struct {
	warning        bool
	reason, action string
	msg            string
}

// emit sends events about obj.
func emit(rec events.EventRecorder, obj client.Object, evs []event) {
	if rec == nil {
		return
	}
	for _, e := range evs {
		typ := corev1.EventTypeNormal
		if e.warning {
			typ = corev1.EventTypeWarning
		}
		rec.Eventf(obj, nil, typ, e.reason, e.action, "%s", worker.Truncate(e.msg, 1000))
	}
}

// patchStatus writes obj's status when it differs from before's.
func patchStatus(ctx context.Context, c client.Client, before, obj client.Object, oldStatus, newStatus any) error {
	if equality.Semantic.DeepEqual(oldStatus, newStatus) {
		return nil
	}
	if err := c.Status().Patch(ctx, obj, client.MergeFrom(before)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("writing status: %w", err)
	}
	return nil
}

// setCondition sets one condition with observedGeneration gen.
func setCondition(conds *[]metav1.Condition, gen int64, typ string, status metav1.ConditionStatus, reason, msg string) {
	apimeta.SetStatusCondition(conds, metav1.Condition{Type: typ, Status: status, Reason: reason, Message: worker.Truncate(msg, 32768), ObservedGeneration: gen})
}

// stalled marks a resource that cannot progress without a change by the
// user.
func stalled(conds *[]metav1.Condition, gen int64, reason, msg string) {
	setCondition(conds, gen, v1alpha1.ConditionReady, metav1.ConditionFalse, reason, msg)
	setCondition(conds, gen, v1alpha1.ConditionStalled, metav1.ConditionTrue, reason, msg)
	setCondition(conds, gen, v1alpha1.ConditionReconciling, metav1.ConditionFalse, reason, msg)
}

// progressing marks a resource whose Job is running.
func progressing(conds *[]metav1.Condition, gen int64, msg string) {
	setCondition(conds, gen, v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonProgressing, msg)
	setCondition(conds, gen, v1alpha1.ConditionStalled, metav1.ConditionFalse, v1alpha1.ReasonProgressing, "")
	if apimeta.FindStatusCondition(*conds, v1alpha1.ConditionReady) == nil {
		setCondition(conds, gen, v1alpha1.ConditionReady, metav1.ConditionUnknown, v1alpha1.ReasonProgressing, msg)
	}
}

// SourceLister lists a source location, for change detection without a Job.
type SourceLister interface {
	List(ctx context.Context, uri string, include []string) ([]storage.Object, error)
}

// StorageLister lists through pkg/storage with the controller's own
// credentials (its environment and service account).
type StorageLister struct{}

// List lists uri.
func (StorageLister) List(ctx context.Context, uri string, include []string) ([]storage.Object, error) {
	loc, err := storage.Open(ctx, uri)
	if err != nil {
		return nil, err
	}
	defer loc.Close()
	return loc.List(ctx, include)
}

// errNotListable says that the controller cannot list a source itself.
var errNotListable = errors.New("source not listable by the controller")

// findJob returns the Job named name among owned, or nil.
func findJob(owned []batchv1.Job, name string) *batchv1.Job {
	for i := range owned {
		if owned[i].Name == name {
			return &owned[i]
		}
	}
	return nil
}

// nowFrom reads the reconciler's clock in UTC; nil means the wall clock.
func nowFrom(c clock.PassiveClock) time.Time {
	if c == nil {
		return time.Now().UTC()
	}
	return c.Now().UTC()
}
