package controllers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/jobs"
	"github.com/mldata-io/mldata/pkg/storage"
)

// One envtest control plane serves every test of the package; each test
// starts its own manager (see startManager) in its own namespace.
var (
	testEnv  *envtest.Environment
	cfg      *rest.Config
	k8s      client.Client
	scheme   = runtime.NewScheme()
	envSkip  string
	kubeconf string
	// assetsDir holds the control plane binaries.
	assetsDir string
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	// Managers log nothing in tests (and controller-runtime does not
	// print a stack trace to say that no logger was set).
	ctrl.SetLogger(logr.Discard())
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets, _ = filepath.Abs(filepath.Join("..", "bin", "k8s"))
	}
	assetsDir = assets
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, b)); err != nil {
			if os.Getenv("CI") == "true" {
				fmt.Fprintf(os.Stderr, "envtest: no %s in %s (run make envtest-bins)\n", b, assets)
				return 1
			}
			envSkip = fmt.Sprintf("no %s in %s (run make envtest-bins, or set KUBEBUILDER_ASSETS)", b, assets)
			return m.Run()
		}
	}
	testEnv = &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	var err error
	if cfg, err = testEnv.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "starting envtest: %v\n", err)
		return 1
	}
	defer func() { _ = testEnv.Stop() }()
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "mldata-controllers-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	kubeconf = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconf, testEnv.KubeConfig, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stopGarbageCollector()
	return m.Run()
}

func needEnv(t *testing.T) {
	t.Helper()
	if envSkip != "" {
		t.Skip(envSkip)
	}
}

var testSettings = jobs.Settings{Image: "mldata:test", BackoffLimit: 1}

// testReach is what the tests' manager may reach: their stores are mem://
// buckets, local folders and S3 servers on loopback, all of which a
// cluster's default policy refuses, so the tests allow them explicitly.
var testReach = func() Reach {
	p, err := storage.NewPolicy([]string{"s3", "gs", "azblob", "file", "mem"}, []string{"127.0.0.1/32", "::1/128"})
	if err != nil {
		panic(err)
	}
	return Reach{Policy: p}
}()

// testManager is a running manager with the three reconcilers and the
// fakes a test steers.
type testManager struct {
	clock    *clocktesting.FakeClock
	recorder *events.FakeRecorder
	lister   *fakeLister
	build    *DatasetBuildReconciler
	drift    *DriftCheckReconciler
	profile  *DatasetProfileReconciler
}

// fakeLister injects listing failures in front of the real StorageLister,
// and records the credentials it was given per URI (a manager reconciles
// the resources of earlier tests too).
type fakeLister struct {
	mu    sync.Mutex
	err   error
	creds map[string]map[string]string
}

func (f *fakeLister) List(ctx context.Context, uri string, include []string, creds map[string]string) ([]storage.Object, error) {
	f.mu.Lock()
	err := f.err
	if f.creds == nil {
		f.creds = map[string]map[string]string{}
	}
	f.creds[uri] = creds
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return StorageLister{Reach: testReach}.List(ctx, uri, include, creds)
}

func (f *fakeLister) setErr(err error) { f.mu.Lock(); f.err = err; f.mu.Unlock() }

// credsFor returns the credentials uri was last listed with.
func (f *fakeLister) credsFor(uri string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.creds[uri]
}

func startManager(t *testing.T, start time.Time) *testManager {
	t.Helper()
	return startManagerWith(t, start, "0")
}

// startManagerWith starts a manager whose metrics endpoint listens on
// metricsAddr ("0": none).
func startManagerWith(t *testing.T, start time.Time, metricsAddr string) *testManager {
	t.Helper()
	return startManagerAs(t, start, metricsAddr, cfg)
}

// startManagerAs starts a manager that talks to the API server with
// restCfg (e.g. impersonating the manager's service account).
func startManagerAs(t *testing.T, start time.Time, metricsAddr string, restCfg *rest.Config) *testManager {
	t.Helper()
	return startManagerOpts(t, start, managerOpts{metricsAddr: metricsAddr, cfg: restCfg})
}

// managerOpts are the settings of a test manager.
type managerOpts struct {
	metricsAddr string // "0": none
	cfg         *rest.Config
	// retryBase is the reconcilers' RetryBase, measured on the test's
	// fake clock; 0 is the default (30 s).
	retryBase time.Duration
}

func startManagerOpts(t *testing.T, start time.Time, o managerOpts) *testManager {
	t.Helper()
	metricsAddr, restCfg := o.metricsAddr, o.cfg
	if metricsAddr == "" {
		metricsAddr = "0"
	}
	if restCfg == nil {
		restCfg = cfg
	}
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:     scheme,
		Metrics:    metricsserver.Options{BindAddress: metricsAddr},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := SetupIndexes(ctx, mgr); err != nil {
		t.Fatal(err)
	}
	tm := &testManager{clock: clocktesting.NewFakeClock(start), recorder: events.NewFakeRecorder(100), lister: &fakeLister{}}
	tm.build = &DatasetBuildReconciler{Client: mgr.GetClient(), Recorder: tm.recorder, Clock: tm.clock, Jobs: testSettings, Lister: tm.lister, Reach: testReach, RetryBase: o.retryBase}
	if err := tm.build.SetupWithManager(mgr, 2); err != nil {
		t.Fatal(err)
	}
	tm.drift = &DriftCheckReconciler{Client: mgr.GetClient(), Recorder: tm.recorder, Clock: tm.clock, Jobs: testSettings, Lister: tm.lister, Reach: testReach, RetryBase: o.retryBase}
	if err := tm.drift.SetupWithManager(mgr, 2); err != nil {
		t.Fatal(err)
	}
	tm.profile = &DatasetProfileReconciler{Client: mgr.GetClient(), Recorder: tm.recorder, Clock: tm.clock, Jobs: testSettings, Reach: testReach, RetryBase: o.retryBase}
	if err := tm.profile.SetupWithManager(mgr, 2); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("manager: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return tm
}
