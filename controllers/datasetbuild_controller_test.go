package controllers

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/jobs"
	"github.com/mldata-io/mldata/internal/worker"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/storage"
)

func newBuild(ns, name, srcURI, outURI string) *v1alpha1.DatasetBuild {
	return &v1alpha1.DatasetBuild{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.DatasetBuildSpec{
			Source: v1alpha1.SourceSpec{URI: v1alpha1.BucketURI(srcURI), Include: []string{"*.csv"}},
			Output: v1alpha1.OutputSpec{URI: v1alpha1.BucketURI(outURI)},
			Split: &v1alpha1.SplitSpec{Ratios: []v1alpha1.SplitRatio{{Name: "train", Ratio: 0.8}, {Name: "test", Ratio: 0.2}},
				Key: "customer_id"},
			IntervalSeconds: ptr.To[int32](600),
		},
	}
}

func getBuild(t *testing.T, b *v1alpha1.DatasetBuild) *v1alpha1.DatasetBuild {
	t.Helper()
	var got v1alpha1.DatasetBuild
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(b), &got); err != nil {
		t.Fatal(err)
	}
	return &got
}

func TestDatasetBuildLifecycle(t *testing.T) {
	needEnv(t)
	tm := startManager(t, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	ns := newNamespace(t)
	src, srcDir := copySample(t, "sample")
	out := "file://" + t.TempDir()
	b := newBuild(ns, "churn", src, out)
	if err := k8s.Create(ctx, b); err != nil {
		t.Fatal(err)
	}

	// Create: one Job, built as specified, owned by the build.
	j := &waitJobs(t, ns, 1)[0]
	runID := j.Labels[v1alpha1.LabelRunID]
	if len(runID) != 10 || j.Name != jobs.Name("churn", runID) {
		t.Errorf("Job name %q, run id %q", j.Name, runID)
	}
	ref := metav1.GetControllerOf(j)
	if ref == nil || ref.Kind != "DatasetBuild" || ref.Name != "churn" || ref.UID != getBuild(t, b).UID || !ptr.Deref(ref.BlockOwnerDeletion, false) {
		t.Errorf("controller ref %+v", ref)
	}
	wantLabels := map[string]string{v1alpha1.LabelKind: "DatasetBuild", v1alpha1.LabelName: "churn",
		v1alpha1.LabelUID: string(getBuild(t, b).UID), v1alpha1.LabelRunID: runID}
	if d := cmp.Diff(wantLabels, j.Labels); d != "" {
		t.Errorf("Job labels (-want +got):\n%s", d)
	}
	podLabels := map[string]string{}
	for k, v := range j.Spec.Template.Labels {
		if strings.HasPrefix(k, "mldata.io/") {
			podLabels[k] = v
		}
	}
	if d := cmp.Diff(wantLabels, podLabels); d != "" {
		t.Errorf("pod labels (-want +got):\n%s", d)
	}
	c := j.Spec.Template.Spec.Containers[0]
	if c.Image != "mldata:test" || c.Args[0] != "worker" || c.Args[1] != "datasetbuild" || *c.SecurityContext.ReadOnlyRootFilesystem != true {
		t.Errorf("container %+v", c)
	}
	if task := taskOf(t, j); task.Build == nil || string(task.Build.Source.URI) != src {
		t.Errorf("task %+v", task)
	}
	eventually(t, "Reconciling", func() error {
		got := getBuild(t, b)
		if s := condition(got.Status.Conditions, v1alpha1.ConditionReconciling); s != "True/Progressing" || got.Status.JobName != j.Name {
			return fmt.Errorf("Reconciling %s, jobName %q", s, got.Status.JobName)
		}
		return nil
	})

	// A controller restart finds the running Job rather than making a
	// second one: a new reconciler has no memory, only the cache.
	fresh := &DatasetBuildReconciler{Client: tm.build.Client, Clock: tm.clock, Jobs: testSettings, Lister: StorageLister{Reach: testReach}, Reach: testReach}
	if _, err := fresh.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(b)}); err != nil {
		t.Fatal(err)
	}
	if n := len(listJobs(t, ns)); n != 1 {
		t.Fatalf("%d Jobs after a restart", n)
	}

	// Complete the Job with what the real worker writes.
	start := time.Date(2026, 11, 27, 12, 0, 5, 0, time.UTC)
	finishJob(t, j, true, runWorker(t, j), start, start.Add(3*time.Second))
	var st v1alpha1.DatasetBuildStatus
	eventually(t, "Ready after the build", func() error {
		st = getBuild(t, b).Status
		if s := condition(st.Conditions, v1alpha1.ConditionReady); s != "True/Succeeded" {
			return fmt.Errorf("Ready %s", s)
		}
		return nil
	})
	want := map[string]string{
		v1alpha1.ConditionReady: "True/Succeeded", v1alpha1.ConditionReconciling: "False/Succeeded", v1alpha1.ConditionStalled: "False/Succeeded",
		v1alpha1.ConditionValidated: "True/ValidationPassed", v1alpha1.ConditionSchemaCompatible: "True/Compatible",
	}
	got := map[string]string{}
	for typ := range want {
		got[typ] = condition(st.Conditions, typ)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("conditions (-want +got):\n%s", d)
	}
	if st.TotalRows != 1000 || len(st.Rows) != 2 || st.FilesProcessed != 2 || st.SourceCount != 2 || len(st.Sources) != 2 ||
		st.Schema == nil || st.Schema.Version != 1 || len(st.Schema.Columns) != 10 || len(st.SchemaHistory) != 1 || st.ManifestURI == "" || st.SourceDigest == "" {
		t.Errorf("status after the first build: %s", mustJSON(st))
	}
	if st.ObservedGeneration != getBuild(t, b).Generation {
		t.Errorf("observedGeneration %d", st.ObservedGeneration)
	}
	// status.artifact pins the build with the digest of the manifest the
	// worker published, read back here from the output.
	m := readManifestAt(t, st.ManifestURI)
	wantArtifact := &v1alpha1.ArtifactStatus{BuildID: m.BuildID, Digest: manifest.Digest(m), ManifestURI: st.ManifestURI}
	if d := cmp.Diff(wantArtifact, st.Artifact); d != "" || m.BuildID != st.BuildID || len(m.Splits) != 2 {
		t.Errorf("artifact (-want +got):\n%s", d)
	}

	// Unchanged sources and spec: a new reconcile starts no Job.
	touch(t, b, "example.com/poke", "1")
	consistently(t, "no new Job while nothing changed", func() error {
		if n := len(listJobs(t, ns)); n != 1 {
			return fmt.Errorf("%d Jobs", n)
		}
		return nil
	})

	// A new source file: a new Job, which reads only that file.
	data, err := os.ReadFile(filepath.Join("..", "testdata", "sample-drifted", "customers-2025.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(srcDir, "customers-2025.csv"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	touch(t, b, "example.com/poke", "2")
	jobs2 := waitJobs(t, ns, 2)
	var j2 = &jobs2[0]
	if j2.Name == j.Name {
		j2 = &jobs2[1]
	}
	finishJob(t, j2, true, runWorker(t, j2), start.Add(time.Minute), start.Add(time.Minute+time.Second))
	eventually(t, "second build recorded", func() error {
		st = getBuild(t, b).Status
		if st.JobName != j2.Name || condition(st.Conditions, v1alpha1.ConditionReconciling) != "False/Succeeded" {
			return fmt.Errorf("jobName %s, Reconciling %s", st.JobName, condition(st.Conditions, v1alpha1.ConditionReconciling))
		}
		return nil
	})
	if st.FilesProcessed != 1 || st.FilesReused != 2 || st.SourceCount != 3 || st.TotalRows <= 1000 {
		t.Errorf("incremental build: processed %d reused %d sources %d rows %d", st.FilesProcessed, st.FilesReused, st.SourceCount, st.TotalRows)
	}
	m2 := readManifestAt(t, st.ManifestURI)
	if a := st.Artifact; a == nil || a.BuildID != m2.BuildID || a.Digest != manifest.Digest(m2) || a.Digest == wantArtifact.Digest {
		t.Errorf("artifact after the second build %+v; first digest %s", a, wantArtifact.Digest)
	}

	// A spec change: a new Job, even with the same sources.
	update(t, getBuild(t, b), func(cur *v1alpha1.DatasetBuild) { cur.Spec.SchemaPolicy = v1alpha1.SchemaPolicyAllowAll })
	jobs3 := waitJobs(t, ns, 3)

	// The third build fails: its message reaches the conditions and an
	// event.
	newest := newestJob(jobs3, j.Name, j2.Name)
	failure := worker.FailureSummary(worker.KindDatasetBuild, &worker.Failure{Reason: v1alpha1.ReasonValidationFailed, Err: errors.New("rule minRows: 1000 rows, want at least 5000")})
	msg, _ := failure.Encode()
	finishJob(t, newest, false, string(msg), start.Add(2*time.Minute), start.Add(2*time.Minute+time.Second))
	eventually(t, "failure recorded", func() error {
		st = getBuild(t, b).Status
		if s := condition(st.Conditions, v1alpha1.ConditionStalled); s != "True/ValidationFailed" {
			return fmt.Errorf("Stalled %s", s)
		}
		return nil
	})
	if r := condition(st.Conditions, v1alpha1.ConditionReady); r != "False/ValidationFailed" {
		t.Errorf("Ready %s", r)
	}
	if v := condition(st.Conditions, v1alpha1.ConditionValidated); v != "False/ValidationFailed" {
		t.Errorf("Validated %s", v)
	}
	if st.TotalRows <= 1000 || st.SourceCount != 3 || st.Artifact == nil || st.Artifact.Digest != manifest.Digest(m2) {
		t.Errorf("a failed build changed the published fields: %s", mustJSON(st))
	}
	eventually(t, "warning event", func() error {
		for {
			select {
			case e := <-tm.recorder.Events:
				if strings.Contains(e, "Warning") && strings.Contains(e, "ValidationFailed") && strings.Contains(e, "want at least 5000") {
					return nil
				}
			default:
				return errors.New("no ValidationFailed warning event")
			}
		}
	})
	// Failed with the same inputs: no retry until something changes.
	touch(t, b, "example.com/poke", "3")
	consistently(t, "no retry of a failed build", func() error {
		if n := len(listJobs(t, ns)); n != 3 {
			return fmt.Errorf("%d Jobs", n)
		}
		return nil
	})
	// Asking for a build runs one.
	touch(t, b, v1alpha1.AnnotationRequestedAt, "now")
	waitJobs(t, ns, 4)
}

// readManifestAt reads the manifest at uri (a file:// output of a test).
func readManifestAt(t *testing.T, uri string) *manifest.Manifest {
	t.Helper()
	base, key, err := worker.SplitManifestURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := storage.Open(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	m, err := manifest.Read(ctx, loc, key)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newestJob(js []batchv1.Job, not ...string) *batchv1.Job {
	for i := range js {
		skip := false
		for _, n := range not {
			skip = skip || js[i].Name == n
		}
		if !skip {
			return &js[i]
		}
	}
	return nil
}

func TestDatasetBuildStalls(t *testing.T) {
	needEnv(t)
	tm := startManager(t, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	ns := newNamespace(t)

	// A missing Secret stalls the build with its name.
	b := newBuild(ns, "needs-secret", "s3://bucket/raw", "s3://bucket/out")
	b.Spec.Source.SecretRef = &v1alpha1.SecretRef{Name: "creds"}
	if err := k8s.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	eventually(t, "SecretNotFound", func() error {
		st := getBuild(t, b).Status
		if s := condition(st.Conditions, v1alpha1.ConditionStalled); s != "True/SecretNotFound" {
			return fmt.Errorf("Stalled %s", s)
		}
		return nil
	})
	if n := len(listJobs(t, ns)); n != 0 {
		t.Fatalf("%d Jobs without the Secret", n)
	}
	// Creating the Secret is enough: the Secret watch reconciles the build
	// at once, without waiting for the one-minute requeue. This Secret
	// has no usable S3 credentials (no secret key), so the controller
	// cannot list and runs a Job per interval with the Secret as envFrom,
	// for the pod's own identity to complete.
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds"}, StringData: map[string]string{"AWS_ACCESS_KEY_ID": "x"}}
	if err := k8s.Create(ctx, sec); err != nil {
		t.Fatal(err)
	}
	j := waitJobs(t, ns, 1)[0]
	if ef := j.Spec.Template.Spec.Containers[0].EnvFrom; len(ef) != 1 || ef[0].SecretRef.Name != "creds" {
		t.Errorf("envFrom %+v", ef)
	}
	if strings.Contains(mustJSON(j), `"x"`) {
		t.Error("the Secret's value is in the Job")
	}

	// Suspended: nothing new starts.
	tm.lister.setErr(nil)
	s := newBuild(ns, "paused", "file:///nowhere", "file:///nowhere-out")
	s.Spec.Suspend = true
	if err := k8s.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Suspended", func() error {
		if c := condition(getBuild(t, s).Status.Conditions, v1alpha1.ConditionReconciling); c != "False/Suspended" {
			return fmt.Errorf("Reconciling %s", c)
		}
		return nil
	})

	// Sources that cannot be listed: retried with backoff, Reconciling
	// says why, no Job.
	tm.lister.setErr(errors.New("bucket unreachable"))
	u := newBuild(ns, "unreachable", "file:///nowhere", "file:///nowhere-out2")
	if err := k8s.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	eventually(t, "SourceUnavailable", func() error {
		if c := condition(getBuild(t, u).Status.Conditions, v1alpha1.ConditionReconciling); c != "True/SourceUnavailable" {
			return fmt.Errorf("Reconciling %s", c)
		}
		return nil
	})
	if n := len(listJobs(t, ns)); n != 1 {
		t.Errorf("%d Jobs", n)
	}
}
