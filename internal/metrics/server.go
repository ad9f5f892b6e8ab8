package metrics

import (
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// ServerOptions are the manager's metrics server options. secure serves
// /metrics over HTTPS to clients that authenticate with a token the API
// server accepts (TokenReview) and may "get" the /metrics non-resource URL
// (SubjectAccessReview), as kubebuilder scaffolds it; the certificate is
// self-signed unless one is mounted. Without secure, /metrics is plain
// HTTP for anyone who can connect: for local runs only.
func ServerOptions(addr string, secure bool) metricsserver.Options {
	o := metricsserver.Options{BindAddress: addr}
	if secure {
		o.SecureServing = true
		o.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	return o
}
