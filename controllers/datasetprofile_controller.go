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

// DatasetProfileReconciler profiles a URI or a DatasetBuild's split, again
// whenever the spec changes, the build publishes a new build id, or the
// mldata.io/requested-at annotation changes.
//
// Decision: spec.schedule of DatasetProfile is not acted on yet; a profile
// of a DatasetBuild follows its builds, which covers scheduled sources.
type DatasetProfileReconciler struct {
	client.Client
	Recorder events.EventRecorder
	Clock    clock.PassiveClock
	Jobs     jobs.Settings
	// Reach bounds the storage the manager reaches for this resource and
	// the service accounts its Jobs may use; the zero value is the secure
	// default.
	Reach Reach
}

// +kubebuilder:rbac:groups=mldata.io,resources=datasetprofiles,verbs=get;list;watch
// +kubebuilder:rbac:groups=mldata.io,resources=datasetprofiles/status,verbs=get;update;patch

// SetupWithManager registers the reconciler; DatasetBuild changes reach the
// profiles that reference them.
func (r *DatasetProfileReconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	list := func(ctx context.Context, ns string) ([]client.Object, error) {
		var l v1alpha1.DatasetProfileList
		if err := r.List(ctx, &l, client.InNamespace(ns)); err != nil {
			return nil, err
		}
		out := make([]client.Object, len(l.Items))
		for i := range l.Items {
			out[i] = &l.Items[i]
		}
		return out, nil
	}
	refers := func(o client.Object, _, name string) bool {
		ref := o.(*v1alpha1.DatasetProfile).Spec.Source.DatasetBuildRef
		return ref != nil && string(ref.Name) == name
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.DatasetProfile{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&batchv1.Job{}).
		Watches(&v1alpha1.DatasetBuild{}, handler.EnqueueRequestsFromMapFunc(mapToReferrers(list, refers, "DatasetBuild"))).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(secretReferrers(mgr.GetClient(), func() client.ObjectList { return &v1alpha1.DatasetProfileList{} }))).
		WithOptions(controllerOptions(concurrency)).
		Complete(r)
}

func (r *DatasetProfileReconciler) now() time.Time { return nowFrom(r.Clock) }

// Reconcile brings one DatasetProfile forward.
func (r *DatasetProfileReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	var p v1alpha1.DatasetProfile
	if err := r.Get(ctx, req.NamespacedName, &p); err != nil {
		if apierrors.IsNotFound(err) {
			metrics.ForgetProfile(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !p.DeletionTimestamp.IsZero() {
		metrics.ForgetProfile(p.Namespace, p.Name)
		return ctrl.Result{}, nil
	}
	before := p.DeepCopy()
	var evs []event
	defer func() {
		if err := patchStatus(ctx, r.Client, before, &p, before.Status, p.Status); err != nil {
			afterPatch(err, &res, &retErr)
			return
		}
		emit(r.Recorder, &p, evs)
	}()
	gen := p.Generation
	owned, err := ownedJobs(ctx, r.Client, worker.KindDatasetProfile, &p)
	if err != nil {
		return ctrl.Result{}, err
	}
	for i := range owned {
		if done, _ := jobs.Finished(&owned[i]); !done {
			p.Status.JobName = owned[i].Name
			progressing(&p.Status.Conditions, gen, fmt.Sprintf("Job %s is profiling", owned[i].Name))
			return ctrl.Result{}, nil
		}
	}
	if j := findJob(owned, p.Status.JobName); j != nil && apimeta.IsStatusConditionTrue(p.Status.Conditions, v1alpha1.ConditionReconciling) {
		s := jobSummary(ctx, r.Client, worker.KindDatasetProfile, j)
		// The summary carries the column summaries in compact form
		// (worker.ColumnList), so status needs nothing from the bucket.
		worker.ApplyProfile(&p.Status, gen, s, r.now())
		ns, name := p.Namespace, p.Name
		count := func() { metrics.RecordProfileRun(ns, name, s) }
		if s.OK {
			evs = append(evs, event{reason: v1alpha1.ReasonSucceeded, action: "Profile", msg: s.Message, count: count})
		} else {
			evs = append(evs, event{warning: true, reason: s.Reason, action: "Profile", msg: s.Message, count: count})
		}
	}
	if p.Spec.Suspend {
		setCondition(&p.Status.Conditions, gen, v1alpha1.ConditionReconciling, metav1.ConditionFalse, v1alpha1.ReasonSuspended, "spec.suspend is true")
		return ctrl.Result{}, nil
	}
	if stallIfRefused(r.Reach.admit(worker.ProfileURIs(&p.Spec), p.Spec.ServiceAccountName), &p.Status.Conditions, gen) {
		return ctrl.Result{}, nil
	}
	resolver := &apiResolver{c: r.Client, ns: p.Namespace}
	src, err := worker.ResolveProfileSource(p.Spec.Source, resolver)
	if err != nil {
		reason, isStalled := referenceStatus(err)
		if isStalled {
			stalled(&p.Status.Conditions, gen, reason, err.Error())
		} else {
			setCondition(&p.Status.Conditions, gen, v1alpha1.ConditionReady, metav1.ConditionFalse, reason, err.Error())
		}
		return ctrl.Result{}, nil
	}
	secrets := []string{secretName(p.Spec.Source.SecretRef), secretName(p.Spec.Output.SecretRef)}
	if missing, err := secretsExist(ctx, r.Client, p.Namespace, secrets); err != nil {
		return ctrl.Result{}, err
	} else if missing != "" {
		stalled(&p.Status.Conditions, gen, v1alpha1.ReasonSecretNotFound, fmt.Sprintf("Secret %s does not exist in namespace %s", missing, p.Namespace))
		return ctrl.Result{RequeueAfter: time.Minute}, nil
	}
	request := p.Annotations[v1alpha1.AnnotationRequestedAt]
	runID := jobs.ShortID(strconv.FormatInt(gen, 10), mustJSON(src), fmt.Sprint(resolver.revisions), request)
	name := jobs.Name(p.Name, runID)
	if p.Status.JobName == name {
		return ctrl.Result{}, nil
	}
	job, err := jobs.Build(r.Jobs, jobs.Run{
		Owner: &p, GVK: v1alpha1.GroupVersion.WithKind(worker.KindDatasetProfile), ID: runID,
		Task:        &worker.Task{Kind: worker.KindDatasetProfile, Name: p.Name, RunID: runID, Profile: &p.Spec, Source: src},
		SecretNames: secrets, Resources: p.Spec.Resources, ServiceAccountName: p.Spec.ServiceAccountName,
	})
	if err != nil {
		return ctrl.Result{}, err
	}
	created, err := createJob(ctx, r.Client, job)
	if err != nil {
		return ctrl.Result{}, err
	}
	p.Status.JobName, p.Status.LastHandledRequest = name, request
	progressing(&p.Status.Conditions, gen, fmt.Sprintf("Job %s is profiling", name))
	if created {
		evs = append(evs, event{reason: EventJobCreated, action: "Profile", msg: "created Job " + name})
	}
	return ctrl.Result{}, nil
}
