//go:build e2e

// Package e2e drives mldata the way a user does: a real control plane
// (etcd, kube-apiserver, kube-controller-manager, kube-scheduler), a node
// that runs pods as local processes, a real S3 server, the manager as a
// process under its generated RBAC, and kubectl. `make test-e2e` runs it.
//
// Everything it starts binds to 127.0.0.1 on ports of its own (so a
// `make dev-cluster` or `make demo` may run beside it), keeps its state
// under bin/e2e/, and is stopped by PID when the suite ends, also on failure.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	// ns is where the suite's resources live; it enforces the restricted
	// Pod Security Standard, so every worker pod the operator creates is
	// admitted under it or the suite fails.
	ns = "mldata-e2e"
	// systemNS holds the manager's ServiceAccount and Lease.
	systemNS  = "mldata-system"
	managerSA = "mldata-controller-manager"
	bucket    = "mldata-samples"
	// image is what the Jobs run; the node maps it to bin/mldata.
	image = "mldata:e2e"

	s3Port        = "19000"
	apiserverPort = "16543"
	etcdPort      = "12479"
	etcdPeerPort  = "12480"
)

// env is what TestMain set up.
var env struct {
	root       string // repository root
	state      string // bin/e2e
	kubeconfig string // admin kubeconfig of the e2e cluster
	endpoint   string // http://127.0.0.1:PORT of the S3 server
	s3Creds    map[string]string
	manager    *process
	mgrConfig  string // kubeconfig of the manager's ServiceAccount
	metrics    string // host:port of the manager's metrics endpoint
}

func TestMain(m *testing.M) {
	code, err := setUp(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		code = 1
	}
	tearDown()
	os.Exit(code)
}

var cleanups []func()

func tearDown() {
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
}

func setUp(m *testing.M) (int, error) {
	wd, err := os.Getwd()
	if err != nil {
		return 1, err
	}
	env.root = filepath.Clean(filepath.Join(wd, "..", ".."))
	env.state = filepath.Join(env.root, "bin", "e2e")
	if err := os.MkdirAll(env.state, 0o755); err != nil {
		return 1, err
	}
	start := time.Now()
	step := func(what string) {
		fmt.Fprintf(os.Stderr, "e2e: %-40s %6.1fs\n", what, time.Since(start).Seconds())
	}

	stopLeftovers()
	_ = os.Remove(filepath.Join(env.state, "manager.log")) // one run's log
	if _, err := sh("make", "-s", "build"); err != nil {
		return 1, err
	}
	step("bin/mldata built")

	// Object storage: versitygw over a fresh folder.
	s3env := []string{"S3_PORT=" + s3Port, "STORAGE_DIR=" + filepath.Join(env.state, "s3"), "S3_BUCKETS=" + bucket}
	_, _ = shEnv(s3env, "hack/storage/s3.sh", "stop")
	if err := os.RemoveAll(filepath.Join(env.state, "s3")); err != nil {
		return 1, err
	}
	if _, err := shEnv(s3env, "hack/storage/s3.sh", "start"); err != nil {
		return 1, err
	}
	cleanups = append(cleanups, func() { _, _ = shEnv(s3env, "hack/storage/s3.sh", "stop") })
	out, err := shEnv(s3env, "hack/storage/s3.sh", "env")
	if err != nil {
		return 1, err
	}
	env.s3Creds = exports(out)
	if env.s3Creds["AWS_ACCESS_KEY_ID"] == "" {
		return 1, fmt.Errorf("hack/storage/s3.sh env printed no AWS_ACCESS_KEY_ID:\n%s", out)
	}
	for k, v := range env.s3Creds {
		os.Setenv(k, v)
	}
	env.endpoint = "http://127.0.0.1:" + s3Port
	step("S3 server up")

	// The cluster, from scratch.
	clusterEnv := []string{
		"CLUSTER_DIR=" + filepath.Join(env.state, "cluster"),
		"APISERVER_PORT=" + apiserverPort, "ETCD_PORT=" + etcdPort, "ETCD_PEER_PORT=" + etcdPeerPort,
	}
	_, _ = shEnv(clusterEnv, "hack/cluster/down.sh", "--purge")
	out, err = shEnv(clusterEnv, "hack/cluster/up.sh")
	cleanups = append(cleanups, func() {
		if os.Getenv("E2E_KEEP") != "" {
			fmt.Fprintln(os.Stderr, "e2e: E2E_KEEP set: the cluster keeps running; stop it with", strings.Join(clusterEnv, " "), "hack/cluster/down.sh")
			return
		}
		_, _ = shEnv(clusterEnv, "hack/cluster/down.sh")
	})
	if err != nil {
		return 1, err
	}
	env.kubeconfig = exports(out)["KUBECONFIG"]
	if env.kubeconfig == "" {
		return 1, fmt.Errorf("hack/cluster/up.sh printed no KUBECONFIG:\n%s", out)
	}
	step("cluster up")

	if err := install(); err != nil {
		return 1, err
	}
	step("CRDs, RBAC, namespace installed")
	if err := startManager(); err != nil {
		return 1, err
	}
	step("manager running")
	if err := uploadDir("testdata/sample", "raw/customers/"); err != nil {
		return 1, err
	}
	if err := uploadDir("testdata/sample-drifted", "raw/customers-drifted/"); err != nil {
		return 1, err
	}
	step("sample data uploaded")

	code := m.Run()
	step("tests done")
	if code != 0 {
		dumpLogs()
	}
	return code, nil
}

// install applies the CRDs and the generated RBAC (config/local), or with
// E2E_INSTALL=helm installs the Helm chart (charts/mldata) instead, and
// creates the suite's namespace under the restricted Pod Security Standard
// with the S3 Secret in it.
func install() error {
	switch mode := os.Getenv("E2E_INSTALL"); mode {
	case "", "kustomize":
		if _, err := kubectl("apply", "--server-side", "-k", "config/local"); err != nil {
			return err
		}
	case "helm":
		if err := installChart(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("E2E_INSTALL=%s: want kustomize (the default) or helm", mode)
	}
	if _, err := kubectl("wait", "--for=condition=Established", "--timeout=60s",
		"crd/datasetbuilds.mldata.io", "crd/datasetprofiles.mldata.io", "crd/driftchecks.mldata.io"); err != nil {
		return err
	}
	nsYAML := fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %s
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
`, ns)
	if _, err := kubectlIn(nsYAML, "apply", "-f", "-"); err != nil {
		return err
	}
	return createS3Secret("mldata-s3")
}

// installChart installs the chart as a platform team would (release
// mldata, namespace mldata-system): its CRDs, RBAC, service accounts and
// metrics Service. The manager Deployment gets 0 replicas: the local node
// gives pods no service-account token, so the manager runs as a process
// (startManager) under the chart's ServiceAccount and RBAC instead.
func installChart() error {
	helm := filepath.Join(env.root, "bin", "helm")
	if _, err := os.Stat(helm); err != nil {
		return fmt.Errorf("E2E_INSTALL=helm needs %s: run make helm", helm)
	}
	if _, err := run([]string{"KUBECONFIG=" + env.kubeconfig}, "", helm, "upgrade", "--install", "mldata", "charts/mldata",
		"--namespace", systemNS, "--create-namespace", "--set", "replicaCount=0", "--wait", "--timeout", "3m"); err != nil {
		return err
	}
	// The chart's objects carry the kustomize install's names.
	for _, obj := range []string{"serviceaccount/" + managerSA, "deployment/mldata-controller-manager", "service/mldata-controller-manager-metrics-service"} {
		if _, err := kubectl("-n", systemNS, "get", obj); err != nil {
			return fmt.Errorf("the chart did not create %s: %w", obj, err)
		}
	}
	for _, obj := range []string{"clusterrole/mldata-manager-role", "clusterrolebinding/mldata-manager-rolebinding", "clusterrole/mldata-metrics-reader"} {
		if _, err := kubectl("get", obj); err != nil {
			return fmt.Errorf("the chart did not create %s: %w", obj, err)
		}
	}
	return nil
}

func createS3Secret(name string) error {
	args := []string{"-n", ns, "create", "secret", "generic", name}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		args = append(args, "--from-literal="+k+"="+env.s3Creds[k])
	}
	_, err := kubectl(args...)
	return err
}

// startManager runs `mldata manager` as a process that authenticates as
// its ServiceAccount (a token from the TokenRequest API), so that the
// generated RBAC is what it lives by.
func startManager() error {
	token, err := kubectl("-n", systemNS, "create", "token", managerSA, "--duration=4h")
	if err != nil {
		return err
	}
	server, err := kubectl("config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}")
	if err != nil {
		return err
	}
	ca, err := kubectl("config", "view", "--minify", "--raw", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}")
	if err != nil {
		return err
	}
	caLine := "certificate-authority-data: " + strings.TrimSpace(ca)
	if strings.TrimSpace(ca) == "" {
		file, err := kubectl("config", "view", "--minify", "--raw", "-o", "jsonpath={.clusters[0].cluster.certificate-authority}")
		if err != nil {
			return err
		}
		caLine = "certificate-authority: " + strings.TrimSpace(file)
	}
	env.mgrConfig = filepath.Join(env.state, "manager.kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: %s
    %s
users:
- name: manager
  user:
    token: %s
contexts:
- name: manager
  context: {cluster: e2e, user: manager}
current-context: manager
`, strings.TrimSpace(server), caLine, strings.TrimSpace(token))
	if err := os.WriteFile(env.mgrConfig, []byte(cfg), 0o600); err != nil {
		return err
	}
	env.metrics = freeAddr()
	return restartManager()
}

// restartManager starts the manager (again); the previous one must be gone.
func restartManager() error {
	probe := freeAddr()
	p, err := startProcess("manager", []string{"KUBECONFIG=" + env.mgrConfig},
		filepath.Join(env.root, "bin", "mldata"), "manager",
		"--worker-image", image,
		"--leader-elect", "--leader-election-namespace", systemNS,
		"--metrics-bind-address", env.metrics,
		"--health-probe-bind-address", probe,
		"--job-backoff-limit", "2",
		// Ranges of 2 MiB instead of 256 MiB, so that TestE2EShardedBuild's
		// big file (16 MB) is cut into ranges.
		"--shard-range-bytes", fmt.Sprint(shardRangeBytes),
		// A local run: plain-HTTP metrics, the S3 server on loopback
		// (refused by default), and pods sized for a laptop's node.
		"--metrics-secure=false", "--allowed-endpoints", "127.0.0.1/32",
		"--worker-cpu-request", "100m", "--worker-memory-request", "128Mi")
	if err != nil {
		return err
	}
	env.manager = p
	if err := os.WriteFile(filepath.Join(env.state, "manager.pid"), []byte(fmt.Sprint(p.cmd.Process.Pid)), 0o644); err != nil {
		return err
	}
	// Ready means the caches synced with the API server under the
	// ServiceAccount's permissions.
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-p.done:
			b, _ := os.ReadFile(p.log)
			return fmt.Errorf("the manager exited:\n%s", tail(string(b), 3000))
		default:
		}
		if resp, err := http.Get("http://" + probe + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the manager is not ready after 60 s (log: %s)", p.log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stopLeftovers stops a manager that an interrupted run left behind (the
// scripts stop their own servers by their pid files).
func stopLeftovers() {
	b, err := os.ReadFile(filepath.Join(env.state, "manager.pid"))
	if err != nil {
		return
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil || pid <= 0 {
		return
	}
	if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && bytes.Contains(cmdline, []byte("manager")) {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// process is a child the suite started and stops.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func startProcess(name string, extraEnv []string, bin string, args ...string) (*process, error) {
	logPath := filepath.Join(env.state, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), extraEnv...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	cleanups = append(cleanups, func() { p.stop(syscall.SIGTERM) })
	return p, nil
}

// stop signals the process group and waits (SIGKILL after 10 s).
func (p *process) stop(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// sh runs a command from the repository root and returns its stdout; on
// failure the error carries stderr.
func sh(name string, args ...string) (string, error) { return shEnv(nil, name, args...) }

func shEnv(extra []string, name string, args ...string) (string, error) {
	return run(extra, "", name, args...)
}

func run(extra []string, stdin string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = env.root
	cmd.Env = append(os.Environ(), extra...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w\n%s%s", name, strings.Join(args, " "), err, stdout.String(), tail(stderr.String(), 4000))
	}
	return stdout.String(), nil
}

func kubectl(args ...string) (string, error) {
	return run([]string{"KUBECONFIG=" + env.kubeconfig}, "", "kubectl", args...)
}

func kubectlIn(stdin string, args ...string) (string, error) {
	return run([]string{"KUBECONFIG=" + env.kubeconfig}, stdin, "kubectl", args...)
}

// exports reads `export K=V` (or K=V) lines.
func exports(out string) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.ContainsAny(k, " \t") {
			continue
		}
		m[k] = strings.Trim(v, `"'`)
	}
	return m
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// dumpLogs prints the end of the manager's log and the cluster's events
// when a test failed, so that CI output explains it.
func dumpLogs() {
	if env.manager != nil {
		if b, err := os.ReadFile(env.manager.log); err == nil {
			fmt.Fprintf(os.Stderr, "---- manager log (end) ----\n%s\n", tail(string(b), 8000))
		}
	}
	if out, err := kubectl("get", "events", "-A", "--sort-by=.lastTimestamp"); err == nil {
		fmt.Fprintf(os.Stderr, "---- events ----\n%s\n", tail(out, 8000))
	}
	if out, err := kubectl("get", "mldata,jobs,pods", "-n", ns, "-o", "wide"); err == nil {
		fmt.Fprintf(os.Stderr, "---- resources ----\n%s\n", out)
	}
}
