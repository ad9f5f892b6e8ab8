package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/jobs"
	"github.com/mldata-io/mldata/internal/worker"
	"github.com/mldata-io/mldata/pkg/manifest"
)

// statusEnv starts an envtest API server with the committed CRDs and
// returns a client and a kubeconfig file for it. It skips the test when the
// control plane binaries are missing (hack/controlplane/build.sh), except
// in CI, which must run every test.
func statusEnv(t *testing.T) (client.Client, string) {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets, _ = filepath.Abs(filepath.Join("..", "..", "bin", "k8s"))
	}
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("envtest: %v", err)
		}
		t.Skipf("no control plane in %s (make envtest-bins): %v", assets, err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	cfg, err := env.Start()
	if err != nil {
		_ = env.Stop()
		t.Fatalf("starting envtest: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	return c, kubeconfig
}

// fakeLogs stands in for the kubelet's log endpoint, which envtest lacks.
type fakeLogs struct {
	mu    sync.Mutex
	calls []string
	text  string
	err   error
}

func (f *fakeLogs) Tail(_ context.Context, ns, pod, container string, lines int64) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("%s/%s/%s/%d", ns, pod, container, lines))
	return f.text, f.err
}

// runCLI runs the CLI in this process and returns its standard output and
// error.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out, stderr bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// TestStatusCommand runs `mldata status` and its completion against a real
// API server holding a DatasetBuild whose status the real worker and status
// code wrote, and a DriftCheck with recent runs. Only the pod log, which an
// API server without kubelets cannot serve, is fake.
func TestStatusCommand(t *testing.T) {
	k8s, kubeconfig := statusEnv(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	statusNow = func() time.Time { return now }
	logs := &fakeLogs{text: "reading customers-2024a.csv\npublished build X: 1000 rows\n"}
	newLogSource = func(*rest.Config) (logSource, error) { return logs, nil }
	t.Cleanup(func() {
		statusNow = time.Now
		newLogSource = func(cfg *rest.Config) (logSource, error) { return nil, errors.New("no log source") }
	})
	ns := "ml"
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}

	// A DatasetBuild with the status of a real build of testdata/sample.
	src, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "sample"))
	out := t.TempDir()
	b := &v1alpha1.DatasetBuild{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "churn"},
		Spec: v1alpha1.DatasetBuildSpec{
			Source: v1alpha1.SourceSpec{URI: v1alpha1.BucketURI("file://" + src), Include: []string{"*.csv"}},
			Output: v1alpha1.OutputSpec{URI: v1alpha1.BucketURI("file://" + out)},
		},
	}
	if err := k8s.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	res, err := worker.RunBuild(ctx, &b.Spec, worker.Options{ScratchDir: t.TempDir(), Now: func() time.Time { return now.Add(-10 * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Result.Manifest
	worker.ApplyBuild(&b.Status, b.Generation, res.Summary(), m, now.Add(-5*time.Minute))
	for i := range b.Status.Conditions { // set at the wall clock's time by ApplyBuild
		b.Status.Conditions[i].LastTransitionTime = metav1.NewTime(now.Add(-5 * time.Minute))
	}
	b.Status.JobName = jobs.Name("churn", "abc1234567")
	b.Status.Retry = &v1alpha1.RetryStatus{Inputs: "x", FailedAttempts: 1, NextAttemptTime: ptr.To(metav1.NewTime(now.Add(90 * time.Second)))}
	if err := k8s.Status().Update(ctx, b); err != nil {
		t.Fatal(err)
	}

	// Its Job and two pods of it; the newer one is the worker shown.
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: b.Status.JobName,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(b, v1alpha1.GroupVersion.WithKind("DatasetBuild"))}},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{v1alpha1.LabelKind: "DatasetBuild", v1alpha1.LabelName: "churn"}},
			Spec:       corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: jobs.ContainerName, Image: "mldata:test"}}},
		}},
	}
	if err := k8s.Create(ctx, job); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"churn-old", "churn-new"} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: job.Spec.Template.Labels,
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(job, batchv1.SchemeGroupVersion.WithKind("Job"))}},
			Spec: job.Spec.Template.Spec,
		}
		if err := k8s.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // creation timestamps have second resolution
	}
	// A pod of the same resource from another Job is not the worker.
	stray := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "churn-other-job", Labels: job.Spec.Template.Labels},
		Spec: job.Spec.Template.Spec}
	if err := k8s.Create(ctx, stray); err != nil {
		t.Fatal(err)
	}

	got, err := runCLI(t, "status", "dsb/churn", "--kubeconfig", kubeconfig, "-n", ns, "--tail", "5")
	if err != nil {
		t.Fatalf("status: %v\n%s", err, got)
	}
	t.Logf("mldata status dsb/churn:\n%s", got)
	want := []string{
		"DatasetBuild ml/churn  (generation 1, observed 1)\n",
		"\nConditions:\n  TYPE ",
		"\n  Ready             True    Succeeded         5m   published build " + m.BuildID + ": 1000 rows from 2 source file(s), schema v1\n",
		"\n  build:     " + m.BuildID + "\n",
		"\n  digest:    " + manifest.Digest(m) + "\n",
		"\n  manifest:  file://" + filepath.Join(out, "builds", m.BuildID, "manifest.json") + "\n",
		"\n  rows:      1000 (train 800, validation 99, test 101)\n",
		"\n  files:     2 source file(s): 2 read, 0 reused by the last build\n",
		"\n  job:       " + job.Name + "\n",
		"\n  retry:     1 failed attempt(s) in a row at these inputs; next attempt in 90s (2026-11-27T12:01:30Z)\n",
		"\nWorker log (pod churn-new, container worker, last 5 lines):\n  reading customers-2024a.csv\n  published build X: 1000 rows\n",
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	if d := strings.Join(logs.calls, ","); d != "ml/churn-new/worker/5" {
		t.Errorf("log fetches %s; want the newest pod of the Job, container worker, 5 lines", d)
	}

	t.Run("log unavailable", func(t *testing.T) {
		logs.err = errors.New("container \"worker\" in pod \"churn-new\" is waiting to start")
		defer func() { logs.err = nil }()
		got, err := runCLI(t, "status", "datasetbuilds.mldata.io/churn", "--kubeconfig", kubeconfig, "--namespace", ns)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(got, "last 20 lines):\n  unavailable: container \"worker\" in pod \"churn-new\" is waiting to start\n") {
			t.Errorf("output:\n%s", got)
		}
	})

	t.Run("drift check with recent runs and no pod", func(t *testing.T) {
		d := &v1alpha1.DriftCheck{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "churn-drift"},
			Spec: v1alpha1.DriftCheckSpec{
				Baseline: v1alpha1.DriftInput{DatasetBuildRef: &v1alpha1.DatasetBuildRef{Name: "churn", Split: "train"}},
				Current:  v1alpha1.DriftInput{URI: "file:///data/new"},
				Output:   v1alpha1.ReportOutputSpec{URI: "file:///data/reports"},
			},
		}
		if err := k8s.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
		t1, t2 := metav1.NewTime(now.Add(-time.Hour)), metav1.NewTime(now.Add(-59*time.Minute))
		psi := 0.31
		d.Status = v1alpha1.DriftCheckStatus{
			Conditions: []metav1.Condition{{Type: "DriftDetected", Status: metav1.ConditionTrue, Reason: "DriftDetected",
				Message: "2 of 8 columns drifted:\n tenure_months, monthly_fee", LastTransitionTime: t2}},
			LastRun: &v1alpha1.DriftRun{JobName: "churn-drift-29400000", ScheduledTime: &t1, CompletionTime: &t2, Succeeded: true, DriftDetected: true,
				MaxPSI: &psi, DriftedColumnCount: 2, ReportURI: "file:///data/reports/runs/29400000/drift.json",
				DriftedColumns: []v1alpha1.DriftedColumn{{Name: "tenure_months", PSI: 0.31, Severity: v1alpha1.SeverityHigh,
					Method: "wasserstein", Metric: "wasserstein_normed", Value: ptr.To(0.42), Threshold: ptr.To(0.1)}}},
			RecentRuns: []v1alpha1.DriftRunSummary{
				{JobName: "churn-drift-29400000", ScheduledTime: &t1, CompletionTime: &t2, Succeeded: true, DriftDetected: true, MaxPSI: &psi, DriftedColumnCount: 2, ReportURI: "file:///data/reports/runs/29400000/drift.json"},
				{JobName: "churn-drift-29399940", ScheduledTime: &t1, Succeeded: false},
			},
		}
		if err := k8s.Status().Update(ctx, d); err != nil {
			t.Fatal(err)
		}
		got, err := runCLI(t, "status", "dc/churn-drift", "--kubeconfig", kubeconfig, "-n", ns)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("mldata status dc/churn-drift:\n%s", got)
		for _, w := range []string{
			"\n  DriftDetected  True    DriftDetected  59m  2 of 8 columns drifted: tenure_months, monthly_fee\n",
			"\n  last run: drift in 2 column(s), max PSI 0.310\n",
			"\n  drifted:  tenure_months: wasserstein_normed 0.42 >= 0.1\n",
			"\nRecent runs (newest first):\n",
			"  2026-11-27T11:00:00Z  2026-11-27T11:01:00Z  drift in 2 column(s), max PSI 0.310  churn-drift-29400000  file:///data/reports/runs/29400000/drift.json\n",
			"  2026-11-27T11:00:00Z  -                     failed                               churn-drift-29399940  -\n",
			"\nWorker log: job churn-drift-29400000 has no pod (not started yet, or deleted with the Job)\n",
		} {
			if !strings.Contains(got, w) {
				t.Errorf("output lacks %q", w)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			args  []string
			usage bool
			msg   string
		}{
			{[]string{"status", "dsb/nope"}, false, "DatasetBuild nope not found in namespace ml; 'kubectl get datasetbuilds -n ml' lists them"},
			{[]string{"status", "pods/churn"}, true, `unknown kind "pods": use datasetbuild (dsb), datasetprofile (dsp) or driftcheck (dc)`},
			{[]string{"status", "churn"}, true, `"churn": give KIND/NAME, e.g. dsb/churn`},
		} {
			_, err := runCLI(t, append(tc.args, "--kubeconfig", kubeconfig, "-n", ns)...)
			if err == nil || err.Error() != tc.msg || isUsageError(err) != tc.usage {
				t.Errorf("%v: error %v (usage %v); want %q (usage %v)", tc.args, err, isUsageError(err), tc.msg, tc.usage)
			}
		}
	})

	t.Run("completion", func(t *testing.T) {
		// More resources, and one in another namespace that must not show.
		for _, name := range []string{"churn-eu", "fraud"} {
			if err := k8s.Create(ctx, &v1alpha1.DatasetBuild{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: b.Spec}); err != nil {
				t.Fatal(err)
			}
		}
		if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}}); err != nil {
			t.Fatal(err)
		}
		if err := k8s.Create(ctx, &v1alpha1.DatasetBuild{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "churn-other"}, Spec: b.Spec}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ word, want string }{
			{"dsb/", "dsb/churn\ndsb/churn-eu\ndsb/fraud\n:4\n"},
			{"dsb/ch", "dsb/churn\ndsb/churn-eu\n:4\n"},
			{"datasetbuild/f", "datasetbuild/fraud\n:4\n"},
			{"dc/", "dc/churn-drift\n:4\n"},
			{"dsp/", ":4\n"},
			{"d", "datasetbuild/\tDatasetBuild\ndsb/\tDatasetBuild\ndatasetprofile/\tDatasetProfile\ndsp/\tDatasetProfile\ndriftcheck/\tDriftCheck\ndc/\tDriftCheck\n:6\n"},
			{"pods/", ":1\n"},
		} {
			got, err := runCLI(t, "__complete", "status", "--kubeconfig", kubeconfig, "-n", ns, tc.word)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("complete %q:\n%s\nwant:\n%s", tc.word, got, tc.want)
			}
		}
		// The namespace of the kubeconfig's context applies without -n.
		got, err := runCLI(t, "__complete", "status", "--kubeconfig", kubeconfig, "dsb/")
		if err != nil || !strings.HasPrefix(got, ":4\n") {
			t.Errorf("completion in the default namespace: %q, %v", got, err)
		}
		// An unreachable cluster completes nothing and says so only in
		// cobra's debug channel.
		bad := filepath.Join(t.TempDir(), "kubeconfig")
		if err := os.WriteFile(bad, []byte("apiVersion: v1\nkind: Config\nclusters: [{name: x, cluster: {server: 'https://127.0.0.1:1'}}]\ncontexts: [{name: x, context: {cluster: x}}]\ncurrent-context: x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err = runCLI(t, "__complete", "status", "--kubeconfig", bad, "dsb/")
		if err != nil || !strings.HasPrefix(got, ":1\n") {
			t.Errorf("completion without a cluster: %q, %v", got, err)
		}
	})

	t.Run("kubectl plugin names", func(t *testing.T) {
		args := []string{"status", "dsb/"}
		if got := pluginArgs("/usr/local/bin/kubectl_complete-mldata", args); strings.Join(got, " ") != "__complete status dsb/" {
			t.Errorf("as kubectl_complete-mldata: %q", got)
		}
		for _, name := range []string{"/usr/local/bin/kubectl-mldata", "mldata"} {
			if got := pluginArgs(name, args); strings.Join(got, " ") != "status dsb/" {
				t.Errorf("as %s: %q", name, got)
			}
		}
	})

	t.Run("shell scripts", func(t *testing.T) {
		for _, sh := range []string{"bash", "zsh", "fish"} {
			got, err := runCLI(t, "completion", sh)
			if err != nil || !strings.Contains(got, "__complete") {
				t.Errorf("completion %s: %v\n%.200s", sh, err, got)
			}
		}
	})
}

// A DatasetProfile's screen: its reports and the profiled build, and no log
// section when it has no Job yet.
func TestStatusViewProfile(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	at := metav1.NewTime(now.Add(-2 * time.Hour))
	p := &v1alpha1.DatasetProfile{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "churn-train", Generation: 2},
		Status: v1alpha1.DatasetProfileStatus{
			ObservedGeneration: 2,
			Conditions: []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonSucceeded,
				Message: "profiled 792 rows", LastTransitionTime: at}},
			SourceBuildID: "20261127T012141856Z-95156b", Rows: 792, Columns: 10,
			ReportURI: "s3://ml/profiles/churn-train/profile.json", HTMLReportURI: "s3://ml/profiles/churn-train/profile.html",
			LastProfileTime: &at,
		},
	}
	got := statusViewOf(p, now).render()
	want := "DatasetProfile ml/churn-train  (generation 2, observed 2)\n\n" +
		"Conditions:\n" +
		"  TYPE   STATUS  REASON     AGE   MESSAGE\n" +
		"  Ready  True    Succeeded  120m  profiled 792 rows\n\n" +
		"  profiled build: 20261127T012141856Z-95156b\n" +
		"  rows:           792, 10 column(s)\n" +
		"  report:         s3://ml/profiles/churn-train/profile.json\n" +
		"  html report:    s3://ml/profiles/churn-train/profile.html\n" +
		"  profiled:       2026-11-27T10:00:00Z (120m ago)\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if got := statusViewOf(&v1alpha1.DatasetProfile{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "new"}}, now).render(); !strings.Contains(got, "none yet: the controller has not reconciled it") || strings.Contains(got, "Worker log") {
		t.Errorf("a new profile:\n%s", got)
	}
}

func TestStatusViewBuildGate(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	b := &v1alpha1.DatasetBuild{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "churn", Generation: 1},
		Spec:       v1alpha1.DatasetBuildSpec{Output: v1alpha1.OutputSpec{URI: "s3://ml/churn/"}},
		Status: v1alpha1.DatasetBuildStatus{ObservedGeneration: 1, BuildID: "b2", ManifestURI: "s3://ml/churn/builds/b2/manifest.json",
			GateReportURI: "s3://ml/churn/builds/b2/gate.html"},
	}
	got := statusViewOf(b, now).render()
	if !strings.Contains(got, "\n  manifest: s3://ml/churn/builds/b2/manifest.json\n  gate:     s3://ml/churn/builds/b2/gate.html\n") {
		t.Errorf("status view lacks the gate report:\n%s", got)
	}
}
