package controllers

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
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
	list := func(ctx context.Context, ns string) ([]client.Object, error) {
		var l v1alpha1.DriftCheckList
		if err := r.List(ctx, &l, client.InNamespace(ns)); err != nil {
			return nil, err
		}
		out := make([]client.Object, len(l.Items))
		for i := range l.Items {
			out[i] = &l.Items[i]
		}
		return out, nil
	}
	refers := func(o client.Object, kind, name string) bool {
		d := o.(*v1alpha1.DriftCheck)
		for _, in := range []v1alpha1.DriftInput{d.Spec.Baseline, d.Spec.Current} {
			if kind == "DatasetBuild" && in.DatasetBuildRef != nil && string(in.DatasetBuildRef.Name) == name ||
				kind == "DatasetProfile" && in.DatasetProfileRef != nil && string(in.DatasetProfileRef.Name) == name {
				return true
			}
		}
		return false
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.DriftCheck{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&batchv1.Job{}).
		Watches(&v1alpha1.DatasetBuild{}, handler.EnqueueRequestsFromMapFunc(mapToReferrers(list, refers, "DatasetBuild"))).
		Watches(&v1alpha1.DatasetProfile{}, handler.EnqueueRequestsFromMapFunc(mapToReferrers(list, refers, "DatasetProfile"))).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(secretReferrers(mgr.GetClient(), func() client.ObjectList { return &v1alpha1.DriftCheckList{} }))).
		WithOptions(controllerOptions(concurrency)).
		Complete(r)
}

func (r *DriftCheckReconciler) now() time.Time { return nowFrom(r.Clock) }

// Reconcile brings one DriftCheck forward.
func (r *DriftCheckReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	var d v1alpha1.DriftCheck
	if err := r.Get(ctx, req.NamespacedName, &d); err != nil {
		if apierrors.IsNotFound(err) {
			metrics.ForgetDriftCheck(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !d.DeletionTimestamp.IsZero() {
		metrics.ForgetDriftCheck(d.Namespace, d.Name)
		return ctrl.Result{}, nil
	}
	before := d.DeepCopy()
	var evs []event
	defer func() {
		if err := patchStatus(ctx, r.Client, before, &d, before.Status, d.Status); err != nil {
			afterPatch(err, &res, &retErr)
			return
		}
		metrics.SetDriftPSI(d.Namespace, d.Name, d.Status.LastRun)
		emit(r.Recorder, &d, evs)
	}()
	gen, now := d.Generation, r.now()

	owned, err := ownedJobs(ctx, r.Client, worker.KindDriftCheck, &d)
	if err != nil {
		return ctrl.Result{}, err
	}
	evs = append(evs, r.recordFinished(ctx, &d, owned)...)
	active := activeJobs(owned)
	d.Status.ActiveJobs = nil
	for i, j := range active {
		if i < v1alpha1.MaxRecentRuns {
			d.Status.ActiveJobs = append(d.Status.ActiveJobs, j.Name)
		}
	}
	if err := r.pruneHistory(ctx, &d, owned); err != nil {
		return ctrl.Result{}, err
	}
	if d.Status.LastScheduleTime == nil {
		// Rebuilt from the Jobs after a status loss.
		for _, j := range owned {
			if strings.HasPrefix(j.Labels[v1alpha1.LabelRunID], requestedRunPrefix) {
				continue // requested, not scheduled
			}
			if t, ok := scheduledTime(&j); ok && (d.Status.LastScheduleTime == nil || t.After(d.Status.LastScheduleTime.Time)) {
				d.Status.LastScheduleTime = &metav1.Time{Time: t}
			}
		}
	}
	if len(active) > 0 {
		progressing(&d.Status.Conditions, gen, fmt.Sprintf("Job %s is running", active[0].Name))
	} else if apimeta.IsStatusConditionTrue(d.Status.Conditions, v1alpha1.ConditionReconciling) {
		setCondition(&d.Status.Conditions, gen, v1alpha1.ConditionReconciling, metav1.ConditionFalse, v1alpha1.ReasonSucceeded, "no run is active")
	}
	if d.Spec.Suspend {
		setCondition(&d.Status.Conditions, gen, v1alpha1.ConditionReconciling, metav1.ConditionFalse, v1alpha1.ReasonSuspended, "spec.suspend is true")
		return ctrl.Result{}, nil
	}
	if stallIfRefused(r.Reach.admit(worker.DriftURIs(&d.Spec), d.Spec.ServiceAccountName), &d.Status.Conditions, gen) {
		return ctrl.Result{}, nil
	}

	// Which run is due?
	var due time.Time
	var next time.Duration
	scheduled := d.Spec.Schedule != ""
	request := d.Annotations[v1alpha1.AnnotationRequestedAt]
	// A new mldata.io/requested-at runs a scheduled check now, besides its
	// schedule (as `kubectl create job --from=cronjob/…` does for a
	// CronJob); the schedule and lastScheduleTime are not affected.
	manual := scheduled && request != "" && request != d.Status.LastHandledRequest
	if scheduled {
		sched, err := parseSchedule(d.Spec.Schedule, d.Spec.TimeZone)
		if err != nil {
			stalled(&d.Status.Conditions, gen, v1alpha1.ReasonInvalidSpec, err.Error())
			return ctrl.Result{}, nil
		}
		earliest := d.CreationTimestamp.Time
		if d.Status.LastScheduleTime != nil {
			earliest = d.Status.LastScheduleTime.Time
		}
		if sd := d.Spec.StartingDeadlineSeconds; sd != nil {
			if lim := now.Add(-time.Duration(*sd) * time.Second); lim.After(earliest) {
				earliest = lim
			}
		}
		last, ok, nextRun := mostRecent(sched, earliest, now)
		next = nextRun.Sub(now)
		if !ok && !manual {
			if len(active) == 0 && apimeta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionReady) == nil {
				setCondition(&d.Status.Conditions, gen, v1alpha1.ConditionReady, metav1.ConditionUnknown, v1alpha1.ReasonScheduled,
					"first run at "+nextRun.Format(time.RFC3339))
			}
			return ctrl.Result{RequeueAfter: next}, nil
		}
		due = last
	}

	// Resolve the inputs.
	res0 := &apiResolver{c: r.Client, ns: d.Namespace}
	base, err := worker.ResolveDriftInput(d.Spec.Baseline, res0)
	var cur *worker.Input
	if err == nil {
		cur, err = worker.ResolveDriftInput(d.Spec.Current, res0)
	}
	if err != nil {
		reason, isStalled := referenceStatus(err)
		if isStalled {
			stalled(&d.Status.Conditions, gen, reason, err.Error())
		} else {
			setCondition(&d.Status.Conditions, gen, v1alpha1.ConditionReady, metav1.ConditionFalse, reason, err.Error())
		}
		return ctrl.Result{RequeueAfter: next}, nil
	}
	secrets := []string{secretName(d.Spec.Baseline.SecretRef), secretName(d.Spec.Current.SecretRef), secretName(d.Spec.Output.SecretRef)}
	if missing, err := secretsExist(ctx, r.Client, d.Namespace, secrets); err != nil {
		return ctrl.Result{}, err
	} else if missing != "" {
		stalled(&d.Status.Conditions, gen, v1alpha1.ReasonSecretNotFound, fmt.Sprintf("Secret %s does not exist in namespace %s", missing, d.Namespace))
		return ctrl.Result{RequeueAfter: time.Minute}, nil
	}
	lister := r.Lister
	if lister == nil {
		lister = StorageLister{Reach: r.Reach}
	}
	secretReader := r.APIReader
	if secretReader == nil {
		secretReader = r.Client
	}
	digest, provable := inputsDigest(ctx, lister, secretReader, d.Namespace, res0.revisions, []resolvedInput{
		{in: base, byURI: d.Spec.Baseline.URI != "", secret: secrets[0]},
		{in: cur, byURI: d.Spec.Current.URI != "", secret: secrets[1]},
	})
	digest = jobs.ShortID(strconv.FormatInt(gen, 10), digest)

	var runID string
	switch {
	case manual:
		runID = requestedRunPrefix + jobs.ShortID(request)
		if hasJob(owned, jobs.Name(d.Name, runID)) {
			return ctrl.Result{RequeueAfter: next}, nil
		}
		if len(active) > 0 {
			return ctrl.Result{RequeueAfter: next}, nil // runs when the active run ends
		}
		due = now
	case scheduled:
		runID = strconv.FormatInt(due.Unix(), 10)
		t := metav1.NewTime(due)
		if hasJob(owned, jobs.Name(d.Name, runID)) {
			// Created by an earlier reconcile whose status write the
			// cache has not shown yet.
			d.Status.LastScheduleTime = &t
			return ctrl.Result{RequeueAfter: next}, nil
		}
		if d.Spec.StartingDeadlineSeconds != nil && now.Sub(due) > time.Duration(*d.Spec.StartingDeadlineSeconds)*time.Second {
			d.Status.LastScheduleTime = &t
			evs = append(evs, event{warning: true, reason: EventSkipped, action: "Schedule", msg: "missed the run of " + due.Format(time.RFC3339) + " by more than startingDeadlineSeconds"})
			return ctrl.Result{RequeueAfter: next}, nil
		}
		if len(active) > 0 {
			switch d.Spec.ConcurrencyPolicy {
			case v1alpha1.ConcurrencyForbid:
				d.Status.LastScheduleTime = &t
				evs = append(evs, event{reason: EventSkipped, action: "Schedule", msg: fmt.Sprintf("run of %s skipped: Job %s is still running (concurrencyPolicy Forbid)", due.Format(time.RFC3339), active[0].Name)})
				return ctrl.Result{RequeueAfter: next}, nil
			case v1alpha1.ConcurrencyReplace:
				for i := range active {
					if err := r.Delete(ctx, &active[i], client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
						return ctrl.Result{}, fmt.Errorf("replacing Job %s: %w", active[i].Name, err)
					}
				}
				d.Status.ActiveJobs = nil
			}
		}
		if provable && request == d.Status.LastHandledRequest {
			if last := lastSucceeded(owned); last != nil && last.Annotations[AnnotationInputs] == digest {
				d.Status.LastScheduleTime = &t
				msg := fmt.Sprintf("run of %s skipped: inputs unchanged since Job %s", due.Format(time.RFC3339), last.Name)
				if c := apimeta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionReady); c != nil && c.Status == metav1.ConditionTrue {
					setCondition(&d.Status.Conditions, gen, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonUpToDate, msg)
				}
				evs = append(evs, event{reason: EventSkipped, action: "Schedule", msg: msg})
				return ctrl.Result{RequeueAfter: next}, nil
			}
		}
	default:
		runID = jobs.ShortID(digest, request)
		name := jobs.Name(d.Name, runID)
		if hasJob(owned, name) || d.Status.LastRun != nil && d.Status.LastRun.JobName == name {
			return ctrl.Result{}, nil
		}
		if len(active) > 0 {
			return ctrl.Result{}, nil // the new run starts when this one ends
		}
		due = now
	}

	job, err := jobs.Build(r.Jobs, jobs.Run{
		Owner: &d, GVK: v1alpha1.GroupVersion.WithKind(worker.KindDriftCheck), ID: runID,
		Task:        &worker.Task{Kind: worker.KindDriftCheck, Name: d.Name, RunID: runID, Drift: &d.Spec, Baseline: base, Current: cur},
		SecretNames: secrets, Resources: d.Spec.Resources, ServiceAccountName: d.Spec.ServiceAccountName, ScheduledTime: &due,
	})
	if err != nil {
		return ctrl.Result{}, err
	}
	job.Annotations[AnnotationInputs] = digest
	created, err := createJob(ctx, r.Client, job)
	if err != nil {
		return ctrl.Result{}, err
	}
	if scheduled && !manual {
		t := metav1.NewTime(due)
		d.Status.LastScheduleTime = &t
	}
	d.Status.LastHandledRequest = request
	if len(d.Status.ActiveJobs) < v1alpha1.MaxRecentRuns && !containsString(d.Status.ActiveJobs, job.Name) {
		d.Status.ActiveJobs = append(d.Status.ActiveJobs, job.Name)
	}
	progressing(&d.Status.Conditions, gen, fmt.Sprintf("Job %s is running", job.Name))
	if created {
		evs = append(evs, event{reason: EventJobCreated, action: "Check", msg: "created Job " + job.Name})
	}
	return ctrl.Result{RequeueAfter: next}, nil
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
		s := jobSummary(ctx, r.Client, worker.KindDriftCheck, j)
		var sched *metav1.Time
		if t, ok := scheduledTime(j); ok {
			sched = &metav1.Time{Time: t}
		}
		worker.ApplyDrift(&d.Status, d.Generation, s, j.Name, sched, r.now())
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

func activeJobs(owned []batchv1.Job) []batchv1.Job {
	var out []batchv1.Job
	for _, j := range owned {
		if done, _ := jobs.Finished(&j); !done && j.DeletionTimestamp.IsZero() {
			out = append(out, j)
		}
	}
	return out
}

func lastSucceeded(owned []batchv1.Job) *batchv1.Job {
	for i := range owned {
		if done, ok := jobs.Finished(&owned[i]); done && ok {
			return &owned[i]
		}
	}
	return nil
}

func hasJob(owned []batchv1.Job, name string) bool {
	for _, j := range owned {
		if j.Name == name {
			return true
		}
	}
	return false
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
