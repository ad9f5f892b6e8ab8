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
//
// Sources are listed by the controller itself to tell whether anything
// changed, only with the credentials of the source's Secret and within the
// bounds of Reach (URI policy, deadline, limits); without a Secret the Job
// detects changes under its own service account.
// Secrets are watched as metadata only and their data is read from the API
// server when listing, so the manager never holds Secrets' contents in its
// cache; a resource waiting for a Secret is reconciled when it appears.
// Metrics (package metrics) are recorded as Job results are.
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
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
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
	// EventJobReplaced: a Job of an older spec was stopped for the new one.
	EventJobReplaced = "JobReplaced"
	// EventBuildWarning: a build was published with warnings (the
	// pointer not updated, pruning failed); status.warnings lists them.
	EventBuildWarning = "BuildWarning"
)

// SecretIndex is the field index of DatasetBuilds, DatasetProfiles and
// DriftChecks by the names of the Secrets their spec references, so that a
// Secret's creation reaches the resources that wait for it.
const SecretIndex = ".spec.secretRefs"

// SetupIndexes registers the Job owner index and the Secret reference
// indexes with the manager's cache.
func SetupIndexes(ctx context.Context, mgr manager.Manager) error {
	fi := mgr.GetFieldIndexer()
	if err := fi.IndexField(ctx, &batchv1.Job{}, OwnerIndex, jobOwnerKey); err != nil {
		return err
	}
	if err := setupRefIndexes(ctx, mgr); err != nil {
		return err
	}
	if err := fi.IndexField(ctx, &v1alpha1.DatasetBuild{}, SecretIndex, func(o client.Object) []string {
		b := o.(*v1alpha1.DatasetBuild)
		return secretNames(b.Spec.Source.SecretRef, b.Spec.Output.SecretRef)
	}); err != nil {
		return err
	}
	if err := fi.IndexField(ctx, &v1alpha1.DriftCheck{}, SecretIndex, func(o client.Object) []string {
		d := o.(*v1alpha1.DriftCheck)
		return secretNames(d.Spec.Baseline.SecretRef, d.Spec.Current.SecretRef, d.Spec.Output.SecretRef)
	}); err != nil {
		return err
	}
	return fi.IndexField(ctx, &v1alpha1.DatasetProfile{}, SecretIndex, func(o client.Object) []string {
		p := o.(*v1alpha1.DatasetProfile)
		return secretNames(p.Spec.Source.SecretRef, p.Spec.Output.SecretRef)
	})
}

// secretNames are the distinct names of refs, without nil ones.
func secretNames(refs ...*v1alpha1.SecretRef) []string {
	var out []string
	for _, r := range refs {
		if n := secretName(r); n != "" && !containsString(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// secretReferrers maps a Secret event to the resources of its namespace
// that reference the Secret, found through SecretIndex in list.
func secretReferrers(c client.Reader, list func() client.ObjectList) handler.MapFunc {
	return indexReferrers(c, SecretIndex, list)
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
// Job's condition. Pods are read from c (the cache) and, when it shows no
// termination message, from direct (the API server): the cache of Pods may
// lag behind the one of Jobs, and a Job seen finished before its pod would
// otherwise be recorded as one without a result.
func jobSummary(ctx context.Context, c, direct client.Reader, kind string, j *batchv1.Job) *worker.Summary {
	_, ok := jobs.Finished(j)
	msg, pods := terminationMessage(ctx, c, j)
	if msg == "" && direct != nil {
		msg, pods = terminationMessage(ctx, direct, j)
	}
	if msg != "" {
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
	if ok {
		return &worker.Summary{Kind: kind, Reason: v1alpha1.ReasonJobFailed, Message: fmt.Sprintf("Job %s completed without a result summary", j.Name)}
	}
	return &worker.Summary{Kind: kind, Reason: v1alpha1.ReasonJobFailed, Message: jobFailure(j, pods)}
}

// terminationMessage is the worker's termination message among the pods
// of Job j that c lists, and how many pods it lists.
func terminationMessage(ctx context.Context, c client.Reader, j *batchv1.Job) (string, int) {
	var pods corev1.PodList
	sel := client.MatchingLabels{v1alpha1.LabelUID: j.Labels[v1alpha1.LabelUID], v1alpha1.LabelRunID: j.Labels[v1alpha1.LabelRunID]}
	if err := c.List(ctx, &pods, client.InNamespace(j.Namespace), sel); err != nil {
		return "", 0
	}
	return jobs.TerminationMessage(pods.Items), len(pods.Items)
}

// jobFailure says why Job j failed without a result summary, from its
// Failed condition. A Job that never ran a pod (pods: how many exist) and
// hit its deadline is most often one whose pods could not be created: the
// message names its service account and where to look.
func jobFailure(j *batchv1.Job, pods int) string {
	msg := jobs.FailureMessage(j)
	if msg == "" {
		msg = "the Job failed"
	}
	msg = fmt.Sprintf("Job %s: %s", j.Name, msg)
	deadline := false
	for _, c := range j.Status.Conditions {
		deadline = deadline || c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue && c.Reason == batchv1.JobReasonDeadlineExceeded
	}
	if !deadline || pods > 0 || j.Status.Failed > 0 || j.Status.Succeeded > 0 {
		return msg
	}
	if d := j.Spec.ActiveDeadlineSeconds; d != nil {
		msg += fmt.Sprintf(" (activeDeadlineSeconds %d)", *d)
	}
	sa := j.Spec.Template.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	return msg + fmt.Sprintf("; no pod of it ever started: check that ServiceAccount %s exists in namespace %s and that its pods are admitted (kubectl -n %s describe job %s)", sa, j.Namespace, j.Namespace, j.Name)
}

// secretsExist checks the referenced Secrets, returning the first missing.
// It reads metadata only: through the manager's client that is the
// metadata cache the Secret watches fill, so the manager never caches
// Secrets' contents.
func secretsExist(ctx context.Context, c client.Reader, ns string, names []string) (missing string, err error) {
	for _, n := range names {
		if n == "" {
			continue
		}
		s := &metav1.PartialObjectMetadata{}
		s.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: n}, s); err != nil {
			if apierrors.IsNotFound(err) {
				return n, nil
			}
			return "", fmt.Errorf("reading Secret %s: %w", n, err)
		}
	}
	return "", nil
}

// secretNotFoundError says that a referenced Secret does not exist.
type secretNotFoundError struct{ name, namespace string }

func (e *secretNotFoundError) Error() string {
	return fmt.Sprintf("Secret %s does not exist in namespace %s", e.name, e.namespace)
}

// secretCredentials reads a Secret's data as credentials for listing. c
// should read from the API server (the manager's API reader), not from a
// cache, so that Secrets' contents are held only while listing. The values
// must never reach logs, events or status.
func secretCredentials(ctx context.Context, c client.Reader, ns, name string) (map[string]string, error) {
	var s corev1.Secret
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &secretNotFoundError{name: name, namespace: ns}
		}
		return nil, fmt.Errorf("reading Secret %s: %w", name, err)
	}
	creds := make(map[string]string, len(s.Data)+len(s.StringData))
	for k, v := range s.Data {
		creds[k] = string(v)
	}
	return creds, nil
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
	// count, when set, updates the metrics of what the event reports; like
	// the event, it runs only after the status that records it is written.
	count func()
}

// emit sends events about obj.
func emit(rec events.EventRecorder, obj client.Object, evs []event) {
	for _, e := range evs {
		if e.count != nil {
			e.count()
		}
		if rec == nil {
			continue
		}
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
	// The resourceVersion in the patch makes a reconcile that read a stale
	// copy fail instead of recording a finished Job a second time (its
	// events and metrics would repeat).
	if err := c.Status().Patch(ctx, obj, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		if apierrors.IsConflict(err) {
			return errStale
		}
		return fmt.Errorf("writing status: %w", err)
	}
	return nil
}

// errStale is the answer to a reconcile that worked from an outdated copy
// of its resource, from patchStatus (the write conflicted) or from startJob
// (checked before creating a Job): nothing was written, and the reconcile
// runs again.
var errStale = errors.New("status changed since it was read")

// staleRetry is how soon a reconcile that read a stale copy runs again.
const staleRetry = 200 * time.Millisecond

// afterPatch turns patchStatus's error into the reconcile's result: a stale
// read is retried shortly, quietly; other errors are returned.
func afterPatch(err error, res *ctrl.Result, retErr *error) {
	if errors.Is(err, errStale) {
		*res, *retErr = ctrl.Result{RequeueAfter: staleRetry}, nil
		return
	}
	*retErr = err
}

// setCondition sets one condition with observedGeneration gen.
func setCondition(conds *[]metav1.Condition, gen int64, typ string, status metav1.ConditionStatus, reason, msg string) {
	apimeta.SetStatusCondition(conds, metav1.Condition{Type: typ, Status: status, Reason: reason, Message: worker.Truncate(msg, 32768), ObservedGeneration: gen})
}

// SourceLister lists a source location, for change detection without a Job.
type SourceLister interface {
	// List lists uri. creds, when not nil, are the data of the source's
	// Secret and the only credentials to use; nil means no secretRef, and
	// a remote store is then not listed (errNotListable): the manager
	// never uses its own identity (see Reach).
	List(ctx context.Context, uri string, include []string, creds map[string]string) ([]storage.Object, error)
}

// errNotListable says that the controller cannot list a source itself: its
// Secret holds no credentials the controller can use for the store (the
// Job's pod may still have some, e.g. its service account's).
var errNotListable = errors.New("source not listable by the controller")

// listSource lists a source with the credentials of its Secret, if any.
// errNotListable means the Secret has no credentials for the store.
func listSource(ctx context.Context, l SourceLister, secrets client.Reader, ns, uri string, include []string, secret string) ([]storage.Object, error) {
	var creds map[string]string
	if secret != "" {
		var err error
		if creds, err = secretCredentials(ctx, secrets, ns, secret); err != nil {
			return nil, err
		}
	}
	objs, err := l.List(ctx, uri, include, creds)
	switch {
	case err == nil:
		return objs, nil
	case errors.Is(err, storage.ErrNoCredentials):
		return nil, errNotListable
	case secret != "":
		return nil, &listingError{err: fmt.Errorf("with the credentials of Secret %s: %w", secret, err)}
	}
	return nil, &listingError{err: err}
}

// listingError is an error of the store (or of the way to it) while
// listing, as opposed to one of the API server while reading the Secret:
// failed listings count against the retry budget (see listingFailed),
// API errors are retried with the controller's backoff.
type listingError struct{ err error }

func (e *listingError) Error() string { return e.err.Error() }
func (e *listingError) Unwrap() error { return e.err }

// findJob returns the Job named name among owned, or nil.
func findJob(owned []batchv1.Job, name string) *batchv1.Job {
	for i := range owned {
		if owned[i].Name == name {
			return &owned[i]
		}
	}
	return nil
}

// jobDuration is a finished Job's run time, 0 when unknown.
// A failed Job has no completionTime: its end is when it was marked
// Failed.
func jobDuration(j *batchv1.Job) time.Duration {
	if j.Status.StartTime == nil {
		return 0
	}
	end := j.Status.CompletionTime
	if end == nil {
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
				end = &c.LastTransitionTime
			}
		}
	}
	if end == nil || end.Before(j.Status.StartTime) {
		return 0
	}
	return end.Sub(j.Status.StartTime.Time)
}

// nowFrom reads the reconciler's clock in UTC; nil means the wall clock.
func nowFrom(c clock.PassiveClock) time.Time {
	if c == nil {
		return time.Now().UTC()
	}
	return c.Now().UTC()
}
