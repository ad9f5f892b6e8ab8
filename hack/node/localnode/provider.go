package localnode

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	corev1 "k8s.io/api/core/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/record"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// provider runs the pods bound to the node as local processes. It is the
// Virtual Kubelet's PodLifecycleHandler and PodNotifier.
type provider struct {
	images      Images
	root        string // <root>/pods holds one directory per pod
	logDir      string // one directory per pod with <container>.log
	nodeName    string
	hostIP      string
	podIP       string
	execBinary  string
	allocatable corev1.ResourceList
	objs        objects
	lister      corev1listers.PodLister
	recorder    record.EventRecorder
	log         *slog.Logger

	mu     sync.Mutex
	pods   map[string]*podRun // by namespace/name
	notify func(*corev1.Pod)
}

func podKey(namespace, name string) string { return namespace + "/" + name }

func (p *provider) podDirName(pod *corev1.Pod) string {
	return fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID)
}

// CreatePod starts running a pod. It returns at once; progress is reported
// through NotifyPods.
func (p *provider) CreatePod(ctx context.Context, pod *corev1.Pod) error {
	key := podKey(pod.Namespace, pod.Name)
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.pods[key]; ok {
		if old.uid() == pod.UID {
			return nil
		}
		// A pod of the same name with a new UID: the old one is gone from
		// the API and is stopped without waiting.
		old.terminate(0)
	}
	r := newPodRun(p, pod.DeepCopy())
	p.pods[key] = r
	go r.run()
	return nil
}

// UpdatePod records a new version of the pod (labels, annotations, image
// changes); running processes are not restarted.
func (p *provider) UpdatePod(ctx context.Context, pod *corev1.Pod) error {
	p.mu.Lock()
	r, ok := p.pods[podKey(pod.Namespace, pod.Name)]
	p.mu.Unlock()
	if !ok || r.uid() != pod.UID {
		return errdefs.NotFoundf("pod %s/%s is not running on this node", pod.Namespace, pod.Name)
	}
	r.update(pod.DeepCopy())
	return nil
}

// DeletePod stops a pod: SIGTERM to its processes, SIGKILL after the grace
// period. Its final status is reported through NotifyPods, and its
// directories are removed once its processes are gone.
func (p *provider) DeletePod(ctx context.Context, pod *corev1.Pod) error {
	p.mu.Lock()
	r, ok := p.pods[podKey(pod.Namespace, pod.Name)]
	p.mu.Unlock()
	if !ok {
		return errdefs.NotFoundf("pod %s/%s is not running on this node", pod.Namespace, pod.Name)
	}
	grace := int64(defaultGracePeriodSeconds)
	switch {
	case pod.DeletionGracePeriodSeconds != nil:
		grace = *pod.DeletionGracePeriodSeconds
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	r.delete(time.Duration(grace) * time.Second)
	return nil
}

// forget drops a pod whose processes have ended after deletion.
func (p *provider) forget(r *podRun) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur, ok := p.pods[r.key]; ok && cur == r {
		delete(p.pods, r.key)
	}
}

func (p *provider) GetPod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	p.mu.Lock()
	r, ok := p.pods[podKey(namespace, name)]
	p.mu.Unlock()
	if !ok {
		return nil, errdefs.NotFoundf("pod %s/%s is not running on this node", namespace, name)
	}
	return r.snapshot(false), nil
}

func (p *provider) GetPodStatus(ctx context.Context, namespace, name string) (*corev1.PodStatus, error) {
	pod, err := p.GetPod(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	return &pod.Status, nil
}

func (p *provider) GetPods(ctx context.Context) ([]*corev1.Pod, error) {
	p.mu.Lock()
	runs := make([]*podRun, 0, len(p.pods))
	for _, r := range p.pods {
		runs = append(runs, r)
	}
	p.mu.Unlock()
	out := make([]*corev1.Pod, 0, len(runs))
	for _, r := range runs {
		out = append(out, r.snapshot(false))
	}
	return out, nil
}

// NotifyPods registers the callback that receives every status change.
func (p *provider) NotifyPods(ctx context.Context, f func(*corev1.Pod)) {
	p.mu.Lock()
	p.notify = f
	p.mu.Unlock()
}

// sendFor reports r's status unless r was replaced by a pod of the same name,
// whose status it must not overwrite.
func (p *provider) sendFor(r *podRun, pod *corev1.Pod) {
	p.mu.Lock()
	f := p.notify
	current := p.pods[r.key] == r
	p.mu.Unlock()
	if f != nil && current {
		f(pod)
	}
}

// shutdown stops every pod's processes when the node stops: SIGTERM, then
// SIGKILL after grace at most. Their pods are reported lost by the next
// start of the node.
func (p *provider) shutdown(grace time.Duration) {
	p.mu.Lock()
	runs := make([]*podRun, 0, len(p.pods))
	for _, r := range p.pods {
		runs = append(runs, r)
	}
	p.mu.Unlock()
	for _, r := range runs {
		r.stop(grace)
	}
	for _, r := range runs {
		<-r.done
	}
}

// GetContainerLogs serves `kubectl logs` (tail, limitBytes, previous and
// follow; timestamps are not recorded).
func (p *provider) GetContainerLogs(ctx context.Context, namespace, podName, containerName string, opts api.ContainerLogOpts) (io.ReadCloser, error) {
	p.mu.Lock()
	r, ok := p.pods[podKey(namespace, podName)]
	p.mu.Unlock()
	if !ok {
		return nil, errdefs.NotFoundf("pod %s/%s is not running on this node", namespace, podName)
	}
	c := r.container(containerName)
	if c == nil {
		return nil, errdefs.NotFoundf("container %q is not in pod %s/%s", containerName, namespace, podName)
	}
	path := c.logPath
	if opts.Previous {
		path = c.previousLogPath()
	}
	return openLog(ctx, path, opts, func() bool { return r.containerRunning(c) })
}

func (p *provider) RunInContainer(ctx context.Context, namespace, podName, containerName string, cmd []string, attach api.AttachIO) error {
	return errdefs.InvalidInput("mldata-node does not support exec into containers")
}

func (p *provider) AttachToContainer(ctx context.Context, namespace, podName, containerName string, attach api.AttachIO) error {
	return errdefs.InvalidInput("mldata-node does not support attaching to containers")
}

func (p *provider) GetStatsSummary(context.Context) (*statsv1alpha1.Summary, error) {
	return nil, errdefs.InvalidInput("mldata-node does not collect statistics")
}

func (p *provider) GetMetricsResource(context.Context) ([]*dto.MetricFamily, error) {
	return nil, errdefs.InvalidInput("mldata-node does not collect metrics")
}

func (p *provider) PortForward(ctx context.Context, namespace, pod string, port int32, stream io.ReadWriteCloser) error {
	return errdefs.InvalidInput("mldata-node has no pod network to forward ports to")
}

// cleanStale removes the volumes left by an earlier run of the node (its
// processes died with it), so that Secret files do not outlive their pods.
func (p *provider) cleanStale() {
	dirs, _ := filepath.Glob(filepath.Join(p.root, "pods", "*", "volumes"))
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			p.log.Warn("removing stale volumes", "dir", d, "err", err)
		}
	}
}
