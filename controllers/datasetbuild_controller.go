package controllers

import (
	"context"
	"errors"
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
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/storage"
)

// DatasetBuildReconciler builds datasets: it lists the sources, and when
// they or the spec changed since the recorded build, runs a build Job.
type DatasetBuildReconciler struct {
	client.Client
	Recorder events.EventRecorder
	Clock    clock.PassiveClock
	Jobs     jobs.Settings
	// Lister lists sources for change detection; nil uses StorageLister.
	Lister SourceLister
	// ReadManifest reads a finished build's manifest for the bounded
	// lists of status; nil reads it within Reach, with the output's
	// Secret. Errors leave those lists as they were.
	ReadManifest func(ctx context.Context, uri string) (*manifest.Manifest, error)
	// APIReader reads the data of source Secrets from the API server, so
	// that Secrets' contents are not cached; SetupWithManager sets it to
	// the manager's API reader when nil, and nil falls back to Client.
	APIReader client.Reader
	// Reach bounds the storage the manager reaches for this resource and
	// the service accounts its Jobs may use; the zero value is the secure
	// default.
	Reach Reach
	// RetryBase is the wait before the first retry of a transient
	// failure (doubling after each further one); 0 means 30 s.
	RetryBase time.Duration
	// ShardRangeBytes: a sharded build's plan cuts source files larger
	// than this into ranges for different shards; 0 means the engine's
	// default (pipeline.DefaultRangeBytes). It changes which shard does
	// what, never the published parts.
	ShardRangeBytes int64
}

// +kubebuilder:rbac:groups=mldata.io,resources=datasetbuilds,verbs=get;list;watch
// +kubebuilder:rbac:groups=mldata.io,resources=datasetbuilds/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers the reconciler. GenerationChangedPredicate
// applies to DatasetBuilds only: Job status changes must get through.
// Secrets are watched as metadata only (the manager never caches their
// contents), so that a build waiting for its Secret, or failing with its
// credentials, is reconciled as soon as the Secret is created or changed.
func (r *DatasetBuildReconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.DatasetBuild{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&batchv1.Job{}).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(secretReferrers(mgr.GetClient(), func() client.ObjectList { return &v1alpha1.DatasetBuildList{} }))).
		WithOptions(controllerOptions(concurrency)).
		Complete(r)
}

func (r *DatasetBuildReconciler) now() time.Time { return nowFrom(r.Clock) }

// Reconcile brings one DatasetBuild forward; summarize records the
// outcome, and status is written once, when it changed.
func (r *DatasetBuildReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	var b v1alpha1.DatasetBuild
	if ok, err := fetch(ctx, r.Client, req, &b, func() { metrics.ForgetBuild(req.Namespace, req.Name) }); !ok {
		return ctrl.Result{}, err
	}
	before := b.DeepCopy()
	var evs []event
	defer func() {
		if err := patchStatus(ctx, r.Client, before, &b, before.Status, b.Status); err != nil {
			afterPatch(err, &res, &retErr)
			return
		}
		metrics.SetBuildRows(b.Namespace, b.Name, b.Status.Rows)
		metrics.SetConditions(worker.KindDatasetBuild, b.Namespace, b.Name, b.Status.Conditions)
		metrics.SetScheduleInterval(worker.KindDatasetBuild, b.Namespace, b.Name, scheduleInterval(b.Spec.Schedule, b.Spec.TimeZone, b.Spec.IntervalSeconds, r.now()))
		emit(r.Recorder, &b, evs)
	}()
	res, err := r.reconcile(ctx, &b, &evs)
	return summarize(&b.Status.Conditions, &b.Status.ObservedGeneration, b.Generation, res, err)
}

// reconcile runs the steps of one reconcile: the running Job, its result,
// suspend, Secrets, the sources, and the next attempt.
func (r *DatasetBuildReconciler) reconcile(ctx context.Context, b *v1alpha1.DatasetBuild, evs *[]event) (ctrl.Result, error) {
	owned, err := ownedJobs(ctx, r.Client, worker.KindDatasetBuild, b)
	if err != nil {
		return ctrl.Result{}, err
	}
	// A running build of the current spec finishes before anything else
	// is decided, even when suspended; one of an older spec is replaced.
	for _, j := range activeJobs(owned) {
		if !outdated(&j, b.Generation) || b.Spec.Suspend {
			b.Status.JobName = j.Name
			r.shardProgress(b, &j, owned)
			return ctrl.Result{}, running(b.Spec.Suspend, j.Name, "building")
		}
		if err := deleteJob(ctx, r.Client, &j); err != nil {
			return ctrl.Result{}, err
		}
		*evs = append(*evs, event{reason: EventJobReplaced, action: "Build", msg: fmt.Sprintf("stopped Job %s of generation %d: the spec changed", j.Name, jobGeneration(&j))})
	}
	if j := findJob(owned, b.Status.JobName); j != nil && unrecorded(b.Status.Conditions, b.Status.JobName, j) {
		// A sharded build's plan and shards are followed by its next
		// phase, whatever suspend says: the build that runs finishes.
		handled, err := r.advance(ctx, b, j, owned, evs)
		switch {
		case err != nil:
			return ctrl.Result{}, err
		case handled && b.Status.JobName != j.Name:
			return ctrl.Result{}, running(false, b.Status.JobName, "building")
		case !handled:
			*evs = append(*evs, r.record(ctx, b, j)...)
		}
	}
	if b.Spec.Suspend {
		return ctrl.Result{}, suspended(b.Status.Conditions)
	}
	if err := r.Reach.permit(b.Spec.Limits, worker.BuildURIs(&b.Spec), b.Spec.ServiceAccountName); err != nil {
		return ctrl.Result{}, err
	}
	secrets := []string{secretName(b.Spec.Source.SecretRef), secretName(b.Spec.Output.SecretRef)}
	if err := requireSecrets(ctx, r.Client, b.Namespace, secrets); err != nil {
		return ctrl.Result{}, err
	}
	now := r.now()
	period, after, err := cadence(b, now)
	if err != nil {
		return ctrl.Result{}, stalling(v1alpha1.ReasonInvalidSpec, "%s", err.Error())
	}
	next := ctrl.Result{RequeueAfter: after}
	key, err := r.listed(ctx, b, period, now)
	if err != nil {
		return next, err
	}
	failed, done, err := attemptGate(b.Status.Retry, key, b.Spec.MaxAttemptsOf(), apimeta.FindStatusCondition(b.Status.Conditions, v1alpha1.ConditionReady), now)
	if done || err != nil {
		// Unchanged sources: nothing is written, so that the resources
		// that reference this build are not woken every interval.
		return next, err
	}
	return ctrl.Result{}, r.start(ctx, b, key, failed, secrets, now, evs)
}

// start creates the Job of the attempt after failed attempts at key.
func (r *DatasetBuildReconciler) start(ctx context.Context, b *v1alpha1.DatasetBuild, key string, failed int32, secrets []string, now time.Time, evs *[]event) error {
	runID := attemptRunID(key, failed)
	t := metav1.NewTime(now)
	var job *batchv1.Job
	var created bool
	var err error
	if worker.Shards(&b.Spec) > 1 {
		job, created, err = r.startSharded(ctx, b, runID, key, secrets, t)
	} else {
		job, created, err = r.startOne(ctx, b, runID, key, secrets)
	}
	if err != nil {
		return err
	}
	b.Status.JobName, b.Status.LastCheckTime = job.Name, &t
	b.Status.LastHandledRequest = b.Annotations[v1alpha1.AnnotationRequestedAt]
	startAttempt(&b.Status.Retry, key)
	if created {
		*evs = append(*evs, event{reason: EventJobCreated, action: "Build", msg: fmt.Sprintf("created Job %s (attempt %d)", job.Name, failed+1)})
	}
	return running(false, job.Name, "building")
}

// listed is inputs with the failed listings of the sources counted: they
// use the retry budget (listingFailed), and a listing that succeeds
// clears them. inputs returns a failed listing as it is; refusals and
// limits that wrap one are stalling errors.
func (r *DatasetBuildReconciler) listed(ctx context.Context, b *v1alpha1.DatasetBuild, period int64, now time.Time) (string, error) {
	key, err := r.inputs(ctx, b, period)
	if _, ok := err.(*listingError); ok {
		fresh := b.Status.ObservedGeneration != b.Generation
		return "", listingFailed(&b.Status.Retry, fresh, fmt.Errorf("listing sources of %s: %w", b.Name, err), b.Spec.MaxAttemptsOf(), r.RetryBase, now)
	}
	if err == nil {
		listingSucceeded(b.Status.Retry)
	}
	return key, err
}

// startOne creates the Job of a one-pod build.
func (r *DatasetBuildReconciler) startOne(ctx context.Context, b *v1alpha1.DatasetBuild, runID, key string, secrets []string) (*batchv1.Job, bool, error) {
	lim, err := r.Reach.taskLimits(b.Spec.Limits)
	if err != nil {
		return nil, false, err
	}
	job, err := jobs.Build(r.Jobs, jobs.Run{
		Owner: b, GVK: v1alpha1.GroupVersion.WithKind(worker.KindDatasetBuild), ID: runID,
		Task:        &worker.Task{Kind: worker.KindDatasetBuild, Name: b.Name, RunID: runID, Build: &b.Spec, Limits: lim},
		SecretNames: secrets, Resources: b.Spec.Resources, ServiceAccountName: b.Spec.ServiceAccountName,
		ActiveDeadlineSeconds: ptr.To(b.Spec.ActiveDeadlineOf()),
	})
	if err != nil {
		return nil, false, err
	}
	runAnnotations(job, key, b.Generation)
	created, err := startJob(ctx, r.Client, r.APIReader, b, job)
	return job, created, err
}

// inputs is the digest of what a build depends on: the spec generation,
// the source listing and the requested-at annotation.
func (r *DatasetBuildReconciler) inputs(ctx context.Context, b *v1alpha1.DatasetBuild, period int64) (string, error) {
	digest, err := r.listingDigest(ctx, b)
	var missing *secretNotFoundError
	switch {
	case errors.Is(err, errNotListable):
		// The Secret has no credentials the controller can use for the
		// store (the pod may, e.g. through its service account): a build
		// Job per interval, which ends in seconds without reading data
		// when nothing changed.
		digest = "tick=" + strconv.FormatInt(period, 10)
	case errors.As(err, &missing):
		// Deleted since the existence check.
		return "", stalling(v1alpha1.ReasonSecretNotFound, "%s", missing.Error())
	case refusal(err) != nil:
		return "", refusal(err)
	case errors.As(err, new(*listingError)):
		return "", err
	case err != nil:
		return "", &transientError{reason: ReasonSourceUnavailable, err: fmt.Errorf("listing sources of %s: %w", b.Name, err)}
	}
	return jobs.ShortID(strconv.FormatInt(b.Generation, 10), digest, b.Annotations[v1alpha1.AnnotationRequestedAt]), nil
}

// record writes a finished build Job's result into status, and returns
// its event and, when the build was published with warnings, a Warning
// event that lists them.
func (r *DatasetBuildReconciler) record(ctx context.Context, b *v1alpha1.DatasetBuild, j *batchv1.Job) []event {
	s := jobSummary(ctx, r.Client, r.APIReader, worker.KindDatasetBuild, j)
	var m *manifest.Manifest
	if s.OK && s.ManifestURI != "" && !s.UpToDate {
		read := r.ReadManifest
		if read == nil {
			secrets := r.APIReader
			if secrets == nil {
				secrets = r.Client
			}
			read = r.Reach.manifestReader(secrets, b.Namespace, secretName(b.Spec.Output.SecretRef))
		}
		var err error
		if m, err = read(ctx, s.ManifestURI); err != nil {
			ctrl.LoggerFrom(ctx).Info("manifest unreadable; status keeps the summary only", "manifest", s.ManifestURI, "error", err.Error())
			if !errors.Is(err, errNotListable) {
				// A manifest over --max-manifest-bytes, a store past its
				// deadline: the build is published all the same, and
				// status says, first among its warnings (and so in
				// Ready's message), why it lists no schema columns.
				s.Warnings = append([]string{manifestUnreadWarning(err)}, s.Warnings...)
			}
		}
	}
	if f := j.Status.FailedIndexes; !s.OK && f != nil && *f != "" {
		s.Message = worker.Truncate(fmt.Sprintf("shard(s) %s failed: %s", *f, s.Message), 1024)
	}
	worker.ApplyBuild(&b.Status, b.Generation, s, m, r.now())
	recordAttempt(&b.Status.Retry, j.Annotations[AnnotationInputs], s, b.Spec.MaxAttemptsOf(), r.RetryBase, jobEnd(j, r.now()))
	ns, name, d := b.Namespace, b.Name, jobDuration(j)
	count := func() { metrics.RecordBuild(ns, name, s, d) }
	if !s.OK {
		return []event{{warning: true, reason: s.Reason, action: "Build", msg: s.Message, count: count}}
	}
	reason := v1alpha1.ReasonSucceeded
	if s.UpToDate {
		reason = v1alpha1.ReasonUpToDate
	}
	evs := []event{{reason: reason, action: "Build", msg: s.Message, count: count}}
	if len(b.Status.Warnings) > 0 {
		evs = append(evs, event{warning: true, reason: EventBuildWarning, action: "Build",
			msg: fmt.Sprintf("build %s is published with %d warning(s): %s", s.BuildID, len(b.Status.Warnings), strings.Join(b.Status.Warnings, "; "))})
	}
	return evs
}

// listingDigest is a digest of the source listing (key, size and change
// token per object), listed with the source Secret's credentials if it has
// one; errNotListable when that Secret has none for the store.
func (r *DatasetBuildReconciler) listingDigest(ctx context.Context, b *v1alpha1.DatasetBuild) (string, error) {
	l := r.Lister
	if l == nil {
		l = StorageLister{Reach: r.Reach}
	}
	secrets := r.APIReader
	if secrets == nil {
		secrets = r.Client
	}
	objs, err := listSource(ctx, l, secrets, b.Namespace, string(b.Spec.Source.URI), b.Spec.Source.Include, secretName(b.Spec.Source.SecretRef))
	if err != nil {
		return "", err
	}
	return listingDigest(objs), nil
}

func listingDigest(objs []storage.Object) string {
	parts := make([]string, 0, len(objs))
	for _, o := range objs {
		parts = append(parts, o.Key+"\x00"+strconv.FormatInt(o.Size, 10)+"\x00"+o.Version())
	}
	return jobs.ShortID(strings.Join(parts, "\n"))
}

// cadence is when a build re-lists its sources: period numbers the
// current re-check period (intervals since the epoch, or the latest
// scheduled time), so that a restart lands in the same period, and after
// is the wait until the next one; 0 and 0 without intervalSeconds or
// schedule. A schedule that does not parse (an unknown time zone) is an
// error.
func cadence(b *v1alpha1.DatasetBuild, now time.Time) (period int64, after time.Duration, err error) {
	if b.Spec.Schedule != "" {
		sched, err := parseSchedule(b.Spec.Schedule, b.Spec.TimeZone)
		if err != nil {
			return 0, 0, err
		}
		last, ok, next := mostRecent(sched, b.CreationTimestamp.Time, now)
		if ok {
			period = last.Unix()
		}
		return period, next.Sub(now), nil
	}
	if b.Spec.IntervalSeconds == nil || *b.Spec.IntervalSeconds <= 0 {
		return 0, 0, nil
	}
	iv := int64(*b.Spec.IntervalSeconds)
	next := (now.Unix()/iv + 1) * iv
	return now.Unix() / iv, time.Unix(next, 0).Sub(now), nil
}
