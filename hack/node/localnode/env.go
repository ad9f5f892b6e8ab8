package localnode

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// defaultPath is the PATH a container gets when neither its image (there is
// none here) nor its env sets one; it is containerd's default.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

type envVar struct {
	Name, Value string
}

// configError is a problem in a container's configuration that may go away
// (a Secret or ConfigMap created later): the container waits with reason
// CreateContainerConfigError and the node retries, as the kubelet does.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

func configErrorf(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}

// objects reads the Secrets and ConfigMaps that pods refer to.
type objects interface {
	secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	configMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
}

// apiObjects reads them from the API server on every container start, so a
// Secret created after the pod is picked up by the next retry.
type apiObjects struct{ client kubernetes.Interface }

func (a apiObjects) secret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	s, err := a.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		// The kubelet's wording: `secret "name" not found`.
		return nil, apierrors.NewNotFound(corev1.Resource("secret"), name)
	}
	return s, err
}

func (a apiObjects) configMap(ctx context.Context, ns, name string) (*corev1.ConfigMap, error) {
	c, err := a.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(corev1.Resource("configmap"), name)
	}
	return c, err
}

// podFields are the values of the downward API that the node decides.
type podFields struct {
	HostIP, PodIP string
	// Allocatable stands in for a resource limit that a container does not set.
	Allocatable corev1.ResourceList
}

// envBuilder keeps the environment in first-definition order, later
// definitions replacing the value.
type envBuilder struct {
	vars  []envVar
	index map[string]int
}

func (b *envBuilder) set(name, value string) {
	if b.index == nil {
		b.index = map[string]int{}
	}
	if i, ok := b.index[name]; ok {
		b.vars[i].Value = value
		return
	}
	b.index[name] = len(b.vars)
	b.vars = append(b.vars, envVar{name, value})
}

func (b *envBuilder) lookup(name string) (string, bool) {
	i, ok := b.index[name]
	if !ok {
		return "", false
	}
	return b.vars[i].Value, true
}

// resolveEnv computes a container's environment as the kubelet does: envFrom
// sources in order, then env entries in order, each value expanding $(VAR)
// references to variables defined before it (valueFrom results are not
// expanded). Errors that may heal are *configError.
func resolveEnv(ctx context.Context, objs objects, pod *corev1.Pod, c *corev1.Container, f podFields) ([]envVar, error) {
	var b envBuilder
	for _, src := range c.EnvFrom {
		switch {
		case src.SecretRef != nil:
			s, err := objs.secret(ctx, pod.Namespace, src.SecretRef.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && optional(src.SecretRef.Optional) {
					continue
				}
				return nil, lookupError(err)
			}
			for _, k := range sortedKeys(s.Data) {
				b.set(src.Prefix+k, string(s.Data[k]))
			}
		case src.ConfigMapRef != nil:
			cm, err := objs.configMap(ctx, pod.Namespace, src.ConfigMapRef.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && optional(src.ConfigMapRef.Optional) {
					continue
				}
				return nil, lookupError(err)
			}
			for _, k := range sortedKeys(cm.Data) {
				b.set(src.Prefix+k, cm.Data[k])
			}
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			b.set(e.Name, expand(e.Value, b.lookup))
			continue
		}
		v, ok, err := valueFrom(ctx, objs, pod, c, e.ValueFrom, f)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		if ok {
			b.set(e.Name, v)
		}
	}
	return b.vars, nil
}

// lookupError turns a failed read of a referenced object into a config error
// when waiting may help (not found, not allowed yet, API unavailable).
func lookupError(err error) error {
	return &configError{msg: err.Error()}
}

func optional(p *bool) bool { return p != nil && *p }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// valueFrom resolves one env valueFrom; ok is false when an optional source is
// missing and the variable is left out.
func valueFrom(ctx context.Context, objs objects, pod *corev1.Pod, c *corev1.Container, src *corev1.EnvVarSource, f podFields) (string, bool, error) {
	switch {
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		s, err := objs.secret(ctx, pod.Namespace, ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, lookupError(err)
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			if optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, configErrorf("couldn't find key %s in Secret %s/%s", ref.Key, pod.Namespace, ref.Name)
		}
		return string(v), true, nil
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		cm, err := objs.configMap(ctx, pod.Namespace, ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, lookupError(err)
		}
		v, ok := cm.Data[ref.Key]
		if !ok {
			if optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, configErrorf("couldn't find key %s in ConfigMap %s/%s", ref.Key, pod.Namespace, ref.Name)
		}
		return v, true, nil
	case src.FieldRef != nil:
		v, err := fieldValue(pod, src.FieldRef.FieldPath, f)
		return v, err == nil, err
	case src.ResourceFieldRef != nil:
		v, err := resourceValue(pod, c, src.ResourceFieldRef, f)
		return v, err == nil, err
	}
	return "", false, errors.New("valueFrom names no source")
}

// fieldValue is the downward API's value of a pod field.
func fieldValue(pod *corev1.Pod, path string, f podFields) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs":
		return f.HostIP, nil
	case "status.podIP", "status.podIPs":
		return f.PodIP, nil
	}
	for prefix, m := range map[string]map[string]string{"metadata.labels": pod.Labels, "metadata.annotations": pod.Annotations} {
		if rest, ok := strings.CutPrefix(path, prefix+"['"); ok {
			if key, ok := strings.CutSuffix(rest, "']"); ok {
				return m[key], nil
			}
		}
	}
	return "", fmt.Errorf("fieldRef %q is not supported", path)
}

// formatMap renders labels or annotations as the downward API does: sorted
// key="value" lines.
func formatMap(m map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(&b, "%s=%q\n", k, m[k])
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// resourceValue is the downward API's value of a container resource: limits
// that are not set fall back to the node's allocatable amount; CPU rounds up
// to the divisor, like the kubelet.
func resourceValue(pod *corev1.Pod, c *corev1.Container, ref *corev1.ResourceFieldSelector, f podFields) (string, error) {
	target := c
	if ref.ContainerName != "" && ref.ContainerName != c.Name {
		target = nil
		for i := range pod.Spec.Containers {
			if pod.Spec.Containers[i].Name == ref.ContainerName {
				target = &pod.Spec.Containers[i]
			}
		}
		for i := range pod.Spec.InitContainers {
			if pod.Spec.InitContainers[i].Name == ref.ContainerName {
				target = &pod.Spec.InitContainers[i]
			}
		}
		if target == nil {
			return "", fmt.Errorf("resourceFieldRef: no container %q in the pod", ref.ContainerName)
		}
	}
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("resourceFieldRef %q is not supported", ref.Resource)
	}
	rn := corev1.ResourceName(name)
	list := target.Resources.Limits
	if kind == "requests" {
		list = target.Resources.Requests
	}
	q, ok := list[rn]
	if !ok && kind == "limits" {
		q, ok = f.Allocatable[rn]
	}
	if !ok {
		q = resource.Quantity{}
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if rn == corev1.ResourceCPU {
		return fmt.Sprint(int64(math.Ceil(float64(q.MilliValue()) / float64(divisor.MilliValue())))), nil
	}
	return fmt.Sprint(int64(math.Ceil(float64(q.Value()) / float64(divisor.Value())))), nil
}

// commandLine is the program and argv of a container: the mapped image
// executable is the entrypoint; command replaces it and args follow, both
// with $(VAR) expanded from the container's environment.
func commandLine(c *corev1.Container, entrypoint, imageName string, env []envVar) (path string, argv []string) {
	lookup := envLookup(env)
	args := make([]string, 0, len(c.Args))
	for _, a := range c.Args {
		args = append(args, expand(a, lookup))
	}
	if len(c.Command) == 0 {
		return entrypoint, append([]string{entrypoint}, args...)
	}
	cmd := make([]string, 0, len(c.Command))
	for _, a := range c.Command {
		cmd = append(cmd, expand(a, lookup))
	}
	path = cmd[0]
	// The image holds one program: a command naming it (as "/mldata" in the
	// project's image, or by the image's name) means the mapped executable.
	base := cmd[0][strings.LastIndex(cmd[0], "/")+1:]
	if base == imageName || base == entrypoint[strings.LastIndex(entrypoint, "/")+1:] {
		path = entrypoint
	}
	return path, append(cmd, args...)
}

// processEnv is the environment the process gets: a default PATH and the
// pod's HOSTNAME (what a runtime provides), then the container's own
// variables, which win.
func processEnv(pod *corev1.Pod, env []envVar) []string {
	var b envBuilder
	b.set("PATH", defaultPath)
	b.set("HOSTNAME", pod.Name)
	for _, e := range env {
		b.set(e.Name, e.Value)
	}
	out := make([]string, 0, len(b.vars))
	for _, e := range b.vars {
		out = append(out, e.Name+"="+e.Value)
	}
	return out
}
