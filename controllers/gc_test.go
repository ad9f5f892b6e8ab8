package controllers

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mldata-io/mldata/api/v1alpha1"
)

// The garbage collector: envtest runs no controllers, so the test that
// needs owner references to be acted on starts the real
// kube-controller-manager with only its garbage collector, against the
// test API server, once per package on first use. TestMain stops it by
// PID.
var kcm struct {
	once sync.Once
	cmd  *exec.Cmd
	done chan struct{}
	log  string
	err  error
}

// needGarbageCollector starts the garbage collector or skips t when
// kube-controller-manager is not built.
func needGarbageCollector(t *testing.T) {
	t.Helper()
	needEnv(t)
	bin := filepath.Join(assetsDir, "kube-controller-manager")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no kube-controller-manager in %s: build it with hack/controlplane/build.sh --with-controller-manager", assetsDir)
	}
	kcm.once.Do(func() { kcm.err = startGarbageCollector(bin) })
	if kcm.err != nil {
		t.Fatal(kcm.err)
	}
}

func startGarbageCollector(bin string) error {
	dir, err := os.MkdirTemp("", "mldata-kcm")
	if err != nil {
		return err
	}
	kcm.log = filepath.Join(dir, "kube-controller-manager.log")
	logFile, err := os.Create(kcm.log)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin,
		"--kubeconfig", kubeconf, // envtest's admin user
		"--controllers=garbagecollector",
		"--secure-port=0", // serve nothing
		"--leader-elect=false",
		"--v=2",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// The kernel kills it should the test process die without TestMain's
	// cleanup (a panic, a timeout).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("starting kube-controller-manager: %w", err)
	}
	kcm.cmd, kcm.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(kcm.done) }()
	// Ready when its garbage collector has synced its view of every
	// resource, so that deletions are acted on at once.
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-kcm.done:
			return fmt.Errorf("kube-controller-manager exited:\n%s", tail(kcm.log))
		default:
		}
		data, _ := os.ReadFile(kcm.log)
		if strings.Contains(string(data), "synced garbage collector") || strings.Contains(string(data), "All resource monitors have synced") {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("kube-controller-manager's garbage collector did not sync in 60s:\n%s", tail(kcm.log))
}

// stopGarbageCollector stops kube-controller-manager by PID, if started.
func stopGarbageCollector() {
	if kcm.cmd == nil {
		return
	}
	_ = kcm.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-kcm.done:
	case <-time.After(10 * time.Second):
		_ = kcm.cmd.Process.Kill()
		<-kcm.done
	}
	_ = os.RemoveAll(filepath.Dir(kcm.log))
}

func tail(path string) string {
	data, _ := os.ReadFile(path)
	if len(data) > 4096 {
		data = data[len(data)-4096:]
	}
	return string(data)
}

// TestDeletionCleansUpJobs: the Jobs (and their pods) of a deleted
// DatasetBuild or DriftCheck are deleted by the cluster's garbage
// collector, through the controller references the Jobs carry.
func TestDeletionCleansUpJobs(t *testing.T) {
	needGarbageCollector(t)
	startManager(t, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	ns := newNamespace(t)
	src, _ := copySample(t, "sample")
	b := newBuild(ns, "gone", src, "file://"+t.TempDir())
	if err := k8s.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	d := &v1alpha1.DriftCheck{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gone-too"},
		Spec: v1alpha1.DriftCheckSpec{
			Baseline: v1alpha1.DriftInput{URI: v1alpha1.BucketURI(src)},
			Current:  v1alpha1.DriftInput{URI: v1alpha1.BucketURI(src)},
			Output:   v1alpha1.ReportOutputSpec{URI: v1alpha1.BucketURI("file://" + t.TempDir())},
		},
	}
	if err := k8s.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	js := waitJobs(t, ns, 2)
	// A finished drift Job with its pod: the deletion cascades to pods.
	for i := range js {
		if strings.HasPrefix(js[i].Name, "gone-too-") {
			finishJob(t, &js[i], true, runWorker(t, &js[i]), time.Now(), time.Now())
		}
	}
	remaining := func(want ...string) func() error {
		return func() error {
			var got []string
			for _, j := range listJobs(t, ns) {
				got = append(got, j.Labels[v1alpha1.LabelName])
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				return fmt.Errorf("Jobs of %v, want of %v", got, want)
			}
			return nil
		}
	}
	if err := remaining("gone", "gone-too")(); err != nil {
		t.Fatal(err)
	}

	if err := k8s.Delete(ctx, getBuild(t, b)); err != nil {
		t.Fatal(err)
	}
	eventuallyWithin(t, 60*time.Second, "the build's Job deleted", remaining("gone-too"))

	if err := k8s.Delete(ctx, getDrift(t, d)); err != nil {
		t.Fatal(err)
	}
	eventuallyWithin(t, 60*time.Second, "the check's Job deleted", remaining())
	eventuallyWithin(t, 60*time.Second, "the Job's pod deleted", func() error {
		var pods corev1.PodList
		if err := k8s.List(ctx, &pods, client.InNamespace(ns)); err != nil {
			return err
		}
		if len(pods.Items) != 0 {
			return errors.New("pod " + pods.Items[0].Name + " remains")
		}
		return nil
	})
}

// eventuallyWithin is eventually with its own timeout.
func eventuallyWithin(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: %v\nkube-controller-manager log (end):\n%s", what, err, tail(kcm.log))
}
