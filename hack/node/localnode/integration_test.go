package localnode

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/mldata-io/mldata/hack/node/execstep"
)

// The integration tests share one control plane (etcd and kube-apiserver
// from bin/k8s, through envtest) and one node running in this process; each
// test works in its own namespace.
const testNode = "mldata-local"

var (
	client   kubernetes.Interface
	nodeRoot string
	envSkip  string
)

func TestMain(m *testing.M) {
	// The node re-executes this test binary as each container's exec step.
	if len(os.Args) > 1 && os.Args[1] == execstep.Arg {
		execstep.Main()
	}
	flag.Parse()
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets, _ = filepath.Abs(filepath.Join("..", "..", "..", "bin", "k8s"))
	}
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, b)); err != nil {
			if os.Getenv("CI") == "true" {
				fmt.Fprintf(os.Stderr, "no %s in %s (run hack/controlplane/build.sh)\n", b, assets)
				return 1
			}
			envSkip = fmt.Sprintf("no %s in %s (run hack/controlplane/build.sh, or set KUBEBUILDER_ASSETS)", b, assets)
			return m.Run()
		}
	}
	if os.Geteuid() != 0 {
		envSkip = "the node needs root to create mount namespaces"
		return m.Run()
	}
	// Fast retries keep the tests short; the behaviour is the same.
	initialBackoff, configRetry = time.Second, 300*time.Millisecond

	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting the control plane: %v\n", err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	if client, err = kubernetes.NewForConfig(cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if nodeRoot, err = os.MkdirTemp("", "mldata-node-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(nodeRoot)
	port, err := freePort()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelInfo
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{
			Client:        client,
			NodeName:      testNode,
			Root:          nodeRoot,
			Images:        Images{"shell": "/bin/sh"},
			ListenAddress: "127.0.0.1:" + strconv.Itoa(port),
			Log:           slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "node:", err)
		}
	}()
	if err := waitNodeReady(done); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitNodeReady(done chan error) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			return fmt.Errorf("node stopped before it was ready: %v", err)
		default:
		}
		n, err := client.CoreV1().Nodes().Get(context.Background(), testNode, metav1.GetOptions{})
		if err == nil {
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					return nil
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("node did not become Ready within 60s")
}

func needEnv(t *testing.T) {
	t.Helper()
	if envSkip != "" {
		t.Skip(envSkip)
	}
}

func newNamespace(t *testing.T) string {
	t.Helper()
	ns, err := client.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "node-test-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// shellPod is a pod on the node whose container runs script with /bin/sh,
// through the image mapping shell → /bin/sh.
func shellPod(ns, name, script string) *corev1.Pod {
	grace := int64(5)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PodSpec{
			NodeName:                      testNode,
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{
				Name:  "main",
				Image: "registry.example.com/tools/shell:v1",
				Args:  []string{"-c", script},
			}},
		},
	}
}

func createPod(t *testing.T, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	created, err := client.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return created
}

// waitPod polls the pod until ok accepts it, and fails the test with the
// last state seen after timeout.
func waitPod(t *testing.T, ns, name string, timeout time.Duration, what string, ok func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var last *corev1.Pod
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		p, err := client.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			last = p
			if ok(p) {
				return p
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last != nil {
		t.Fatalf("pod %s/%s: not %s after %s; phase %s, status %+v", ns, name, what, timeout, last.Status.Phase, last.Status.ContainerStatuses)
	}
	t.Fatalf("pod %s/%s: not %s after %s (never read)", ns, name, what, timeout)
	return nil
}

func terminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

func mainState(t *testing.T, p *corev1.Pod) corev1.ContainerStatus {
	t.Helper()
	for _, s := range p.Status.ContainerStatuses {
		if s.Name == "main" {
			return s
		}
	}
	t.Fatalf("pod %s has no status for container main: %+v", p.Name, p.Status)
	return corev1.ContainerStatus{}
}

func podDir(p *corev1.Pod) string {
	return filepath.Join(nodeRoot, "pods", fmt.Sprintf("%s_%s_%s", p.Namespace, p.Name, p.UID))
}

func waitGone(t *testing.T, path string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s still exists after %s", path, timeout)
}

func podLogs(t *testing.T, ns, name string) string {
	t.Helper()
	rc, err := client.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{Container: "main"}).Stream(context.Background())
	if err != nil {
		t.Fatalf("logs of %s/%s through the API server: %v", ns, name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNodeRegistration(t *testing.T) {
	needEnv(t)
	ctx := context.Background()
	n, err := client.CoreV1().Nodes().Get(ctx, testNode, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Labels[corev1.LabelOSStable] != "linux" || n.Labels[corev1.LabelHostname] != testNode {
		t.Errorf("labels = %v", n.Labels)
	}
	// The API server's admission taints every new node not-ready; the node
	// lifecycle controller (not running here) removes it once the node is
	// Ready. The node itself must add no taint.
	for _, taint := range n.Spec.Taints {
		if taint.Key != corev1.TaintNodeNotReady {
			t.Errorf("taint %v, want none so that plain Jobs schedule here", taint)
		}
	}
	alloc := n.Status.Allocatable
	if cpu := alloc.Cpu().Value(); cpu != int64(runtime.NumCPU()) {
		t.Errorf("allocatable cpu = %d, want %d", cpu, runtime.NumCPU())
	}
	if pods := alloc.Pods().Value(); pods != 110 {
		t.Errorf("allocatable pods = %d, want 110", pods)
	}
	mem, err := memTotal()
	if err != nil {
		t.Fatal(err)
	}
	if got := alloc.Memory().Value(); got != mem {
		t.Errorf("allocatable memory = %d, want MemTotal %d", got, mem)
	}
	if len(n.Status.Addresses) != 1 || n.Status.Addresses[0].Address != "127.0.0.1" {
		t.Errorf("addresses = %v", n.Status.Addresses)
	}
	// The lease controller creates the lease on its own goroutine once the
	// node is registered, so it may come a moment after the node is Ready.
	var leaseErr error
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, leaseErr = client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, testNode, metav1.GetOptions{})
		if leaseErr == nil || time.Now().After(deadline) {
			break
		}
	}
	if leaseErr != nil {
		t.Errorf("node lease after 30 s: %v", leaseErr)
	}
}

// A pod with an emptyDir, a Secret as envFrom and as a volume (whole and by
// subPath), a read-only root, downward-API env and $(VAR) expansion ends
// Succeeded with its termination message; its mounts were private to it.
func TestPodSucceeds(t *testing.T) {
	needEnv(t)
	t.Parallel()
	ctx := context.Background()
	ns := newNamespace(t)
	if _, err := client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds"},
		Data:       map[string][]byte{"TOKEN": []byte("s3cr3t"), "USER": []byte("bob")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(t.TempDir(), "mnt")
	script := strings.ReplaceAll(`set -eu
test "$TOKEN" = s3cr3t
test "$(cat MNT/creds/TOKEN)" = s3cr3t
test "$(cat MNT/token)" = s3cr3t
echo data > MNT/scratch/out
test "$(cat MNT/scratch/out)" = data
if touch MNT/creds/new 2>/dev/null; then echo "the secret volume is writable"; exit 10; fi
if touch MNT/root-probe 2>/dev/null; then echo "the root file system is writable"; exit 11; fi
echo "to the log"
printf 'ok %s %s %s' "$POD_NAME" "$(cat /proc/sys/kernel/hostname)" "$GREETING" > /dev/termination-log
`, "MNT", mnt)
	pod := shellPod(ns, "works", script)
	c := &pod.Spec.Containers[0]
	c.EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}}}
	c.Env = []corev1.EnvVar{
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "GREETING", Value: "hello $(USER)"},
	}
	c.VolumeMounts = []corev1.VolumeMount{
		{Name: "scratch", MountPath: mnt + "/scratch"},
		{Name: "creds", MountPath: mnt + "/creds", ReadOnly: true},
		{Name: "creds", MountPath: mnt + "/token", SubPath: "TOKEN", ReadOnly: true},
	}
	readOnly := true
	c.SecurityContext = &corev1.SecurityContext{ReadOnlyRootFilesystem: &readOnly}
	pod.Spec.Volumes = []corev1.Volume{
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}},
	}
	created := createPod(t, pod)
	p := waitPod(t, ns, "works", 60*time.Second, "finished", terminal)
	cs := mainState(t, p)
	term := cs.State.Terminated
	if p.Status.Phase != corev1.PodSucceeded || term == nil || term.ExitCode != 0 || term.Reason != "Completed" {
		t.Fatalf("phase %s, state %+v; log:\n%s", p.Status.Phase, cs.State, podLogs(t, ns, "works"))
	}
	if want := "ok works works hello bob"; term.Message != want {
		t.Errorf("termination message = %q, want %q", term.Message, want)
	}
	if term.StartedAt.IsZero() || term.FinishedAt.Before(&term.StartedAt) {
		t.Errorf("startedAt %v, finishedAt %v", term.StartedAt, term.FinishedAt)
	}
	if p.Status.PodIP != "127.0.0.1" || p.Status.HostIP != "127.0.0.1" || p.Status.StartTime == nil {
		t.Errorf("podIP %q hostIP %q startTime %v", p.Status.PodIP, p.Status.HostIP, p.Status.StartTime)
	}
	wantConds := map[corev1.PodConditionType]string{
		corev1.PodScheduled:    "True/",
		corev1.PodInitialized:  "True/",
		corev1.PodReady:        "False/PodCompleted",
		corev1.ContainersReady: "False/PodCompleted",
	}
	for _, cond := range p.Status.Conditions {
		if want, ok := wantConds[cond.Type]; ok {
			if got := string(cond.Status) + "/" + cond.Reason; got != want {
				t.Errorf("condition %s = %s, want %s", cond.Type, got, want)
			}
			delete(wantConds, cond.Type)
		}
	}
	if len(wantConds) > 0 {
		t.Errorf("missing conditions %v in %+v", wantConds, p.Status.Conditions)
	}
	if logs := podLogs(t, ns, "works"); logs != "to the log\n" {
		t.Errorf("logs through the API server = %q, want %q", logs, "to the log\n")
	}
	// The emptyDir's file was written through the mount, which the host
	// never saw; the volumes (with the Secret's files) are gone.
	if _, err := os.Stat(filepath.Join(mnt, "scratch", "out")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the host sees the container's mount: stat %s/scratch/out: %v", mnt, err)
	}
	if _, err := os.Stat(filepath.Join(mnt, "root-probe")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the read-only root was written: %v", err)
	}
	waitGone(t, filepath.Join(podDir(created), "volumes"), 10*time.Second)
}

// A failing command ends Failed with its exit code; with
// FallbackToLogsOnError the log's tail is the message.
func TestPodFails(t *testing.T) {
	needEnv(t)
	t.Parallel()
	ns := newNamespace(t)
	pod := shellPod(ns, "fails", `echo starting; echo "boom: bucket not found" >&2; exit 3`)
	pod.Spec.Containers[0].TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
	created := createPod(t, pod)
	p := waitPod(t, ns, "fails", 60*time.Second, "finished", terminal)
	term := mainState(t, p).State.Terminated
	if p.Status.Phase != corev1.PodFailed || term == nil || term.ExitCode != 3 || term.Reason != "Error" {
		t.Fatalf("phase %s, terminated %+v", p.Status.Phase, term)
	}
	if want := "starting\nboom: bucket not found\n"; term.Message != want {
		t.Errorf("message = %q, want %q", term.Message, want)
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady && (cond.Status != corev1.ConditionFalse || cond.Reason != "PodFailed") {
			t.Errorf("Ready = %+v", cond)
		}
	}
	// A finished pod keeps its log and pid file until it is deleted.
	if _, err := os.Stat(filepath.Join(podDir(created), "main.log")); err != nil {
		t.Errorf("log of the finished pod: %v", err)
	}
	if err := client.CoreV1().Pods(ns).Delete(context.Background(), "fails", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, podDir(created), 30*time.Second)
}

// kill -9 of the pod's process from outside is a failed container with exit
// code 137, as the Job controller must see it to retry; what the process
// started dies with it.
func TestPodKilledFromOutside(t *testing.T) {
	needEnv(t)
	t.Parallel()
	ns := newNamespace(t)
	created := createPod(t, shellPod(ns, "victim", `echo up; sleep 300; echo never`))
	waitPod(t, ns, "victim", 60*time.Second, "running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	data, err := os.ReadFile(filepath.Join(podDir(created), "pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("pid file %q: %v", data, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", pid, err)
	}
	p := waitPod(t, ns, "victim", 30*time.Second, "finished", terminal)
	term := mainState(t, p).State.Terminated
	if p.Status.Phase != corev1.PodFailed || term == nil || term.ExitCode != 137 || term.Reason != "Error" {
		t.Fatalf("phase %s, terminated %+v", p.Status.Phase, term)
	}
	// The sleep that the shell started was killed with it (it may linger
	// as a zombie until init reaps it).
	if left := liveInGroup(t, pid); len(left) > 0 {
		t.Errorf("processes still alive in the pod's process group %d: %v", pid, left)
	}
}

// liveInGroup lists the processes of process group pgid that are not zombies.
func liveInGroup(t *testing.T, pgid int) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces.
		rest := string(data[strings.LastIndexByte(string(data), ')')+2:])
		f := strings.Fields(rest)
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			out = append(out, e.Name()+" "+string(data[:strings.LastIndexByte(string(data), ')')+1]))
		}
	}
	return out
}

// A missing Secret makes the container wait with CreateContainerConfigError
// naming it; once the Secret exists the pod runs.
func TestMissingSecretWaits(t *testing.T) {
	needEnv(t)
	t.Parallel()
	ctx := context.Background()
	ns := newNamespace(t)
	pod := shellPod(ns, "patient", `printf '%s' "$LATER" > /dev/termination-log`)
	pod.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "later"}}}}
	createPod(t, pod)
	p := waitPod(t, ns, "patient", 60*time.Second, "waiting for its Secret", func(p *corev1.Pod) bool {
		for _, s := range p.Status.ContainerStatuses {
			if w := s.State.Waiting; w != nil && w.Reason == "CreateContainerConfigError" {
				return true
			}
		}
		return false
	})
	if w := mainState(t, p).State.Waiting; w.Message != `secret "later" not found` || p.Status.Phase != corev1.PodPending {
		t.Errorf("phase %s, waiting %+v", p.Status.Phase, w)
	}
	if _, err := client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "later"}, Data: map[string][]byte{"LATER": []byte("arrived")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p = waitPod(t, ns, "patient", 60*time.Second, "finished", terminal)
	if term := mainState(t, p).State.Terminated; p.Status.Phase != corev1.PodSucceeded || term.Message != "arrived" {
		t.Errorf("phase %s, terminated %+v", p.Status.Phase, term)
	}
}

func TestUnknownImage(t *testing.T) {
	needEnv(t)
	t.Parallel()
	ns := newNamespace(t)
	pod := shellPod(ns, "unknown", "true")
	pod.Spec.Containers[0].Image = "docker.io/library/busybox:1.36"
	createPod(t, pod)
	p := waitPod(t, ns, "unknown", 60*time.Second, "finished", terminal)
	term := mainState(t, p).State.Terminated
	if p.Status.Phase != corev1.PodFailed || term == nil || term.Reason != "ErrImagePull" ||
		!strings.Contains(term.Message, `image "docker.io/library/busybox:1.36" is not available`) ||
		!strings.Contains(term.Message, "--image busybox=/path/to/executable (mapped images: shell)") {
		t.Fatalf("phase %s, terminated %+v", p.Status.Phase, term)
	}
}

// Deleting a running pod sends SIGTERM and, after the grace period, SIGKILL;
// the pod then leaves the API and its directory goes.
func TestDeleteRunningPod(t *testing.T) {
	needEnv(t)
	t.Parallel()
	ctx := context.Background()
	ns := newNamespace(t)
	marker := filepath.Join(t.TempDir(), "got-term")
	polite := createPod(t, shellPod(ns, "polite", `trap 'echo got TERM > `+marker+`; exit 0' TERM; echo up; while :; do sleep 0.1; done`))
	stubborn := createPod(t, shellPod(ns, "stubborn", `trap '' TERM; echo up; while :; do sleep 0.1; done`))
	var pids []int
	for _, created := range []*corev1.Pod{polite, stubborn} {
		waitPod(t, ns, created.Name, 60*time.Second, "running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
		data, err := os.ReadFile(filepath.Join(podDir(created), "pid"))
		if err != nil {
			t.Fatal(err)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		pids = append(pids, pid)
	}
	grace := int64(2)
	start := time.Now()
	for _, name := range []string{"polite", "stubborn"} {
		if err := client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
			t.Fatal(err)
		}
	}
	for i, created := range []*corev1.Pod{polite, stubborn} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err := client.CoreV1().Pods(ns).Get(ctx, created.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("pod %s still in the API 30s after its deletion", created.Name)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err := syscall.Kill(pids[i], 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d of pod %s still alive after deletion: %v", pids[i], created.Name, err)
		}
		waitGone(t, podDir(created), 10*time.Second)
	}
	if data, err := os.ReadFile(marker); err != nil || string(data) != "got TERM\n" {
		t.Errorf("the polite pod did not handle SIGTERM: %q, %v", data, err)
	}
	// The stubborn process ignored SIGTERM: only SIGKILL after the grace
	// period ended it, so deletion took at least that long.
	if d := time.Since(start); d < time.Duration(grace)*time.Second {
		t.Errorf("deletion took %s, less than the grace period", d)
	}
}

// restartPolicy OnFailure restarts a failed container (as another user
// here, runAsUser 1000) until it succeeds; an init container runs first.
func TestOnFailureRestartsAsUser(t *testing.T) {
	needEnv(t)
	t.Parallel()
	ns := newNamespace(t)
	base := t.TempDir()
	// User 1000 must reach the mount point through the test's directories.
	for _, d := range []string{base, filepath.Dir(base)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(base, "work")
	pod := shellPod(ns, "retry", strings.ReplaceAll(`test -f DIR/init-ran || exit 20
if [ -f DIR/once ]; then id -u > /dev/termination-log; exit 0; fi
touch DIR/once; exit 1`, "DIR", dir))
	pod.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	uid := int64(1000)
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: &uid}
	mount := []corev1.VolumeMount{{Name: "work", MountPath: dir}}
	pod.Spec.Containers[0].VolumeMounts = mount
	pod.Spec.InitContainers = []corev1.Container{{
		Name: "setup", Image: "shell", Args: []string{"-c", "touch " + dir + "/init-ran"}, VolumeMounts: mount,
	}}
	pod.Spec.Volumes = []corev1.Volume{{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	createPod(t, pod)
	p := waitPod(t, ns, "retry", 60*time.Second, "finished", terminal)
	cs := mainState(t, p)
	if p.Status.Phase != corev1.PodSucceeded || cs.RestartCount != 1 {
		t.Fatalf("phase %s, restarts %d, state %+v", p.Status.Phase, cs.RestartCount, cs.State)
	}
	if last := cs.LastTerminationState.Terminated; last == nil || last.ExitCode != 1 {
		t.Errorf("last termination = %+v, want exit code 1", cs.LastTerminationState)
	}
	if msg := cs.State.Terminated.Message; msg != "1000\n" {
		t.Errorf("id -u in the container = %q, want 1000", msg)
	}
	if len(p.Status.InitContainerStatuses) != 1 || p.Status.InitContainerStatuses[0].State.Terminated == nil ||
		p.Status.InitContainerStatuses[0].State.Terminated.ExitCode != 0 {
		t.Errorf("init container status = %+v", p.Status.InitContainerStatuses)
	}
}

// activeDeadlineSeconds ends a running pod: Failed, reason DeadlineExceeded.
func TestActiveDeadline(t *testing.T) {
	needEnv(t)
	t.Parallel()
	ns := newNamespace(t)
	pod := shellPod(ns, "slow", `while :; do sleep 0.1; done`)
	deadline, grace := int64(2), int64(1)
	pod.Spec.ActiveDeadlineSeconds = &deadline
	pod.Spec.TerminationGracePeriodSeconds = &grace
	createPod(t, pod)
	p := waitPod(t, ns, "slow", 60*time.Second, "finished", terminal)
	term := mainState(t, p).State.Terminated
	if p.Status.Phase != corev1.PodFailed || p.Status.Reason != "DeadlineExceeded" || term == nil || term.ExitCode != 143 {
		t.Fatalf("phase %s, reason %q, terminated %+v", p.Status.Phase, p.Status.Reason, term)
	}
	if d := term.FinishedAt.Sub(p.Status.StartTime.Time); d < 2*time.Second {
		t.Errorf("ended %s after its start, before the deadline", d)
	}
}
