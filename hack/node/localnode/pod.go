package localnode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mldata-io/mldata/hack/node/execstep"
)

// Restart back-off as the kubelet's: 10 s doubling to 5 min.
var (
	initialBackoff = 10 * time.Second
	maxBackoff     = 5 * time.Minute
	// configRetry is how often a container waiting for a missing Secret or
	// ConfigMap, or a volume that cannot be set up, is tried again.
	configRetry = 2 * time.Second
)

// podRun is one pod on the node: its directories, its containers and the
// goroutine that runs them.
type podRun struct {
	p      *provider
	key    string
	dir    string // <root>/pods/<ns>_<name>_<uid>: pid files, volumes, termination messages
	logDir string // <log-dir>/<ns>_<name>_<uid>: <container>.log

	ctx    context.Context // cancelled when the pod must stop: no more starts or retries
	cancel context.CancelFunc
	done   chan struct{} // closed when nothing runs any more
	dirty  chan struct{}

	mu           sync.Mutex
	pod          *corev1.Pod
	startTime    metav1.Time
	init         []*containerRun
	regular      []*containerRun
	sandboxReady bool
	terminal     bool // nothing will run any more
	deleted      bool // deleted through the API: directories go when processes end
	forceFailed  bool
	reason       string
	message      string
	last         *corev1.PodStatus
	killTimer    *time.Timer
}

type containerRun struct {
	spec    corev1.Container
	init    bool
	logPath string
	msgPath string
	status  corev1.ContainerStatus // guarded by podRun.mu
	proc    *os.Process            // the running process, guarded by podRun.mu
	runs    int
}

func (c *containerRun) previousLogPath() string {
	return c.logPath[:len(c.logPath)-len(".log")] + ".previous.log"
}

func newPodRun(p *provider, pod *corev1.Pod) *podRun {
	name := p.podDirName(pod)
	ctx, cancel := context.WithCancel(context.Background())
	r := &podRun{
		p:         p,
		key:       podKey(pod.Namespace, pod.Name),
		dir:       filepath.Join(p.root, "pods", name),
		logDir:    filepath.Join(p.logDir, name),
		ctx:       ctx,
		cancel:    cancel,
		done:      make(chan struct{}),
		dirty:     make(chan struct{}, 1),
		pod:       pod,
		startTime: metav1.NewTime(time.Now().Truncate(time.Second)),
	}
	if pod.Status.StartTime != nil {
		r.startTime = *pod.Status.StartTime
	}
	waitReason := reasonContainerCreating
	if len(pod.Spec.InitContainers) > 0 {
		waitReason = reasonPodInitializing
	}
	add := func(c corev1.Container, init bool, reason string) *containerRun {
		return &containerRun{
			spec:    c,
			init:    init,
			logPath: filepath.Join(r.logDir, c.Name+".log"),
			msgPath: filepath.Join(r.dir, "containers", c.Name, "termination-log"),
			status: corev1.ContainerStatus{
				Name:  c.Name,
				Image: c.Image,
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}},
			},
		}
	}
	for _, c := range pod.Spec.InitContainers {
		r.init = append(r.init, add(c, true, reasonPodInitializing))
	}
	for _, c := range pod.Spec.Containers {
		r.regular = append(r.regular, add(c, false, waitReason))
	}
	return r
}

func (r *podRun) uid() types.UID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pod.UID
}

func (r *podRun) update(pod *corev1.Pod) {
	r.mu.Lock()
	r.pod = pod
	r.mu.Unlock()
	r.changed()
}

func (r *podRun) container(name string) *containerRun {
	for _, c := range append(append([]*containerRun(nil), r.init...), r.regular...) {
		if c.spec.Name == name {
			return c
		}
	}
	return nil
}

func (r *podRun) containerRunning(c *containerRun) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return c.proc != nil
}

// changed asks the notifier to report the current status.
func (r *podRun) changed() {
	select {
	case r.dirty <- struct{}{}:
	default:
	}
}

func (r *podRun) event(eventType, reason, format string, args ...any) {
	if r.p.recorder == nil {
		return
	}
	r.mu.Lock()
	pod := r.pod
	r.mu.Unlock()
	r.p.recorder.Eventf(pod, eventType, reason, format, args...)
}

// snapshot returns the pod with its current status. With record, the status
// becomes the one whose condition transition times later statuses keep.
func (r *podRun) snapshot(record bool) *corev1.Pod {
	r.mu.Lock()
	defer r.mu.Unlock()
	pod := r.pod
	// Report on top of the newest metadata (the Job controller's finalizer
	// may have gone since the pod was created), not a stale copy.
	if r.p.lister != nil {
		if cur, err := r.p.lister.Pods(pod.Namespace).Get(pod.Name); err == nil && cur.UID == pod.UID {
			pod = cur
		}
	}
	out := pod.DeepCopy()
	st := podState{
		Pod:          pod,
		Previous:     r.last,
		HostIP:       r.p.hostIP,
		PodIP:        r.p.podIP,
		StartTime:    &r.startTime,
		SandboxReady: r.sandboxReady,
		Terminal:     r.terminal,
		Reason:       r.reason,
		Message:      r.message,
		ForceFailed:  r.forceFailed,
		Now:          time.Now(),
		ObservedGen:  pod.Generation,
	}
	for _, c := range r.init {
		st.InitStatuses = append(st.InitStatuses, *c.status.DeepCopy())
	}
	for _, c := range r.regular {
		st.Statuses = append(st.Statuses, *c.status.DeepCopy())
	}
	if len(pod.Spec.ReadinessGates) > 0 {
		st.ReadinessGates = map[corev1.PodConditionType]bool{}
		for _, c := range pod.Status.Conditions {
			st.ReadinessGates[c.Type] = c.Status == corev1.ConditionTrue
		}
	}
	out.Status = podStatus(st)
	if record {
		r.last = out.Status.DeepCopy()
	}
	return out
}

// notifier reports the status whenever it changed, one report at a time so
// that an older status never overtakes a newer one.
func (r *podRun) notifier(stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	for {
		select {
		case <-r.dirty:
			r.p.sendFor(r, r.snapshot(true))
		case <-stop:
			return
		}
	}
}

// run drives the pod from admission to its end.
func (r *podRun) run() {
	stop, stopped := make(chan struct{}), make(chan struct{})
	go r.notifier(stop, stopped)
	defer func() {
		r.mu.Lock()
		r.terminal = true
		if r.killTimer != nil {
			r.killTimer.Stop()
		}
		deleted := r.deleted
		r.mu.Unlock()
		if r.ctx.Err() != nil {
			r.markUnstarted()
		}
		// Secret and ConfigMap files do not outlive the pod's processes.
		if err := os.RemoveAll(filepath.Join(r.dir, "volumes")); err != nil {
			r.p.log.Warn("removing volumes", "pod", r.key, "err", err)
		}
		close(stop)
		<-stopped
		if r.ctx.Err() == nil || deleted {
			// The final status; not when the node itself is shutting down.
			r.p.sendFor(r, r.snapshot(true))
		}
		close(r.done)
	}()
	r.changed()

	pod := r.currentPod()
	if err := r.admit(pod); err != nil {
		r.reject("UnexpectedAdmissionError", err.Error())
		return
	}
	if r.lostEarlier(pod) {
		return
	}
	if err := os.MkdirAll(filepath.Join(r.dir, "volumes"), 0o700); err != nil {
		r.reject("UnexpectedAdmissionError", fmt.Sprintf("creating the pod directory: %v", err))
		return
	}
	if err := os.MkdirAll(r.logDir, 0o755); err != nil {
		r.reject("UnexpectedAdmissionError", fmt.Sprintf("creating the log directory: %v", err))
		return
	}
	if d := pod.Spec.ActiveDeadlineSeconds; d != nil {
		left := time.Until(r.startTime.Add(time.Duration(*d) * time.Second))
		t := time.AfterFunc(left, r.deadlineExceeded)
		defer t.Stop()
	}

	volumes, ok := r.setUpVolumes(pod)
	if !ok {
		return
	}
	for _, c := range r.init {
		if !r.runWithRestarts(c, volumes) {
			return
		}
	}
	var wg sync.WaitGroup
	for _, c := range r.regular {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.runWithRestarts(c, volumes)
		}()
	}
	wg.Wait()
}

func (r *podRun) currentPod() *corev1.Pod {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pod
}

// admit rejects what this node cannot run at all.
func (r *podRun) admit(pod *corev1.Pod) error {
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			return fmt.Errorf("init container %q is a sidecar (restartPolicy: Always), which mldata-node does not run", c.Name)
		}
	}
	if len(pod.Spec.EphemeralContainers) > 0 {
		return errors.New("mldata-node does not run ephemeral containers")
	}
	return unsupportedVolumes(pod)
}

// reject fails the pod before anything ran, as kubelet admission does.
func (r *podRun) reject(reason, message string) {
	r.mu.Lock()
	r.forceFailed, r.terminal, r.reason, r.message = true, true, reason, message
	r.mu.Unlock()
	r.event(corev1.EventTypeWarning, reason, "%s", message)
	r.p.log.Warn("pod rejected", "pod", r.key, "reason", reason, "message", message)
}

// lostEarlier reports pods whose containers an earlier run of the node
// started: their processes died with it, and with restartPolicy Never they
// end as the kubelet ends containers it cannot find.
func (r *podRun) lostEarlier(pod *corev1.Pod) bool {
	if pod.Spec.RestartPolicy != corev1.RestartPolicyNever || !anyRegularStarted(&pod.Spec, pod.Status.ContainerStatuses) &&
		!anyStarted(pod.Status.InitContainerStatuses) {
		return false
	}
	now := metav1.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range append(append([]*containerRun(nil), r.init...), r.regular...) {
		old, ok := findStatus(append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...), c.spec.Name)
		if ok && old.State.Terminated != nil {
			c.status = old
			continue
		}
		c.status.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: exitCodeKilled, Reason: reasonStatusUnknown, Message: messageContainerNotFound,
			StartedAt: now, FinishedAt: now,
		}}
		if ok {
			c.status.RestartCount = old.RestartCount
		}
	}
	r.terminal = true
	r.p.log.Warn("pod was running when the node stopped; its containers are lost", "pod", r.key)
	return true
}

func anyStarted(statuses []corev1.ContainerStatus) bool {
	for _, s := range statuses {
		if s.State.Running != nil || s.State.Terminated != nil {
			return true
		}
	}
	return false
}

// setUpVolumes writes the volumes, waiting while a Secret or ConfigMap is
// missing; ok is false when the pod was stopped meanwhile.
func (r *podRun) setUpVolumes(pod *corev1.Pod) (map[string]string, bool) {
	lastMsg := ""
	for {
		paths, err := prepareVolumes(r.ctx, r.p.objs, pod, filepath.Join(r.dir, "volumes"), r.fields())
		if err == nil {
			r.mu.Lock()
			r.sandboxReady = true
			r.mu.Unlock()
			r.changed()
			return paths, true
		}
		if msg := err.Error(); msg != lastMsg {
			lastMsg = msg
			r.event(corev1.EventTypeWarning, "FailedMount", "%s", msg)
			r.p.log.Info("waiting for volumes", "pod", r.key, "err", msg)
		}
		if !r.sleep(configRetry) {
			return nil, false
		}
	}
}

func (r *podRun) fields() podFields {
	return podFields{HostIP: r.p.hostIP, PodIP: r.p.podIP, Allocatable: r.p.allocatable}
}

// sleep waits d unless the pod is stopped first.
func (r *podRun) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.ctx.Done():
		return false
	}
}

// runWithRestarts runs a container until the restart policy says it is done;
// it reports whether it ended successfully.
func (r *podRun) runWithRestarts(c *containerRun, volumes map[string]string) bool {
	backoff := initialBackoff
	policy := r.currentPod().Spec.RestartPolicy
	for {
		exit, ran := r.runOnce(c, volumes)
		if !ran || r.ctx.Err() != nil {
			return false
		}
		restart := policy == corev1.RestartPolicyAlways || (policy == corev1.RestartPolicyOnFailure && exit != 0)
		if c.init {
			restart = exit != 0 && policy != corev1.RestartPolicyNever
		}
		if !restart {
			return exit == 0
		}
		r.mu.Lock()
		c.status.LastTerminationState = c.status.State
		c.status.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
			Reason:  reasonCrashLoop,
			Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", backoff, c.spec.Name, r.pod.Name, r.pod.Namespace, r.pod.UID),
		}}
		r.mu.Unlock()
		r.changed()
		r.event(corev1.EventTypeWarning, "BackOff", "Back-off restarting failed container %s in pod %s", c.spec.Name, r.pod.Name)
		if !r.sleep(backoff) {
			return false
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// runOnce starts the container once and waits for it to end. ran is false
// when the pod was stopped before the container started.
func (r *podRun) runOnce(c *containerRun, volumes map[string]string) (exit int32, ran bool) {
	var spec *execstep.Spec
	lastMsg := ""
	for {
		if r.ctx.Err() != nil {
			return 0, false
		}
		s, err := r.containerSpec(c, volumes)
		if err == nil {
			spec = s
			break
		}
		var imgErr *imageError
		if errors.As(err, &imgErr) {
			now := time.Now()
			r.finish(c, exitCodeNotStarted, reasonErrImagePull, err.Error(), now, now, "")
			r.event(corev1.EventTypeWarning, "Failed", "Error: %s: %s", reasonErrImagePull, err.Error())
			return exitCodeNotStarted, true
		}
		msg := err.Error()
		r.mu.Lock()
		if r.ctx.Err() == nil {
			c.status.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reasonConfigError, Message: msg}}
		}
		r.mu.Unlock()
		r.changed()
		if msg != lastMsg {
			lastMsg = msg
			r.event(corev1.EventTypeWarning, "Failed", "Error: %s", msg)
			r.p.log.Info("container waits for its configuration", "pod", r.key, "container", c.spec.Name, "err", msg)
		}
		if !r.sleep(configRetry) {
			return 0, false
		}
	}
	entry, _ := r.p.images.Resolve(c.spec.Image)
	return r.start(c, spec, entry)
}

type imageError struct{ err error }

func (e *imageError) Error() string { return e.err.Error() }

// containerSpec resolves everything the exec step needs: program, argv,
// environment, mounts and user.
func (r *podRun) containerSpec(c *containerRun, volumes map[string]string) (*execstep.Spec, error) {
	pod := r.currentPod()
	entry, err := r.p.images.Resolve(c.spec.Image)
	if err != nil {
		return nil, &imageError{err}
	}
	env, err := resolveEnv(r.ctx, r.p.objs, pod, &c.spec, r.fields())
	if err != nil {
		return nil, err
	}
	cands := imageCandidates(c.spec.Image)
	path, argv := commandLine(&c.spec, entry, cands[len(cands)-1], env)
	spec := &execstep.Spec{
		Path:     path,
		Argv:     argv,
		Env:      processEnv(pod, env),
		Dir:      c.spec.WorkingDir,
		Hostname: hostname(pod),
	}
	for _, m := range c.spec.VolumeMounts {
		src, ok := volumes[m.Name]
		if !ok {
			return nil, configErrorf("volumeMount %q names no volume of the pod", m.Name)
		}
		if sub := expandSubPath(m, env); sub != "" {
			src, err = subPath(src, sub)
			if err != nil {
				return nil, err
			}
		}
		spec.Mounts = append(spec.Mounts, execstep.Mount{Source: src, Target: m.MountPath, ReadOnly: m.ReadOnly})
	}
	msgTarget := c.spec.TerminationMessagePath
	if msgTarget == "" {
		msgTarget = corev1.TerminationMessagePathDefault
	}
	spec.Mounts = append(spec.Mounts, execstep.Mount{Source: c.msgPath, Target: msgTarget})
	applySecurityContext(spec, pod, &c.spec)
	return spec, nil
}

func hostname(pod *corev1.Pod) string {
	h := pod.Name
	if pod.Spec.Hostname != "" {
		h = pod.Spec.Hostname
	}
	if len(h) > 63 {
		h = h[:63]
	}
	return h
}

func expandSubPath(m corev1.VolumeMount, env []envVar) string {
	if m.SubPathExpr != "" {
		return expand(m.SubPathExpr, envLookup(env))
	}
	return m.SubPath
}

// subPath is the host path of a volume's sub-path, created as a directory
// when missing (as the kubelet does); it must stay inside the volume.
func subPath(volume, sub string) (string, error) {
	if filepath.IsAbs(sub) {
		return "", configErrorf("subPath %q must be relative", sub)
	}
	p := filepath.Join(volume, sub)
	if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(p, 0o777); err != nil {
			return "", configErrorf("creating subPath %q: %v", sub, err)
		}
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", configErrorf("subPath %q: %v", sub, err)
	}
	base, err := filepath.EvalSymlinks(volume)
	if err != nil {
		return "", configErrorf("subPath %q: %v", sub, err)
	}
	if real != base && !isUnder(real, base) {
		return "", configErrorf("subPath %q points outside its volume", sub)
	}
	return real, nil
}

func isUnder(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !filepath.IsAbs(rel) && (len(rel) < 3 || rel[:3] != "../")
}

// ImageUser is the user a runAsNonRoot container without runAsUser runs as:
// the USER of the mldata image (gcr.io/distroless/static:nonroot).
const ImageUser = 65532

// applySecurityContext keeps what this node can do: the user and groups,
// a read-only root and no_new_privs. Capabilities and seccomp are not
// enforced; processes run as root unless runAsUser or runAsNonRoot says
// otherwise.
func applySecurityContext(spec *execstep.Spec, pod *corev1.Pod, c *corev1.Container) {
	psc := pod.Spec.SecurityContext
	csc := c.SecurityContext
	if psc != nil {
		spec.UID, spec.GID = psc.RunAsUser, psc.RunAsGroup
		for _, g := range psc.SupplementalGroups {
			spec.Groups = append(spec.Groups, int(g))
		}
		if psc.FSGroup != nil {
			spec.Groups = append(spec.Groups, int(*psc.FSGroup))
		}
	}
	if csc != nil {
		if csc.RunAsUser != nil {
			spec.UID = csc.RunAsUser
		}
		if csc.RunAsGroup != nil {
			spec.GID = csc.RunAsGroup
		}
		spec.ReadOnlyRoot = csc.ReadOnlyRootFilesystem != nil && *csc.ReadOnlyRootFilesystem
		spec.NoNewPrivs = csc.AllowPrivilegeEscalation != nil && !*csc.AllowPrivilegeEscalation
	}
	if spec.UID == nil && runAsNonRoot(psc, csc) {
		// The kubelet takes the image's USER; the executables this node
		// maps images to have no image, so they run as the mldata image's
		// user (distroless nonroot).
		uid, gid := int64(ImageUser), int64(ImageUser)
		spec.UID = &uid
		if spec.GID == nil {
			spec.GID = &gid
		}
	}
	if spec.UID != nil && spec.GID == nil {
		// A runtime without the image's /etc/passwd entry uses group 0.
		zero := int64(0)
		spec.GID = &zero
	}
}

func runAsNonRoot(psc *corev1.PodSecurityContext, csc *corev1.SecurityContext) bool {
	if csc != nil && csc.RunAsNonRoot != nil {
		return *csc.RunAsNonRoot
	}
	return psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
}

// start runs the exec step for c and waits for the process to end.
func (r *podRun) start(c *containerRun, spec *execstep.Spec, imageID string) (int32, bool) {
	if err := os.MkdirAll(filepath.Dir(c.msgPath), 0o755); err != nil {
		return r.startFailed(c, fmt.Errorf("creating the termination-message file: %w", err))
	}
	// Writable by any user the container may run as, like the kubelet's.
	if err := os.WriteFile(c.msgPath, nil, 0o666); err != nil {
		return r.startFailed(c, fmt.Errorf("creating the termination-message file: %w", err))
	}
	if err := os.Chmod(c.msgPath, 0o666); err != nil {
		return r.startFailed(c, err)
	}
	if c.runs > 0 {
		_ = os.Rename(c.logPath, c.previousLogPath())
	}
	logFile, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		return r.startFailed(c, fmt.Errorf("opening the log file: %w", err))
	}

	r.mu.Lock()
	if r.ctx.Err() != nil {
		r.mu.Unlock()
		logFile.Close()
		return 0, false
	}
	r.mu.Unlock()

	started := time.Now()
	proc, startErr := startProcess(r.p.execBinary, r.key+"/"+c.spec.Name, spec, logFile)
	logFile.Close()
	c.runs++
	if startErr != nil {
		return r.startFailed(c, startErr)
	}
	containerID := "process://" + strconv.Itoa(proc.Pid)

	r.mu.Lock()
	c.proc = proc
	if c.runs > 1 {
		c.status.RestartCount++
	}
	c.status.ContainerID = containerID
	c.status.ImageID = imageID
	c.status.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(started)}}
	stopping := r.ctx.Err() != nil
	r.mu.Unlock()
	if stopping {
		// Deleted while it started: it gets the same signal as the others.
		_ = syscall.Kill(-proc.Pid, syscall.SIGTERM)
	}
	pid := []byte(strconv.Itoa(proc.Pid) + "\n")
	_ = os.WriteFile(filepath.Join(r.dir, c.spec.Name+".pid"), pid, 0o644)
	if !c.init {
		_ = os.WriteFile(filepath.Join(r.dir, "pid"), pid, 0o644)
	}
	r.changed()
	r.event(corev1.EventTypeNormal, "Started", "Started container %s", c.spec.Name)
	r.p.log.Info("container started", "pod", r.key, "container", c.spec.Name, "pid", proc.Pid)

	exit := waitProcess(proc)
	finished := time.Now()
	msg := terminationMessage(c.msgPath, c.logPath, c.spec.TerminationMessagePolicy, exit)
	r.finish(c, exit, "", msg, started, finished, containerID)
	r.p.log.Info("container exited", "pod", r.key, "container", c.spec.Name, "exitCode", exit)
	return exit, true
}

// startFailed records a container that could not be started, as a runtime's
// StartError with exit code 128.
func (r *podRun) startFailed(c *containerRun, err error) (int32, bool) {
	now := time.Now()
	r.finish(c, exitCodeNotStarted, reasonStartError, err.Error(), now, now, "")
	r.event(corev1.EventTypeWarning, "Failed", "Error: %s", err.Error())
	r.p.log.Warn("container did not start", "pod", r.key, "container", c.spec.Name, "err", err)
	return exitCodeNotStarted, true
}

func (r *podRun) finish(c *containerRun, exit int32, reason, message string, started, finished time.Time, containerID string) {
	t := terminatedState(exit, started, finished, message, containerID)
	if reason != "" {
		t.Reason = reason
	}
	r.mu.Lock()
	c.proc = nil
	c.status.State = corev1.ContainerState{Terminated: t}
	r.mu.Unlock()
	r.changed()
}

// signal sends sig to the process group of every running container.
func (r *podRun) signal(sig syscall.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range append(append([]*containerRun(nil), r.init...), r.regular...) {
		if c.proc != nil {
			_ = syscall.Kill(-c.proc.Pid, sig)
		}
	}
}

// stop ends the pod's processes: SIGTERM now, SIGKILL after grace; no
// container starts again.
func (r *podRun) stop(grace time.Duration) {
	r.cancel()
	r.mu.Lock()
	first := r.killTimer == nil
	if first {
		r.killTimer = time.AfterFunc(grace, func() { r.signal(syscall.SIGKILL) })
	} else if grace == 0 {
		r.killTimer.Reset(0)
	}
	r.mu.Unlock()
	if first {
		r.signal(syscall.SIGTERM)
	}
}

// delete stops the pod for its deletion through the API; its directories go
// once its processes are gone, and then the node forgets it.
func (r *podRun) delete(grace time.Duration) {
	r.mu.Lock()
	first := !r.deleted
	r.deleted = true
	r.mu.Unlock()
	select {
	case <-r.done:
	default:
		r.event(corev1.EventTypeNormal, "Killing", "Stopping pod %s", r.key)
		r.stop(grace)
	}
	if first {
		go func() {
			<-r.done
			r.removeDirs()
			r.p.forget(r)
		}()
	}
}

// terminate stops a pod without waiting.
func (r *podRun) terminate(grace time.Duration) {
	r.delete(grace)
}

// markUnstarted ends the containers of a stopped pod that were not running
// (waiting for their configuration, or backing off), as the kubelet reports
// them.
func (r *podRun) markUnstarted() {
	r.mu.Lock()
	now := metav1.Now()
	for _, c := range append(append([]*containerRun(nil), r.init...), r.regular...) {
		if c.proc == nil && c.status.State.Waiting != nil {
			if t := c.status.LastTerminationState.Terminated; t != nil && c.status.State.Waiting.Reason == reasonCrashLoop {
				c.status.State = corev1.ContainerState{Terminated: t.DeepCopy()}
				c.status.LastTerminationState = corev1.ContainerState{}
				continue
			}
			c.status.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: exitCodeKilled, Reason: reasonStatusUnknown, Message: messageContainerNotFound,
				StartedAt: now, FinishedAt: now,
			}}
		}
	}
	r.mu.Unlock()
}

func (r *podRun) deadlineExceeded() {
	r.mu.Lock()
	if r.terminal {
		r.mu.Unlock()
		return
	}
	r.forceFailed, r.reason, r.message = true, reasonDeadlineExceeded, messageDeadlineExceeded
	grace := time.Duration(defaultGracePeriodSeconds) * time.Second
	if g := r.pod.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	r.mu.Unlock()
	r.event(corev1.EventTypeWarning, reasonDeadlineExceeded, "%s", messageDeadlineExceeded)
	r.stop(grace)
}

// removeDirs removes the pod's directories after its deletion; logs kept
// in a separate --log-dir stay for whoever collects them.
func (r *podRun) removeDirs() {
	if err := os.RemoveAll(r.dir); err != nil {
		r.p.log.Warn("removing the pod directory", "pod", r.key, "err", err)
	}
	if r.logDir != r.dir && r.p.logDir == filepath.Join(r.p.root, "pods") {
		_ = os.RemoveAll(r.logDir)
	}
}
