package controllers

import "sigs.k8s.io/controller-runtime/pkg/controller"

func controllerOptions(concurrency int) controller.Options {
	if concurrency < 1 {
		concurrency = 1
	}
	return controller.Options{MaxConcurrentReconciles: concurrency}
}
