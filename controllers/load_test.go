package controllers

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/jobs"
	"github.com/mldata-io/mldata/pkg/storage"
)

// TestManagerLoad is the manager's load benchmark, run by `make
// bench-manager`, not by the normal test run: N DatasetBuilds with an
// interval of 60 s whose sources are unchanged, beside M unrelated Pods,
// on envtest, with the manager configured as `mldata manager` configures
// it (its cache filtered to the operator's own Jobs and Pods). It reports
// the process's RSS, the manager's API requests per minute, the lag
// between each interval boundary and the reconcile of every build, and the
// status updates the API server refused. It asserts no figure; it reports
// them (docs/benchmarks.md).
//
// MLDATA_LOAD_BUILDS (default 5000), MLDATA_LOAD_PODS (default 50000) and
// MLDATA_LOAD_INTERVALS (boundaries measured, default 3) size the run.
func TestManagerLoad(t *testing.T) {
	if os.Getenv("MLDATA_LOAD") == "" {
		t.Skip("the load benchmark runs with MLDATA_LOAD=1 (make bench-manager)")
	}
	needEnv(t)
	builds, pods, intervals := envInt("MLDATA_LOAD_BUILDS", 5000), envInt("MLDATA_LOAD_PODS", 50000), envInt("MLDATA_LOAD_INTERVALS", 3)
	const interval = 60
	ns := newNamespace(t)
	dir := t.TempDir()
	// One source folder per build, so that the listing tells which build
	// a reconcile is for.
	srcOf := func(i int) string { return "file://" + filepath.Join(dir, fmt.Sprintf("b-%d", i)) }
	for i := range builds {
		if err := os.MkdirAll(filepath.Join(dir, fmt.Sprintf("b-%d", i)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("b-%d", i), "a.csv"), []byte("id,x\n1,2\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Unrelated Pods, in parallel.
	started := time.Now()
	parallel(t, pods, 16, func(i int) error {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("web-%d", i), Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}
		return k8s.Create(ctx, p)
	})
	t.Logf("created %d unrelated Pods in %v", pods, time.Since(started).Round(time.Second))

	// Builds whose sources are recorded as built, so that each interval
	// boundary is a listing that finds nothing new: the steady state.
	started = time.Now()
	parallel(t, builds, 16, func(i int) error {
		objs, err := StorageLister{Reach: testReach}.List(ctx, srcOf(i), nil, nil)
		if err != nil {
			return err
		}
		b := &v1alpha1.DatasetBuild{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("b-%d", i)},
			Spec: v1alpha1.DatasetBuildSpec{Source: v1alpha1.SourceSpec{URI: v1alpha1.BucketURI(srcOf(i))}, Output: v1alpha1.OutputSpec{URI: v1alpha1.BucketURI(srcOf(i) + "-out")},
				IntervalSeconds: ptr.To[int32](interval)}}
		if err := k8s.Create(ctx, b); err != nil {
			return err
		}
		key := jobs.ShortID(strconv.FormatInt(b.Generation, 10), listingDigest(objs), "")
		b.Status = v1alpha1.DatasetBuildStatus{ObservedGeneration: b.Generation, BuildID: "b1", Retry: &v1alpha1.RetryStatus{Inputs: key},
			Conditions: []metav1.Condition{
				{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonSucceeded, ObservedGeneration: b.Generation, LastTransitionTime: metav1.Now()},
				{Type: v1alpha1.ConditionReconciling, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonSucceeded, ObservedGeneration: b.Generation, LastTransitionTime: metav1.Now()},
				{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonSucceeded, ObservedGeneration: b.Generation, LastTransitionTime: metav1.Now()},
			}}
		return k8s.Status().Update(ctx, b)
	})
	t.Logf("created %d DatasetBuilds in %v", builds, time.Since(started).Round(time.Second))

	// The manager, counting its API requests. Its log is discarded: at this
	// scale it would be the benchmark.
	ctrl.SetLogger(logr.Discard())
	var requests, refused atomic.Int64
	mcfg := rest.CopyConfig(cfg)
	mcfg.QPS, mcfg.Burst = 50, 100
	mcfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			requests.Add(1)
			resp, err := rt.RoundTrip(r)
			if err == nil && resp.StatusCode == http.StatusConflict && strings.HasSuffix(r.URL.Path, "/status") {
				refused.Add(1)
			}
			return resp, err
		})
	})
	mgr, err := ctrl.NewManager(mcfg, ctrl.Options{
		Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:      cache.Options{ByObject: CacheByObject(), DefaultNamespaces: map[string]cache.Config{ns: {}}},
		Controller: config.Controller{SkipNameValidation: ptr.To(true), ReconciliationTimeout: 2 * time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := SetupIndexes(mctx, mgr); err != nil {
		t.Fatal(err)
	}
	lags := &lagRecorder{interval: interval * time.Second, seen: map[string]time.Time{}}
	// Every reconcile of an unchanged build lists its sources once: the
	// listing times the reconcile.
	r := &DatasetBuildReconciler{Client: mgr.GetClient(), Jobs: testSettings, Reach: testReach, Lister: listerFunc(func(ctx context.Context, uri string, include []string, creds map[string]string) ([]storage.Object, error) {
		lags.observe(uri, time.Now())
		return StorageLister{Reach: testReach}.List(ctx, uri, include, creds)
	})}
	if err := r.SetupWithManager(mgr, DefaultMaxConcurrentReconciles); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = mgr.Start(mctx) }()
	defer func() { cancel(); <-done }()

	// Measure whole intervals after the first boundary.
	first := time.Now().Truncate(interval * time.Second).Add(interval * time.Second)
	time.Sleep(time.Until(first))
	lags.start(first)
	reqStart := requests.Load()
	time.Sleep(time.Duration(intervals) * interval * time.Second)
	reqs := requests.Load() - reqStart
	t.Logf("API requests: %d while starting (cache sync, first reconciles), %d in the measured %d interval(s)", reqStart, reqs, intervals)
	runtime.GC()
	p50, p99, n := lags.percentiles()
	t.Logf("builds %d, unrelated pods %d, concurrency %d, interval %ds", builds, pods, DefaultMaxConcurrentReconciles, interval)
	t.Logf("RSS %s MiB (test process: manager and the test's client), API requests/min %.0f, reconciles after a boundary %d, lag p50 %v p99 %v, refused status updates %d",
		rssMiB(), float64(reqs)/float64(intervals), n, p50.Round(time.Millisecond), p99.Round(time.Millisecond), refused.Load())
}

type listerFunc func(ctx context.Context, uri string, include []string, creds map[string]string) ([]storage.Object, error)

func (f listerFunc) List(ctx context.Context, uri string, include []string, creds map[string]string) ([]storage.Object, error) {
	return f(ctx, uri, include, creds)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// lagRecorder records, per build and boundary, how long after the interval
// boundary its reconcile started.
type lagRecorder struct {
	mu       sync.Mutex
	interval time.Duration
	from     time.Time
	seen     map[string]time.Time // build → boundary last counted
	lags     []time.Duration
}

func (l *lagRecorder) start(from time.Time) { l.mu.Lock(); l.from = from; l.mu.Unlock() }

func (l *lagRecorder) observe(build string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.from.IsZero() || at.Before(l.from) {
		return
	}
	boundary := at.Truncate(l.interval)
	if l.seen[build].Equal(boundary) {
		return
	}
	l.seen[build] = boundary
	l.lags = append(l.lags, at.Sub(boundary))
}

func (l *lagRecorder) percentiles() (p50, p99 time.Duration, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lags) == 0 {
		return 0, 0, 0
	}
	s := append([]time.Duration(nil), l.lags...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2], s[len(s)*99/100], len(s)
}

func rssMiB() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return strconv.Itoa(kb / 1024)
		}
	}
	return "?"
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// parallel runs f(0..n-1) on workers goroutines, failing t on an error.
func parallel(t *testing.T, n, workers int, f func(i int) error) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}
