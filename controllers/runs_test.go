package controllers

import (
	"errors"
	"fmt"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mldata-io/mldata/api/v1alpha1"
)

// TestStartJobRefusesAStaleCopy: a reconcile that works from a copy of the
// resource older than the API server's (its own last status write not yet
// in the cache) starts no Job and runs again without touching status; from
// the current copy the Job starts, and a second start adopts it.
func TestStartJobRefusesAStaleCopy(t *testing.T) {
	needEnv(t)
	ns := newNamespace(t)
	b := newBuild(ns, "stale", "file:///src/", "file:///out/")
	if err := k8s.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	stale := b.DeepCopy()
	b.Status.JobName = "stale-1"
	if err := k8s.Status().Update(ctx, b); err != nil {
		t.Fatal(err)
	}
	job := func() *batchv1.Job {
		return &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "stale-2", Namespace: ns,
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(b, v1alpha1.GroupVersion.WithKind("DatasetBuild"))}},
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "worker", Image: "mldata:test"}},
			}}},
		}
	}
	created, err := startJob(ctx, k8s, k8s, stale, job())
	if created || !errors.Is(err, errStale) {
		t.Fatalf("stale copy: created %v, error %v; want no Job and errStale", created, err)
	}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "stale-2"}, &batchv1.Job{}); !apierrors.IsNotFound(err) {
		t.Fatalf("stale copy: the Job exists (get: %v)", err)
	}
	var conds []metav1.Condition
	var observed int64
	res, err := summarize(&conds, &observed, 1, ctrl.Result{}, fmt.Errorf("starting the commit: %w", err))
	if err != nil || res.RequeueAfter != staleRetry || len(conds) != 0 || observed != 0 {
		t.Errorf("stale copy: outcome %+v, %v, conditions %v, observedGeneration %d; want a quiet retry after %v and status untouched",
			res, err, conds, observed, staleRetry)
	}

	if created, err = startJob(ctx, k8s, k8s, b, job()); !created || err != nil {
		t.Fatalf("current copy: created %v, error %v; want the Job created", created, err)
	}
	if created, err = startJob(ctx, k8s, k8s, b, job()); created || err != nil {
		t.Fatalf("current copy, again: created %v, error %v; want the existing Job adopted", created, err)
	}
}
