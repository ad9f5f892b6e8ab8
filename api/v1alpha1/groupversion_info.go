// Package v1alpha1 is the mldata.io/v1alpha1 API: the DatasetBuild,
// DatasetProfile and DriftCheck resources that the mldata operator
// reconciles into Jobs running the same pipeline as the mldata CLI.
//
// The package is a leaf: it imports only Kubernetes API machinery, never
// mldata's pkg/ packages, so that clients, the CLI's `mldata run -f` and the
// controllers can all depend on it cheaply. The worker converts these specs
// into pkg/pipeline, pkg/profile and pkg/drift configuration; the field
// comments name the CLI flag each field mirrors.
//
// Validation lives in the CRD (OpenAPI enums and bounds plus CEL rules), so
// that `kubectl apply` rejects a bad manifest with a message naming the field
// to change, before any Job is started.
//
// +kubebuilder:object:generate=true
// +groupName=mldata.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of these types.
var GroupVersion = schema.GroupVersion{Group: "mldata.io", Version: "v1alpha1"}

var (
	// SchemeBuilder registers the types with a runtime.Scheme. It is the
	// apimachinery builder rather than controller-runtime's, to keep the API
	// package free of controller-runtime.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds the types of this group version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&DatasetBuild{}, &DatasetBuildList{},
		&DatasetProfile{}, &DatasetProfileList{},
		&DriftCheck{}, &DriftCheckList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
