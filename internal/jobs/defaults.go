package jobs

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// PodDefaults are what every worker pod gets unless its resource says
// otherwise. The manager fills them from its flags; the zero value adds
// nothing.
type PodDefaults struct {
	// Resources are default requests and limits, per resource name: a
	// name the resource's spec.resources sets keeps the spec's value. A
	// default request above the spec's limit is lowered to it, and a
	// default limit below the spec's request is left out, so that the
	// result is always valid.
	Resources corev1.ResourceRequirements
	// ScratchSizeLimit bounds the scratch emptyDir (spooled remote files,
	// SDK caches); the kubelet evicts a pod that writes more. nil leaves it
	// unbounded.
	ScratchSizeLimit *resource.Quantity
	// Env is added to the worker's environment, e.g. the URI policy
	// (storage.Policy.Env) that the worker enforces too.
	Env map[string]string
}

// DefaultPodDefaults are the manager's defaults: 500m CPU and 1 GiB
// requested, 4 GiB of memory at most (four workers fit a 24 GiB node with
// room to spare), no CPU limit (a build is CPU-bound and throttling only
// slows it), and 20 GiB of scratch.
func DefaultPodDefaults() PodDefaults {
	scratch := resource.MustParse("20Gi")
	return PodDefaults{
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("500m"),
				corev1.ResourceMemory: resource.MustParse("1Gi"),
			},
			Limits: corev1.ResourceList{
				corev1.ResourceMemory: resource.MustParse("4Gi"),
			},
		},
		ScratchSizeLimit: &scratch,
	}
}

// applyPodDefaults adds d to a worker pod's spec built by Build.
func applyPodDefaults(d PodDefaults, spec *corev1.PodSpec) {
	for i := range spec.Volumes {
		if v := &spec.Volumes[i]; v.Name == ScratchVolume && v.EmptyDir != nil && v.EmptyDir.SizeLimit == nil && d.ScratchSizeLimit != nil {
			q := d.ScratchSizeLimit.DeepCopy()
			v.EmptyDir.SizeLimit = &q
		}
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		if c.Name != ContainerName {
			continue
		}
		c.Resources = mergeResources(c.Resources, d.Resources)
		names := make([]string, 0, len(d.Env))
		for k := range d.Env {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: d.Env[k]})
		}
	}
}

// mergeResources fills what spec leaves unset from def (see PodDefaults).
func mergeResources(spec, def corev1.ResourceRequirements) corev1.ResourceRequirements {
	out := *spec.DeepCopy()
	for name, q := range def.Requests {
		if _, set := out.Requests[name]; set {
			continue
		}
		if lim, ok := out.Limits[name]; ok && lim.Cmp(q) < 0 {
			q = lim
		}
		if out.Requests == nil {
			out.Requests = corev1.ResourceList{}
		}
		out.Requests[name] = q.DeepCopy()
	}
	for name, q := range def.Limits {
		if _, set := out.Limits[name]; set {
			continue
		}
		if req, ok := out.Requests[name]; ok && req.Cmp(q) > 0 {
			continue
		}
		if out.Limits == nil {
			out.Limits = corev1.ResourceList{}
		}
		out.Limits[name] = q.DeepCopy()
	}
	return out
}
