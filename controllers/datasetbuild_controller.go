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

// Reconcile brings one DatasetBuild forward.
func (r *DatasetBuildReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	log := ctrl.LoggerFrom(ctx)
	var b v1alpha1.DatasetBuild
	if err := r.Get(ctx, req.NamespacedName, &b); err != nil {
		if apierrors.IsNotFound(err) {
			metrics.ForgetBuild(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !b.DeletionTimestamp.IsZero() {
		metrics.ForgetBuild(b.Namespace, b.Name)
		return ctrl.Result{}, nil
	}
	before := b.DeepCopy()
	var evs []event
	defer func() {
		if err := patchStatus(ctx, r.Client, before, &b, before.Status, b.Status); err != nil {
			afterPatch(err, &res, &retErr)
			return
		}
		metrics.SetBuildRows(b.Namespace, b.Name, b.Status.Rows)
		emit(r.Recorder, &b, evs)
	}()
	gen := b.Generation

	owned, err := ownedJobs(ctx, r.Client, worker.KindDatasetBuild, &b)
	if err != nil {
		return ctrl.Result{}, err
	}
	// A running build finishes before anything else is decided, even when
	// suspended.
	for i := range owned {
		j := &owned[i]
		if done, _ := jobs.Finished(j); !done {
			b.Status.JobName = j.Name
			progressing(&b.Status.Conditions, gen, fmt.Sprintf("Job %s is building", j.Name))
			return ctrl.Result{}, nil
		}
	}
	// Record the Job status names: creation times have one-second
	// resolution, so "newest" alone cannot tell two quick Jobs apart.
	for i := range owned {
		if r.unrecorded(&b, &owned[i]) {
			evs = append(evs, r.record(ctx, &b, &owned[i]))
			break
		}
	}

	if b.Spec.Suspend {
		setCondition(&b.Status.Conditions, gen, v1alpha1.ConditionReconciling, metav1.ConditionFalse, v1alpha1.ReasonSuspended, "spec.suspend is true")
		return ctrl.Result{}, nil
	}
	if stallIfRefused(r.Reach.admit(worker.BuildURIs(&b.Spec), b.Spec.ServiceAccountName), &b.Status.Conditions, gen) {
		return ctrl.Result{}, nil
	}
	secrets := []string{secretName(b.Spec.Source.SecretRef), secretName(b.Spec.Output.SecretRef)}
	if missing, err := secretsExist(ctx, r.Client, b.Namespace, secrets); err != nil {
		return ctrl.Result{}, err
	} else if missing != "" {
		stalled(&b.Status.Conditions, gen, v1alpha1.ReasonSecretNotFound, fmt.Sprintf("Secret %s does not exist in namespace %s", missing, b.Namespace))
		return ctrl.Result{RequeueAfter: time.Minute}, nil
	}

	now := r.now()
	digest, err := r.listingDigest(ctx, &b)
	var missing *secretNotFoundError
	switch {
	case errors.Is(err, errNotListable):
		// The Secret has no credentials the controller can use for the
		// store (the pod may, e.g. through its service account): a build
		// Job per interval, which ends in seconds without reading data
		// when nothing changed.
		digest = "tick=" + strconv.FormatInt(tick(&b, now), 10)
	case errors.As(err, &missing):
		// Deleted since the existence check.
		stalled(&b.Status.Conditions, gen, v1alpha1.ReasonSecretNotFound, missing.Error())
		return ctrl.Result{RequeueAfter: time.Minute}, nil
	case stallIfRefused(err, &b.Status.Conditions, gen):
		return ctrl.Result{RequeueAfter: requeueAfter(&b, now)}, nil
	case err != nil:
		setCondition(&b.Status.Conditions, gen, v1alpha1.ConditionReady, metav1.ConditionFalse, ReasonSourceUnavailable, err.Error())
		return ctrl.Result{}, fmt.Errorf("listing sources of %s: %w", b.Name, err)
	}
	t := metav1.NewTime(now)
	b.Status.LastCheckTime = &t
	request := b.Annotations[v1alpha1.AnnotationRequestedAt]
	runID := jobs.ShortID(strconv.FormatInt(gen, 10), digest, request)
	name := jobs.Name(b.Name, runID)
	if b.Status.JobName == name {
		// This exact run (same spec, sources and request) is recorded.
		log.V(1).Info("sources and spec unchanged; no build", "job", name)
		return ctrl.Result{RequeueAfter: requeueAfter(&b, now)}, nil
	}
	job, err := jobs.Build(r.Jobs, jobs.Run{
		Owner: &b, GVK: v1alpha1.GroupVersion.WithKind(worker.KindDatasetBuild), ID: runID,
		Task:        &worker.Task{Kind: worker.KindDatasetBuild, Name: b.Name, RunID: runID, Build: &b.Spec},
		SecretNames: secrets, Resources: b.Spec.Resources, ServiceAccountName: b.Spec.ServiceAccountName,
	})
	if err != nil {
		return ctrl.Result{}, err
	}
	created, err := createJob(ctx, r.Client, job)
	if err != nil {
		return ctrl.Result{}, err
	}
	b.Status.JobName = name
	b.Status.LastHandledRequest = request
	progressing(&b.Status.Conditions, gen, fmt.Sprintf("Job %s is building", name))
	if created {
		evs = append(evs, event{reason: EventJobCreated, action: "Build", msg: fmt.Sprintf("created Job %s", name)})
	}
	return ctrl.Result{}, nil
}

// unrecorded reports whether the finished Job j has not been recorded in
// status yet: status names it while Reconciling, until its result is in.
func (r *DatasetBuildReconciler) unrecorded(b *v1alpha1.DatasetBuild, j *batchv1.Job) bool {
	return b.Status.JobName == j.Name && apimeta.IsStatusConditionTrue(b.Status.Conditions, v1alpha1.ConditionReconciling)
}

// record writes a finished build Job's result into status.
func (r *DatasetBuildReconciler) record(ctx context.Context, b *v1alpha1.DatasetBuild, j *batchv1.Job) event {
	s := jobSummary(ctx, r.Client, worker.KindDatasetBuild, j)
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
		}
	}
	worker.ApplyBuild(&b.Status, b.Generation, s, m, r.now())
	ns, name, d := b.Namespace, b.Name, jobDuration(j)
	count := func() { metrics.RecordBuild(ns, name, s, d) }
	if !s.OK {
		return event{warning: true, reason: s.Reason, action: "Build", msg: s.Message, count: count}
	}
	reason := v1alpha1.ReasonSucceeded
	if s.UpToDate {
		reason = v1alpha1.ReasonUpToDate
	}
	return event{reason: reason, action: "Build", msg: s.Message, count: count}
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

// tick numbers the current re-check period: intervals since the epoch, so
// that a restart lands in the same period.
func tick(b *v1alpha1.DatasetBuild, now time.Time) int64 {
	if b.Spec.IntervalSeconds == nil || *b.Spec.IntervalSeconds <= 0 {
		return 0
	}
	return now.Unix() / int64(*b.Spec.IntervalSeconds)
}

func requeueAfter(b *v1alpha1.DatasetBuild, now time.Time) time.Duration {
	if b.Spec.IntervalSeconds == nil || *b.Spec.IntervalSeconds <= 0 {
		return 0
	}
	iv := int64(*b.Spec.IntervalSeconds)
	next := (now.Unix()/iv + 1) * iv
	return time.Unix(next, 0).Sub(now)
}
