package jobs

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func q(s string) resource.Quantity { return resource.MustParse(s) }

func TestPodDefaults(t *testing.T) {
	defaults := DefaultPodDefaults()
	defaults.Env = map[string]string{"MLDATA_ALLOWED_SCHEMES": "s3,gs,azblob", "MLDATA_ALLOWED_ENDPOINTS": ""}
	tests := []struct {
		name string
		spec *corev1.ResourceRequirements
		want corev1.ResourceRequirements
	}{
		{
			name: "no spec.resources: the defaults",
			want: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: q("500m"), corev1.ResourceMemory: q("1Gi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: q("4Gi")},
			},
		},
		{
			name: "spec values win per resource name",
			spec: &corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: q("2")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: q("16Gi"), corev1.ResourceCPU: q("4")},
			},
			want: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: q("2"), corev1.ResourceMemory: q("1Gi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: q("16Gi"), corev1.ResourceCPU: q("4")},
			},
		},
		{
			name: "a spec limit below the default request lowers the request",
			spec: &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: q("512Mi")}},
			want: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: q("500m"), corev1.ResourceMemory: q("512Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: q("512Mi")},
			},
		},
		{
			name: "a spec request above the default limit drops the limit",
			spec: &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: q("8Gi")}},
			want: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: q("500m"), corev1.ResourceMemory: q("8Gi")},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.spec.DeepCopy()
			job, err := Build(Settings{Image: "mldata:test", Pod: defaults}, Run{Owner: owner("churn"), GVK: gvk, ID: "abc123", Task: task, Resources: tc.spec})
			if err != nil {
				t.Fatal(err)
			}
			spec := job.Spec.Template.Spec
			got := spec.Containers[0].Resources
			if !equality.Semantic.DeepEqual(got, tc.want) {
				t.Errorf("resources: got %v, want %v", got, tc.want)
			}
			if errs := validateRequirements(got); len(errs) > 0 {
				t.Errorf("invalid requirements: %v", errs)
			}
			if lim := spec.Volumes[0].EmptyDir.SizeLimit; lim == nil || lim.Cmp(q("20Gi")) != 0 {
				t.Errorf("scratch sizeLimit = %v, want 20Gi", lim)
			}
			env := spec.Containers[0].Env
			tail := env[len(env)-2:]
			wantTail := []corev1.EnvVar{{Name: "MLDATA_ALLOWED_ENDPOINTS", Value: ""}, {Name: "MLDATA_ALLOWED_SCHEMES", Value: "s3,gs,azblob"}}
			if d := cmp.Diff(wantTail, tail); d != "" {
				t.Errorf("policy env (-want +got):\n%s", d)
			}
			if !equality.Semantic.DeepEqual(tc.spec, before) {
				t.Errorf("spec.resources was modified: %v, was %v", tc.spec, before)
			}
		})
	}
	// The zero PodDefaults add nothing.
	job, err := Build(Settings{Image: "mldata:test"}, Run{Owner: owner("churn"), GVK: gvk, ID: "abc123", Task: task})
	if err != nil {
		t.Fatal(err)
	}
	if r := job.Spec.Template.Spec.Containers[0].Resources; r.Requests != nil || r.Limits != nil || job.Spec.Template.Spec.Volumes[0].EmptyDir.SizeLimit != nil {
		t.Errorf("zero defaults changed the pod: %v", r)
	}
}

// validateRequirements checks what the API server checks of requests and
// limits: every request at most its limit.
func validateRequirements(r corev1.ResourceRequirements) field.ErrorList {
	var errs field.ErrorList
	for name, req := range r.Requests {
		if lim, ok := r.Limits[name]; ok && req.Cmp(lim) > 0 {
			errs = append(errs, field.Invalid(field.NewPath("resources", "requests").Key(string(name)), req.String(), "must be less than or equal to "+name.String()+" limit"))
		}
	}
	return errs
}
