package v1alpha1_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/mldata-io/mldata/api/v1alpha1"
)

// The tests of this package that need an API server share one envtest
// control plane, started once here: starting one takes seconds, and the
// CRDs under test are the committed ones in config/crd/bases.
var (
	testEnv *envtest.Environment
	k8s     client.Client
	scheme  = runtime.NewScheme()
	// kubeconfigPath is a kubeconfig for the envtest API server, for kubectl.
	kubeconfigPath string
	// envSkip says why envtest tests are skipped; "" when they run.
	envSkip string
)

const crdDir = "../../config/crd/bases"

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	assets, err := controlPlaneAssets()
	if err != nil {
		// CI must run every test: a missing control plane is a broken
		// setup there, not a reason to pass.
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "envtest: %v\n", err)
			return 1
		}
		envSkip = err.Error()
		return m.Run()
	}
	stopOrphans()
	testEnv = &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{crdDir},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	cfg, err := testEnv.Start()
	if err != nil {
		// Start fails after the processes are up when the CRDs do not
		// install (e.g. a CEL rule over the cost budget): stop them.
		_ = testEnv.Stop()
		fmt.Fprintf(os.Stderr, "starting envtest with %s: %v\n", assets, err)
		return 1
	}
	recordChildren()
	// The control plane runs in its own process group, so an interrupt
	// from the terminal does not reach it: stop it ourselves.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		_ = testEnv.Stop()
		os.Exit(130)
	}()
	code := func() int {
		defer func() {
			if err := testEnv.Stop(); err != nil {
				fmt.Fprintf(os.Stderr, "stopping envtest: %v\n", err)
			}
		}()
		k8s, err = client.New(cfg, client.Options{Scheme: scheme})
		if err != nil {
			fmt.Fprintf(os.Stderr, "client: %v\n", err)
			return 1
		}
		dir, err := os.MkdirTemp("", "mldata-api-test")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		kubeconfigPath = filepath.Join(dir, "kubeconfig")
		if err := os.WriteFile(kubeconfigPath, testEnv.KubeConfig, 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}()
	return code
}

// needEnv skips t when no control plane could be started.
func needEnv(t *testing.T) {
	t.Helper()
	if envSkip != "" {
		t.Skip(envSkip)
	}
}

// controlPlaneAssets returns the directory holding kube-apiserver and etcd:
// KUBEBUILDER_ASSETS when set, else bin/k8s, where
// hack/controlplane/build.sh puts them.
func controlPlaneAssets() (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		abs, err := filepath.Abs(filepath.Join("..", "..", "bin", "k8s"))
		if err != nil {
			return "", err
		}
		dir = abs
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return "", fmt.Errorf("no %s in %s (run make envtest-bins, or set KUBEBUILDER_ASSETS): %w", bin, dir, err)
		}
	}
	return dir, nil
}

// A test binary killed by -timeout or SIGKILL leaves etcd and kube-apiserver
// running. The PIDs of the control plane are recorded when it starts, and
// the next run stops those that have lost their parent (reparented to
// init or a subreaper). A process whose parent is still alive belongs to a
// run in progress and is left alone; a PID reused by an unrelated program
// fails the name check.
var pidFile = filepath.Join(os.TempDir(), "mldata-envtest-api-v1alpha1.pids")

var controlPlaneNames = map[string]bool{"etcd": true, "kube-apiserver": true}

// procStat returns the command name and parent PID of pid from /proc.
func procStat(pid int) (name string, ppid int, err error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", 0, err
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	open, end := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
	if open < 0 || end < open {
		return "", 0, errors.New("malformed stat")
	}
	fields := strings.Fields(string(data[end+1:]))
	if len(fields) < 2 {
		return "", 0, errors.New("malformed stat")
	}
	ppid, err = strconv.Atoi(fields[1])
	return string(data[open+1 : end]), ppid, err
}

// recordChildren writes "pid ppid name" for each control-plane child of
// this process.
func recordChildren() {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	var b strings.Builder
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		name, ppid, err := procStat(pid)
		if err == nil && ppid == self && controlPlaneNames[name] {
			fmt.Fprintf(&b, "%d %d %s\n", pid, ppid, name)
		}
	}
	_ = os.WriteFile(pidFile, []byte(b.String()), 0o600)
}

// stopOrphans kills the recorded control-plane processes whose parent died.
func stopOrphans() {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(data), "\n") {
		var pid, ppid int
		var name string
		if _, err := fmt.Sscanf(line, "%d %d %s", &pid, &ppid, &name); err != nil {
			continue
		}
		cur, curParent, err := procStat(pid)
		if err != nil || cur != name || !controlPlaneNames[cur] || curParent == ppid {
			continue
		}
		fmt.Fprintf(os.Stderr, "stopping %s (pid %d) left running by an earlier test run\n", name, pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	_ = os.Remove(pidFile)
}
