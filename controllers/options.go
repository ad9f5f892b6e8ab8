package controllers

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/worker"
)

// DefaultMaxConcurrentReconciles is the default number of reconciles in
// parallel per kind: a reconcile waits mostly on the API server and on
// listing sources, so a few workers keep an interval boundary of
// thousands of resources short without crowding the API server.
const DefaultMaxConcurrentReconciles = 4

func controllerOptions(concurrency int) controller.Options {
	if concurrency < 1 {
		concurrency = 1
	}
	return controller.Options{MaxConcurrentReconciles: concurrency}
}

// OwnJobsSelector selects the Jobs and pods the operator creates: those
// whose mldata.io/kind label names one of its kinds.
func OwnJobsSelector() labels.Selector {
	req, err := labels.NewRequirement(v1alpha1.LabelKind, selection.In, []string{worker.KindDatasetBuild, worker.KindDatasetProfile, worker.KindDriftCheck})
	if err != nil {
		panic(err) // constant input
	}
	return labels.NewSelector().Add(*req)
}

// CacheByObject restricts the manager's cache of Jobs and Pods to the
// operator's own (OwnJobsSelector), so that its memory follows the number
// of mldata runs, not the size of the cluster. A Job of another owner
// that takes a run's name is read from the API server instead.
func CacheByObject() map[client.Object]cache.ByObject {
	sel := OwnJobsSelector()
	return map[client.Object]cache.ByObject{
		&batchv1.Job{}: {Label: sel},
		&corev1.Pod{}:  {Label: sel},
	}
}
