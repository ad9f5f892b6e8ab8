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

// AnnotationInputs is the digest of the inputs a drift or profile Job read;
// a scheduled run whose inputs equal the last successful run's is skipped.
const AnnotationInputs = "mldata.io/inputs"

// requestedRunPrefix starts the run id of a run that mldata.io/requested-at
// asked for, outside the schedule.
const requestedRunPrefix = "run-"

// Event reasons of DriftChecks.
const (
	EventSkipped = "Skipped"
)

// DriftCheckReconciler runs drift checks once per spec (and per new input
// revision), or on a cron schedule.
type DriftCheckReconciler struct {
	client.Client
	Recorder events.EventRecorder
	Clock    clock.PassiveClock
	Jobs     jobs.Settings
	// Lister lists plain-URI inputs to tell whether they changed; nil
	// uses StorageLister.
	Lister SourceLister
	// Reach bounds the storage the manager reaches for this resource and
	// the service accounts its Jobs may use; the zero value is the secure
	// default.
	Reach Reach
	// APIReader reads the data of input Secrets from the API server, so
	// that Secrets' contents are not cached; SetupWithManager sets it to
	// the manager's API reader when nil, and nil falls back to Client.
	APIReader client.Reader
	// RetryBase is the wait before the first retry of a transient
	// failure (doubling after each further one); 0 means 30 s.
	RetryBase time.Duration
}

// +kubebuilder:rbac:groups=mldata.io,resources=driftchecks,verbs=get;list;watch
// +kubebuilder:rbac:groups=mldata.io,resources=driftchecks/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=mldata.io,resources=datasetbuilds;datasetprofiles,verbs=get;list;watch

// SetupWithManager registers the reconciler; changes of referenced
// DatasetBuilds, DatasetProfiles and Secrets (metadata only) reach the
// DriftChecks that use them.
func (r *DriftCheckReconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	checks := func() client.ObjectList { return &v1alpha1.DriftCheckList{} }
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.DriftCheck{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&batchv1.Job{}).
		Watches(&v1alpha1.DatasetBuild{}, handler.EnqueueRequestsFromMapFunc(indexReferrers(mgr.GetClient(), BuildRefIndex, checks)), builder.WithPredicates(buildIDChanged)).
		Watches(&v1alpha1.DatasetProfile{}, handler.EnqueueRequestsFromMapFunc(indexReferrers(mgr.GetClient(), ProfileRefIndex, checks)), builder.WithPredicates(reportChanged)).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(secretReferrers(mgr.GetClient(), func() client.ObjectList { return &v1alpha1.DriftCheckList{} }))).
		WithOptions(controllerOptions(concurrency)).
		Complete(r)
}

func (r *DriftCheckReconciler) now() time.Time { return nowFrom(r.Clock) }

// Reconcile brings one DriftCheck forward; summarize records the outcome,
// and status is written once, when it changed.
func (r *DriftCheckReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	var d v1alpha1.DriftCheck
	if ok, err := fetch(ctx, r.Client, req, &d, func() { metrics.ForgetDriftCheck(req.Namespace, req.Name) }); !ok {
		return ctrl.Result{}, err
	}
	before := d.DeepCopy()
	var evs []event
	defer func() {
		if err := patchStatus(ctx, r.Client, before, &d, before.Status, d.Status); err != nil {
			afterPatch(err, &res, &retErr)
			return
		}
		metrics.SetDriftPSI(d.Namespace, d.Name, d.Status.LastRun)
		metrics.SetConditions(worker.KindDriftCheck, d.Namespace, d.Name, d.Status.Conditions)
		metrics.SetScheduleInterval(worker.KindDriftCheck, d.Namespace, d.Name, scheduleInterval(d.Spec.Schedule, d.Spec.TimeZone, nil, r.now()))
		metrics.SetDriftLastSchedule(d.Namespace, d.Name, d.Status.LastScheduleTime)
		emit(r.Recorder, &d, evs)
	}()
	res, err := r.reconcile(ctx, &d, &evs)
	return summarize(&d.Status.Conditions, &d.Status.ObservedGeneration, d.Generation, res, err)
}

// driftRun is what a drift Job needs besides the resource: the resolved
// inputs, their Secrets, the digest of what they point at, and whether
// the digest proves unchanged inputs (every URI could be listed).
type driftRun struct {
	base, cur *worker.Input
	secrets   []string
	digest    string
	provable  bool
	key       string
}

// reconcile runs the steps of one reconcile: record finished Jobs, prune
// history, suspend, resolve the inputs, and the next run (once per inputs,
// or on the schedule).
func (r *DriftCheckReconciler) reconcile(ctx context.Context, d *v1alpha1.DriftCheck, evs *[]event) (ctrl.Result, error) {
	owned, err := ownedJobs(ctx, r.Client, worker.KindDriftCheck, d)
	if err != nil {
		return ctrl.Result{}, err
	}
	*evs = append(*evs, r.recordFinished(ctx, d, owned)...)
	active := activeJobs(owned)
	d.Status.ActiveJobs = nil
	for i, j := range active {
		if i < v1alpha1.MaxRecentRuns {
			d.Status.ActiveJobs = append(d.Status.ActiveJobs, j.Name)
		}
	}
	if err := r.pruneHistory(ctx, d, owned); err != nil {
		return ctrl.Result{}, err
	}
	if d.Spec.Suspend {
		if len(active) > 0 {
			return ctrl.Result{}, running(true, active[0].Name, "running")
		}
		return ctrl.Result{}, suspended(d.Status.Conditions)
	}
	if err := r.Reach.permit(d.Spec.Limits, worker.DriftURIs(&d.Spec), d.Spec.ServiceAccountName); err != nil {
		return ctrl.Result{}, err
	}
	run, err := r.inputs(ctx, d)
	if err != nil {
		return ctrl.Result{}, err
	}
	if d.Spec.Schedule != "" {
		return r.scheduled(ctx, d, owned, active, run, evs)
	}
	return ctrl.Result{}, r.once(ctx, d, active, run, evs)
}

// activeOutcome is the outcome when no new run starts: waiting while a
// Job runs.
func activeOutcome(active []batchv1.Job) error {
	if len(active) == 0 {
		return nil
	}
	return running(false, active[0].Name, "running")
}

// once runs an unscheduled check once per inputs. A Job of an outdated
// spec is stopped under concurrencyPolicy Replace; otherwise the new run
// starts when the active one ends.
func (r *DriftCheckReconciler) once(ctx context.Context, d *v1alpha1.DriftCheck, active []batchv1.Job, run driftRun, evs *[]event) error {
	run.key = jobs.ShortID(run.digest, d.Annotations[v1alpha1.AnnotationRequestedAt])
	var still []batchv1.Job
	for _, j := range active {
		if j.Annotations[AnnotationInputs] != run.key && d.Spec.ConcurrencyPolicy == v1alpha1.ConcurrencyReplace {
			if err := deleteJob(ctx, r.Client, &j); err != nil {
				return err
			}
			*evs = append(*evs, event{reason: EventJobReplaced, action: "Check", msg: fmt.Sprintf("stopped Job %s: its inputs or spec changed (concurrencyPolicy Replace)", j.Name)})
			continue
		}
		still = append(still, j)
	}
	if len(still) > 0 {
		return activeOutcome(still)
	}
	now := r.now()
	failed, done, err := attemptGate(d.Status.Retry, run.key, d.Spec.MaxAttemptsOf(), apimeta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionReady), now)
	if done || err != nil {
		return err
	}
	return r.start(ctx, d, run, failed, now, evs)
}

// scheduled decides the run of a scheduled check with nextRun, the
// concurrency policy, requested-at and the retries of the last run.
func (r *DriftCheckReconciler) scheduled(ctx context.Context, d *v1alpha1.DriftCheck, owned, active []batchv1.Job, run driftRun, evs *[]event) (ctrl.Result, error) {
	now := r.now()
	plan, err := nextRun(scheduleSpec{Schedule: d.Spec.Schedule, TimeZone: d.Spec.TimeZone, StartingDeadlineSeconds: d.Spec.StartingDeadlineSeconds, Created: d.CreationTimestamp.Time}, d.Status.LastScheduleTime, owned, now)
	if err != nil {
		return ctrl.Result{}, stalling(v1alpha1.ReasonInvalidSpec, "%s", err.Error())
	}
	d.Status.LastScheduleTime = plan.LastScheduleTime
	next := ctrl.Result{RequeueAfter: plan.Next.Sub(now)}
	request := d.Annotations[v1alpha1.AnnotationRequestedAt]
	switch {
	case request != "" && request != d.Status.LastHandledRequest:
		// As `kubectl create job --from=cronjob/…`: a run now, besides
		// the schedule, once the active run ended.
		run.key = requestedRunPrefix + jobs.ShortID(request) + "." + run.digest
		if len(active) > 0 {
			return next, activeOutcome(active)
		}
		return next, r.start(ctx, d, run, 0, now, evs)
	case plan.Exists:
		d.Status.LastScheduleTime = &metav1.Time{Time: plan.Due}
		return next, activeOutcome(active)
	case !plan.Missed.IsZero():
		d.Status.LastScheduleTime = &metav1.Time{Time: plan.Missed}
		*evs = append(*evs, event{warning: true, reason: EventSkipped, action: "Schedule", msg: "missed the run of " + plan.Missed.Format(time.RFC3339) + " by more than startingDeadlineSeconds"})
		return next, activeOutcome(active)
	case !plan.Due.IsZero():
		return next, r.due(ctx, d, owned, active, run, plan.Due, evs)
	case len(active) > 0:
		return next, activeOutcome(active)
	case d.Status.Retry == nil:
		return next, &idleError{reason: v1alpha1.ReasonScheduled, msg: "no run yet; the first is at " + plan.Next.Format(time.RFC3339)}
	}
	// Between scheduled times: the last run's retries.
	failed, done, err := attemptGate(d.Status.Retry, d.Status.Retry.Inputs, d.Spec.MaxAttemptsOf(), apimeta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionReady), now)
	if done || err != nil {
		return next, err
	}
	run.key = d.Status.Retry.Inputs
	return next, r.start(ctx, d, run, failed, scheduledOf(run.key), evs)
}

// due starts the run of scheduled time due, unless the concurrency policy
// forbids it or the inputs are provably unchanged since the last
// successful run.
func (r *DriftCheckReconciler) due(ctx context.Context, d *v1alpha1.DriftCheck, owned, active []batchv1.Job, run driftRun, due time.Time, evs *[]event) error {
	d.Status.LastScheduleTime = &metav1.Time{Time: due}
	if len(active) > 0 {
		switch d.Spec.ConcurrencyPolicy {
		case v1alpha1.ConcurrencyForbid:
			*evs = append(*evs, event{reason: EventSkipped, action: "Schedule", msg: fmt.Sprintf("run of %s skipped: Job %s is still running (concurrencyPolicy Forbid)", due.Format(time.RFC3339), active[0].Name)})
			return activeOutcome(active)
		case v1alpha1.ConcurrencyReplace:
			for i := range active {
				if err := deleteJob(ctx, r.Client, &active[i]); err != nil {
					return err
				}
			}
			d.Status.ActiveJobs = nil
		}
	}
	if run.provable && d.Annotations[v1alpha1.AnnotationRequestedAt] == d.Status.LastHandledRequest {
		if last := lastSucceeded(owned); last != nil && inputsOf(last) == run.digest {
			msg := fmt.Sprintf("run of %s skipped: inputs unchanged since Job %s", due.Format(time.RFC3339), last.Name)
			if apimeta.IsStatusConditionTrue(d.Status.Conditions, v1alpha1.ConditionReady) {
				setCondition(&d.Status.Conditions, d.Generation, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonUpToDate, msg)
			}
			*evs = append(*evs, event{reason: EventSkipped, action: "Schedule", msg: msg})
			return nil
		}
	}
	run.key = strconv.FormatInt(due.Unix(), 10) + "." + run.digest
	return r.start(ctx, d, run, 0, due, evs)
}

// inputsOf is the inputs digest a Job ran with, without its run prefix.
func inputsOf(j *batchv1.Job) string {
	k := j.Annotations[AnnotationInputs]
	if _, digest, ok := strings.Cut(k, "."); ok {
		return digest
	}
	return k
}

// inputs resolves the baseline and current inputs and their Secrets, and
// digests what they point at.
func (r *DriftCheckReconciler) inputs(ctx context.Context, d *v1alpha1.DriftCheck) (driftRun, error) {
	res := &apiResolver{c: r.Client, ns: d.Namespace}
	base, err := worker.ResolveDriftInput(d.Spec.Baseline, res)
	var cur *worker.Input
	if err == nil {
		cur, err = worker.ResolveDriftInput(d.Spec.Current, res)
	}
	if err != nil {
		return driftRun{}, referenceOutcome(err)
	}
	secrets := []string{secretName(d.Spec.Baseline.SecretRef), secretName(d.Spec.Current.SecretRef), secretName(d.Spec.Output.SecretRef)}
	if err := requireSecrets(ctx, r.Client, d.Namespace, secrets); err != nil {
		return driftRun{}, err
	}
	lister := r.Lister
	if lister == nil {
		lister = StorageLister{Reach: r.Reach}
	}
	secretReader := r.APIReader
	if secretReader == nil {
		secretReader = r.Client
	}
	digest, provable, err := inputsDigest(ctx, lister, secretReader, d.Namespace, res.revisions, []resolvedInput{
		{in: base, byURI: d.Spec.Baseline.URI != "", secret: secrets[0]},
		{in: cur, byURI: d.Spec.Current.URI != "", secret: secrets[1]},
	})
	if err != nil {
		return driftRun{}, err
	}
	return driftRun{base: base, cur: cur, secrets: secrets, digest: jobs.ShortID(strconv.FormatInt(d.Generation, 10), digest), provable: provable}, nil
}

// start creates the Job of the attempt after failed attempts at run.key,
// for the scheduled (or requested) time at.
func (r *DriftCheckReconciler) start(ctx context.Context, d *v1alpha1.DriftCheck, run driftRun, failed int32, at time.Time, evs *[]event) error {
	base, _, _ := strings.Cut(run.key, ".")
	runID := attemptRunID(base, failed)
	if at.IsZero() {
		at = r.now()
	}
	lim, err := r.Reach.taskLimits(d.Spec.Limits)
	if err != nil {
		return err
	}
	job, err := jobs.Build(r.Jobs, jobs.Run{
		Owner: d, GVK: v1alpha1.GroupVersion.WithKind(worker.KindDriftCheck), ID: runID,
		Task:        &worker.Task{Kind: worker.KindDriftCheck, Name: d.Name, RunID: runID, Drift: &d.Spec, Baseline: run.base, Current: run.cur, Limits: lim},
		SecretNames: run.secrets, Resources: d.Spec.Resources, ServiceAccountName: d.Spec.ServiceAccountName, ScheduledTime: &at,
		ActiveDeadlineSeconds: ptr.To(d.Spec.ActiveDeadlineOf()),
	})
	if err != nil {
		return err
	}
	runAnnotations(job, run.key, d.Generation)
	created, err := startJob(ctx, r.Client, r.APIReader, d, job)
	if err != nil {
		return err
	}
	d.Status.LastHandledRequest = d.Annotations[v1alpha1.AnnotationRequestedAt]
	if len(d.Status.ActiveJobs) < v1alpha1.MaxRecentRuns && !containsString(d.Status.ActiveJobs, job.Name) {
		d.Status.ActiveJobs = append(d.Status.ActiveJobs, job.Name)
	}
	startAttempt(&d.Status.Retry, run.key)
	if created {
		*evs = append(*evs, event{reason: EventJobCreated, action: "Check", msg: fmt.Sprintf("created Job %s (attempt %d)", job.Name, failed+1)})
	}
	return running(false, job.Name, "running")
}

// recordFinished records finished Jobs newer than the last recorded run,
// oldest first.
func (r *DriftCheckReconciler) recordFinished(ctx context.Context, d *v1alpha1.DriftCheck, owned []batchv1.Job) []event {
	var evs []event
	for i := len(owned) - 1; i >= 0; i-- {
		j := &owned[i]
		if done, _ := jobs.Finished(j); !done || recordedRun(d, j) {
			continue
		}
		s := jobSummary(ctx, r.Client, r.APIReader, worker.KindDriftCheck, j)
		var sched *metav1.Time
		if t, ok := scheduledTime(j); ok {
			sched = &metav1.Time{Time: t}
		}
		worker.ApplyDrift(&d.Status, d.Generation, s, j.Name, sched, r.now())
		recordAttempt(&d.Status.Retry, j.Annotations[AnnotationInputs], s, d.Spec.MaxAttemptsOf(), r.RetryBase, jobEnd(j, r.now()))
		ns, name := d.Namespace, d.Name
		count := func() { metrics.RecordDriftRun(ns, name, s) }
		if s.OK {
			evs = append(evs, event{reason: v1alpha1.ReasonSucceeded, action: "Check", msg: s.Message, count: count})
		} else {
			evs = append(evs, event{warning: true, reason: s.Reason, action: "Check", msg: s.Message, count: count})
		}
	}
	return evs
}

// recordedRun reports whether j's result is already in status: it is the
// last run or listed in recentRuns, or it was scheduled before the last
// recorded run. Scheduled times have one-second resolution, so a one-shot
// run created in the same second as the last one is not taken as recorded.
func recordedRun(d *v1alpha1.DriftCheck, j *batchv1.Job) bool {
	for _, r := range d.Status.RecentRuns {
		if r.JobName == j.Name {
			return true
		}
	}
	lr := d.Status.LastRun
	if lr == nil {
		return false
	}
	if lr.JobName == j.Name {
		return true
	}
	if lr.ScheduledTime == nil {
		return false
	}
	t, ok := scheduledTime(j)
	return ok && t.Before(lr.ScheduledTime.Time)
}

// pruneHistory deletes recorded finished Jobs beyond the history limits.
func (r *DriftCheckReconciler) pruneHistory(ctx context.Context, d *v1alpha1.DriftCheck, owned []batchv1.Job) error {
	okLimit, failLimit := 3, 1
	if v := d.Spec.SuccessfulRunsHistoryLimit; v != nil {
		okLimit = int(*v)
	}
	if v := d.Spec.FailedRunsHistoryLimit; v != nil {
		failLimit = int(*v)
	}
	var okN, failN int
	for i := range owned { // newest first
		j := &owned[i]
		done, succeeded := jobs.Finished(j)
		if !done || !recordedRun(d, j) {
			continue
		}
		keep := false
		if succeeded {
			okN++
			keep = okN <= okLimit
		} else {
			failN++
			keep = failN <= failLimit
		}
		if !keep {
			if err := r.Delete(ctx, j, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("deleting old Job %s: %w", j.Name, err)
			}
		}
	}
	return nil
}

func lastSucceeded(owned []batchv1.Job) *batchv1.Job {
	for i := range owned {
		if done, ok := jobs.Finished(&owned[i]); done && ok {
			return &owned[i]
		}
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// scheduledTime is the time a Job was created for, from its annotation.
func scheduledTime(j *batchv1.Job) (time.Time, bool) {
	v, ok := j.Annotations[v1alpha1.AnnotationScheduledTime]
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, v)
	return t, err == nil
}
