package controllers

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/jobs"
	"github.com/mldata-io/mldata/internal/metrics"
	"github.com/mldata-io/mldata/internal/worker"
)

// DatasetProfileReconciler profiles a URI or a DatasetBuild's split, again
// whenever the spec changes, the build publishes a new build id, or the
// mldata.io/requested-at annotation changes.
// With spec.schedule it profiles at the scheduled times instead (and when
// requested-at changes), with the cron semantics of DriftCheck.
type DatasetProfileReconciler struct {
	client.Client
	Recorder events.EventRecorder
	Clock    clock.PassiveClock
	Jobs     jobs.Settings
	// Reach bounds the storage the manager reaches for this resource and
	// the service accounts its Jobs may use; the zero value is the secure
	// default.
	Reach Reach
	// APIReader reads Jobs from the API server when a Job's name is taken;
	// SetupWithManager sets it to the manager's API reader when nil, and
	// nil falls back to Client.
	APIReader client.Reader
	// RetryBase is the wait before the first retry of a transient
	// failure (doubling after each further one); 0 means 30 s.
	RetryBase time.Duration
}

// +kubebuilder:rbac:groups=mldata.io,resources=datasetprofiles,verbs=get;list;watch
// +kubebuilder:rbac:groups=mldata.io,resources=datasetprofiles/status,verbs=get;update;patch

// SetupWithManager registers the reconciler; DatasetBuild changes reach the
// profiles that reference them.
func (r *DatasetProfileReconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.DatasetProfile{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&batchv1.Job{}).
		Watches(&v1alpha1.DatasetBuild{}, handler.EnqueueRequestsFromMapFunc(indexReferrers(mgr.GetClient(), BuildRefIndex, func() client.ObjectList { return &v1alpha1.DatasetProfileList{} })), builder.WithPredicates(buildIDChanged)).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(secretReferrers(mgr.GetClient(), func() client.ObjectList { return &v1alpha1.DatasetProfileList{} }))).
		WithOptions(controllerOptions(concurrency)).
		Complete(r)
}

func (r *DatasetProfileReconciler) now() time.Time { return nowFrom(r.Clock) }

// Reconcile brings one DatasetProfile forward; summarize records the
// outcome, and status is written once, when it changed.
func (r *DatasetProfileReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	var p v1alpha1.DatasetProfile
	if ok, err := fetch(ctx, r.Client, req, &p, func() { metrics.ForgetProfile(req.Namespace, req.Name) }); !ok {
		return ctrl.Result{}, err
	}
	before := p.DeepCopy()
	var evs []event
	defer func() {
		if err := patchStatus(ctx, r.Client, before, &p, before.Status, p.Status); err != nil {
			afterPatch(err, &res, &retErr)
			return
		}
		metrics.SetConditions(worker.KindDatasetProfile, p.Namespace, p.Name, p.Status.Conditions)
		metrics.SetScheduleInterval(worker.KindDatasetProfile, p.Namespace, p.Name, scheduleInterval(p.Spec.Schedule, p.Spec.TimeZone, nil, r.now()))
		emit(r.Recorder, &p, evs)
	}()
	res, err := r.reconcile(ctx, &p, &evs)
	return summarize(&p.Status.Conditions, &p.Status.ObservedGeneration, p.Generation, res, err)
}

// profileRun is what a profile Job needs besides the resource.
type profileRun struct {
	src     *worker.Input
	secrets []string
	key     string
}

// reconcile runs the steps of one reconcile: the running Job, its result,
// suspend, the source, Secrets, and the next run (on inputs changes, or
// on the schedule).
func (r *DatasetProfileReconciler) reconcile(ctx context.Context, p *v1alpha1.DatasetProfile, evs *[]event) (ctrl.Result, error) {
	owned, err := ownedJobs(ctx, r.Client, worker.KindDatasetProfile, p)
	if err != nil {
		return ctrl.Result{}, err
	}
	for _, j := range activeJobs(owned) {
		if !outdated(&j, p.Generation) || p.Spec.Suspend {
			p.Status.JobName = j.Name
			return ctrl.Result{}, running(p.Spec.Suspend, j.Name, "profiling")
		}
		if err := deleteJob(ctx, r.Client, &j); err != nil {
			return ctrl.Result{}, err
		}
		*evs = append(*evs, event{reason: EventJobReplaced, action: "Profile", msg: fmt.Sprintf("stopped Job %s of generation %d: the spec changed", j.Name, jobGeneration(&j))})
	}
	if j := findJob(owned, p.Status.JobName); j != nil && unrecorded(p.Status.Conditions, p.Status.JobName, j) {
		*evs = append(*evs, r.record(ctx, p, j))
	}
	if p.Spec.Suspend {
		return ctrl.Result{}, suspended(p.Status.Conditions)
	}
	if err := r.Reach.permit(p.Spec.Limits, worker.ProfileURIs(&p.Spec), p.Spec.ServiceAccountName); err != nil {
		return ctrl.Result{}, err
	}
	run, err := r.inputs(ctx, p)
	if err != nil {
		return ctrl.Result{}, err
	}
	now := r.now()
	if p.Spec.Schedule != "" {
		return r.scheduled(ctx, p, owned, run, now, evs)
	}
	failed, done, err := attemptGate(p.Status.Retry, run.key, p.Spec.MaxAttemptsOf(), apimeta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady), now)
	if done || err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.start(ctx, p, run, failed, time.Time{}, evs)
}

// scheduled decides the run of a scheduled profile, as for a DriftCheck
// with concurrencyPolicy Forbid: a run due while one is active waits for
// it (the active Job ended before this point); a new requested-at runs
// now, besides the schedule; a transient failure is retried before the
// next scheduled time.
func (r *DatasetProfileReconciler) scheduled(ctx context.Context, p *v1alpha1.DatasetProfile, owned []batchv1.Job, run profileRun, now time.Time, evs *[]event) (ctrl.Result, error) {
	plan, err := nextRun(scheduleSpec{Schedule: p.Spec.Schedule, TimeZone: p.Spec.TimeZone, Created: p.CreationTimestamp.Time}, p.Status.LastScheduleTime, owned, now)
	if err != nil {
		return ctrl.Result{}, stalling(v1alpha1.ReasonInvalidSpec, "%s", err.Error())
	}
	p.Status.LastScheduleTime = plan.LastScheduleTime
	next := ctrl.Result{RequeueAfter: plan.Next.Sub(now)}
	request := p.Annotations[v1alpha1.AnnotationRequestedAt]
	switch {
	case request != "" && request != p.Status.LastHandledRequest:
		run.key = requestedRunPrefix + jobs.ShortID(request) + "." + run.key
		return next, r.start(ctx, p, run, 0, now, evs)
	case plan.Exists:
		p.Status.LastScheduleTime = &metav1.Time{Time: plan.Due}
		return next, nil
	case !plan.Due.IsZero():
		p.Status.LastScheduleTime = &metav1.Time{Time: plan.Due}
		run.key = strconv.FormatInt(plan.Due.Unix(), 10) + "." + run.key
		return next, r.start(ctx, p, run, 0, plan.Due, evs)
	case p.Status.Retry == nil:
		return next, &idleError{reason: v1alpha1.ReasonScheduled, msg: "no run yet; the first is at " + plan.Next.Format(time.RFC3339)}
	}
	// Between scheduled times: the last run's retries.
	failed, done, err := attemptGate(p.Status.Retry, p.Status.Retry.Inputs, p.Spec.MaxAttemptsOf(), apimeta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady), now)
	if done || err != nil {
		return next, err
	}
	run.key = p.Status.Retry.Inputs
	return next, r.start(ctx, p, run, failed, scheduledOf(run.key), evs)
}

// scheduledOf is the scheduled time a run key starts with, zero when the
// run is not a scheduled one.
func scheduledOf(key string) time.Time {
	base, _, _ := strings.Cut(key, ".")
	if u, err := strconv.ParseInt(base, 10, 64); err == nil {
		return time.Unix(u, 0).UTC()
	}
	return time.Time{}
}

// inputs resolves the source and the Secrets of a run; a reference that
// does not exist stalls, one without a result yet waits for it.
func (r *DatasetProfileReconciler) inputs(ctx context.Context, p *v1alpha1.DatasetProfile) (profileRun, error) {
	resolver := &apiResolver{c: r.Client, ns: p.Namespace}
	src, err := worker.ResolveProfileSource(p.Spec.Source, resolver)
	if err != nil {
		return profileRun{}, referenceOutcome(err)
	}
	secrets := []string{secretName(p.Spec.Source.SecretRef), secretName(p.Spec.Output.SecretRef)}
	if err := requireSecrets(ctx, r.Client, p.Namespace, secrets); err != nil {
		return profileRun{}, err
	}
	key := jobs.ShortID(strconv.FormatInt(p.Generation, 10), mustJSON(src), fmt.Sprint(resolver.revisions), p.Annotations[v1alpha1.AnnotationRequestedAt])
	return profileRun{src: src, secrets: secrets, key: key}, nil
}

// start creates the Job of the attempt after failed attempts at run.key;
// scheduled, when set, is the scheduled time it runs for.
func (r *DatasetProfileReconciler) start(ctx context.Context, p *v1alpha1.DatasetProfile, run profileRun, failed int32, scheduled time.Time, evs *[]event) error {
	base, _, _ := strings.Cut(run.key, ".")
	runID := attemptRunID(base, failed)
	lim, err := r.Reach.taskLimits(p.Spec.Limits)
	if err != nil {
		return err
	}
	jr := jobs.Run{
		Owner: p, GVK: v1alpha1.GroupVersion.WithKind(worker.KindDatasetProfile), ID: runID,
		Task:        &worker.Task{Kind: worker.KindDatasetProfile, Name: p.Name, RunID: runID, Profile: &p.Spec, Source: run.src, Limits: lim},
		SecretNames: run.secrets, Resources: p.Spec.Resources, ServiceAccountName: p.Spec.ServiceAccountName,
		ActiveDeadlineSeconds: ptr.To(p.Spec.ActiveDeadlineOf()),
	}
	if !scheduled.IsZero() {
		jr.ScheduledTime = &scheduled
	}
	job, err := jobs.Build(r.Jobs, jr)
	if err != nil {
		return err
	}
	runAnnotations(job, run.key, p.Generation)
	created, err := startJob(ctx, r.Client, r.APIReader, p, job)
	if err != nil {
		return err
	}
	p.Status.JobName, p.Status.LastHandledRequest = job.Name, p.Annotations[v1alpha1.AnnotationRequestedAt]
	startAttempt(&p.Status.Retry, run.key)
	if created {
		*evs = append(*evs, event{reason: EventJobCreated, action: "Profile", msg: fmt.Sprintf("created Job %s (attempt %d)", job.Name, failed+1)})
	}
	return running(false, job.Name, "profiling")
}

// record writes a finished profile Job's result into status. The summary
// carries the column summaries in compact form (worker.ColumnList), so
// status needs nothing from the bucket.
func (r *DatasetProfileReconciler) record(ctx context.Context, p *v1alpha1.DatasetProfile, j *batchv1.Job) event {
	s := jobSummary(ctx, r.Client, r.APIReader, worker.KindDatasetProfile, j)
	worker.ApplyProfile(&p.Status, p.Generation, s, r.now())
	recordAttempt(&p.Status.Retry, j.Annotations[AnnotationInputs], s, p.Spec.MaxAttemptsOf(), r.RetryBase, jobEnd(j, r.now()))
	ns, name := p.Namespace, p.Name
	count := func() { metrics.RecordProfileRun(ns, name, s) }
	if s.OK {
		return event{reason: v1alpha1.ReasonSucceeded, action: "Profile", msg: s.Message, count: count}
	}
	return event{warning: true, reason: s.Reason, action: "Profile", msg: s.Message, count: count}
}
