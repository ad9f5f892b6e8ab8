//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/storage"
)

// TestE2E runs the user's story in order: each step starts from what the
// previous ones left (the samples' dataset is rebuilt incrementally, then
// refused a breaking change, …). The other top-level scenarios use names
// of their own and run beside it (t.Parallel), which keeps the suite's
// wall time near this story's.
func TestE2E(t *testing.T) {
	t.Parallel()
	for _, s := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"samples", testSamples},
		{"incremental", testIncremental},
		{"breaking schema change", testBreakingChange},
		{"scheduled drift", testScheduledDrift},
		{"killed worker and manager", testKills},
		{"admission and missing secret", testAdmission},
		{"rbac and pod security", testRBAC},
		{"metrics", testMetrics},
		{"store outage", testStoreOutage},
		{"missing service account", testMissingServiceAccount},
		// Last: it reads every resource the others left.
		{"kstatus agrees with kubectl wait", testKstatusAgrees},
	} {
		t.Run(s.name, s.f)
	}
}

// 1. Apply the samples; they become Ready and their status matches the bucket.
func testSamples(t *testing.T) {
	// Re-list the sources every minute (the least allowed) instead of hourly,
	// so that the next step sees its changes soon.
	build := strings.Replace(sample(t, "mldata_v1alpha1_datasetbuild.yaml"), "intervalSeconds: 3600", "intervalSeconds: 60", 1)
	if !strings.Contains(build, "intervalSeconds: 60") {
		t.Fatal("the DatasetBuild sample has no intervalSeconds: 3600 to shorten")
	}
	apply(t, build)
	apply(t, sample(t, "mldata_v1alpha1_datasetprofile.yaml"))
	apply(t, sample(t, "mldata_v1alpha1_driftcheck.yaml"))

	wait(t, 3*time.Minute, "condition=Ready", "datasetbuild/churn")
	wait(t, 3*time.Minute, "condition=Ready", "datasetprofile/churn-train")

	b := getBuild(t, "churn")
	m := latest(t, "datasets/churn/")
	if m == nil {
		t.Fatal("Ready, but nothing is published under datasets/churn/")
	}
	if b.Status.BuildID != m.BuildID {
		t.Errorf("status.buildID %q, published build %q", b.Status.BuildID, m.BuildID)
	}
	if !strings.Contains(b.Status.ManifestURI, manifest.Key(m.BuildID)) {
		t.Errorf("status.manifestURI %q does not name %s", b.Status.ManifestURI, manifest.Key(m.BuildID))
	}
	wantRows := csvRows(t, "testdata/sample")
	if b.Status.TotalRows != wantRows || m.Rows() != wantRows {
		t.Errorf("rows: status %d, manifest %d, source files %d", b.Status.TotalRows, m.Rows(), wantRows)
	}
	for _, s := range m.Splits {
		if got := splitRows(b, s.Name); got != s.Rows {
			t.Errorf("split %s: status %d rows, manifest %d", s.Name, got, s.Rows)
		}
		checkParts(t, "datasets/churn/", s.Parts)
	}
	if b.Status.FilesProcessed != 2 || b.Status.SourceCount != 2 {
		t.Errorf("files processed %d of %d, want 2 of 2", b.Status.FilesProcessed, b.Status.SourceCount)
	}
	for _, f := range b.Status.Sources {
		if want := sha256File(t, filepath.Join("testdata/sample", f.Key)); f.SHA256 != want {
			t.Errorf("status.sources %s: sha256 %s, the uploaded file's is %s", f.Key, f.SHA256, want)
		}
	}
	if len(b.Status.Sources) != 2 {
		t.Errorf("status.sources has %d files, want 2", len(b.Status.Sources))
	}
	if b.Status.Schema == nil || b.Status.Schema.Version != 1 || b.Status.Schema.Fingerprint != m.Schema.Fingerprint {
		t.Errorf("status.schema %+v, manifest version %d fingerprint %s", b.Status.Schema, m.Schema.Version, m.Schema.Fingerprint)
	}

	p := getProfile(t, "churn-train")
	if p.Status.SourceBuildID != m.BuildID {
		t.Errorf("profile of build %q, published %q", p.Status.SourceBuildID, m.BuildID)
	}
	if want := splitRows(b, "train"); p.Status.Rows != want {
		t.Errorf("profile rows %d, train split %d", p.Status.Rows, want)
	}
	for _, uri := range []string{p.Status.ReportURI, p.Status.HTMLReportURI} {
		if uri == "" {
			t.Errorf("profile status lacks a report URI: %+v", p.Status)
			continue
		}
		if _, err := storage.Open(context.Background(), uri); err != nil {
			t.Errorf("report %s: %v", uri, err)
		}
	}

	// The sample DriftCheck runs every 30 minutes: until then it says when.
	d := getDrift(t, "churn-drift")
	// It has no result yet, so no Ready condition (kstatus: Current, nothing
	// asked of the controller); Reconciling=False says when it runs.
	if c := apimeta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionReconciling); c == nil || c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonScheduled {
		t.Errorf("scheduled DriftCheck before its first run: Reconciling %s", cond(d.Status.Conditions, v1alpha1.ConditionReconciling))
	}
	if c := apimeta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionReady); c != nil {
		t.Errorf("scheduled DriftCheck before its first run: Ready %s, want none", cond(d.Status.Conditions, v1alpha1.ConditionReady))
	}
	out := mustKubectl(t, "-n", ns, "get", "mldata")
	for _, name := range []string{"churn", "churn-train", "churn-drift"} {
		if !strings.Contains(out, name) {
			t.Errorf("kubectl get mldata does not list %s:\n%s", name, out)
		}
	}
	t.Logf("kubectl get mldata:\n%s", out)
}

// 2. One source changed and one added: only those two are read. Nothing
// changed: no Job at all.
func testIncremental(t *testing.T) {
	before := getBuild(t, "churn")
	a := readFile(t, "testdata/sample/customers-2024a.csv")
	rowsA := bytes.Split(bytes.TrimSpace(a), []byte("\n"))
	header, first := rowsA[0], rowsA[1]
	withID := func(id int) []byte {
		_, rest, _ := bytes.Cut(first, []byte(","))
		return append([]byte(fmt.Sprintf("%d,", id)), rest...)
	}
	b := readFile(t, "testdata/sample/customers-2024b.csv")
	changed := append(append(bytes.TrimRight(b, "\n"), '\n'), append(withID(90001), '\n')...)
	added := bytes.Join([][]byte{header, withID(90002), withID(90003), withID(90004)}, []byte("\n"))
	put(t, "raw/customers/", "customers-2024b.csv", changed)
	put(t, "raw/customers/", "customers-2024c.csv", append(added, '\n'))

	var b2 *v1alpha1.DatasetBuild
	eventually(t, 150*time.Second, "a new build of the changed sources", func() error {
		b2 = getBuild(t, "churn")
		if b2.Status.BuildID == before.Status.BuildID || !apimeta.IsStatusConditionTrue(b2.Status.Conditions, v1alpha1.ConditionReady) {
			return fmt.Errorf("build %s, Ready %s", b2.Status.BuildID, cond(b2.Status.Conditions, v1alpha1.ConditionReady))
		}
		return nil
	})
	if b2.Status.FilesProcessed != 2 || b2.Status.FilesReused != 1 {
		t.Errorf("processed %d, reused %d; want 2 and 1", b2.Status.FilesProcessed, b2.Status.FilesReused)
	}
	if want := before.Status.TotalRows + 4; b2.Status.TotalRows != want {
		t.Errorf("rows %d, want %d", b2.Status.TotalRows, want)
	}
	if m := latest(t, "datasets/churn/"); m == nil || m.BuildID != b2.Status.BuildID {
		t.Errorf("published build is not status.buildID %s", b2.Status.BuildID)
	}

	// Nothing changes for more than an interval: the controller re-lists
	// but creates no Job and writes nothing (lastCheckTime is the time of
	// the listing that started the last build, so that referrers are not
	// woken every interval; the re-listing itself is proven by
	// controllers' TestBuildCadence).
	jobs := len(jobsOf(t, "churn"))
	checked := b2.Status.LastCheckTime
	time.Sleep(75 * time.Second)
	b3 := getBuild(t, "churn")
	if n := len(jobsOf(t, "churn")); n != jobs {
		t.Errorf("%d Jobs after 75 s of unchanged sources, had %d", n, jobs)
	}
	if b3.Status.BuildID != b2.Status.BuildID {
		t.Errorf("a new build %s without a change", b3.Status.BuildID)
	}
	if checked == nil || b3.Status.LastCheckTime == nil || !b3.Status.LastCheckTime.Equal(checked) {
		t.Errorf("status written without a change: lastCheckTime %v then %v", checked, b3.Status.LastCheckTime)
	}
}

// 3. Under Strict, a breaking schema change (a column removed from every
// source) fails the build with a clear condition; so does a file whose
// column type contradicts the others. The previous dataset stays published
// and readable throughout.
func testBreakingChange(t *testing.T) {
	mustKubectl(t, "-n", ns, "patch", "datasetbuild/churn", "--type=merge", "-p", `{"spec":{"schemaPolicy":"Strict"}}`)
	waitObserved(t, "churn")
	good := latest(t, "datasets/churn/")
	stillPublished := func() {
		t.Helper()
		now := latest(t, "datasets/churn/")
		if now == nil || now.BuildID != good.BuildID {
			t.Fatalf("the published build moved from %s after a refused build", good.BuildID)
		}
		for _, s := range now.Splits {
			checkParts(t, "datasets/churn/", s.Parts)
		}
		if b := getBuild(t, "churn"); b.Status.BuildID != good.BuildID {
			t.Errorf("status.buildID %s, still published %s", b.Status.BuildID, good.BuildID)
		}
	}

	// A file that contradicts the others: the build names file and column.
	header := "customer_id,signup_time,country,plan,monthly_fee,tenure_months,support_calls,nps,churned,note\n"
	bad := header + "95001,2024-03-01T10:00:00Z,GB,basic,9.99,ten,0,8,false,x\n" +
		"95002,2024-03-02T10:00:00Z,DE,basic,9.99,eleven,1,7,false,y\n"
	put(t, "raw/customers/", "customers-2024d.csv", []byte(bad))
	request(t, "datasetbuild/churn")
	wait(t, 2*time.Minute, "condition=Stalled", "datasetbuild/churn")
	if s := cond(getBuild(t, "churn").Status.Conditions, v1alpha1.ConditionReady); !strings.Contains(s, "customers-2024d.csv") || !strings.Contains(s, "tenure_months") {
		t.Errorf("Ready: %s; want the file and the column named", s)
	}
	stillPublished()
	del(t, "raw/customers/", "customers-2024d.csv")

	// Every source loses the note column: schema version 2 would remove a
	// column, which Strict refuses before anything is published.
	originals := map[string][]byte{}
	for _, key := range []string{"customers-2024a.csv", "customers-2024b.csv", "customers-2024c.csv"} {
		data := get(t, "raw/customers/", key)
		originals[key] = data
		put(t, "raw/customers/", key, dropLastColumn(t, data))
	}
	request(t, "datasetbuild/churn")
	wait(t, 2*time.Minute, "condition=SchemaCompatible=false", "datasetbuild/churn")
	b := getBuild(t, "churn")
	if s := cond(b.Status.Conditions, v1alpha1.ConditionSchemaCompatible); !strings.Contains(s, "note") {
		t.Errorf("SchemaCompatible: %s; want the removed column named", s)
	}
	if s := cond(b.Status.Conditions, v1alpha1.ConditionReady); !strings.HasPrefix(s, "False/") {
		t.Errorf("Ready: %s after a refused breaking change", s)
	}
	stillPublished()

	// The sources as they were: Ready again, on the same build.
	for key, data := range originals {
		put(t, "raw/customers/", key, data)
	}
	request(t, "datasetbuild/churn")
	wait(t, 2*time.Minute, "condition=Ready", "datasetbuild/churn")
	wait(t, 10*time.Second, "condition=SchemaCompatible", "datasetbuild/churn")
	stillPublished()
}

// 4. Scheduled DriftChecks every minute: drifted data says DriftDetected=True,
// clean data False; changed inputs make a new run, unchanged inputs are
// skipped and say so; history limits hold.
func testScheduledDrift(t *testing.T) {
	check := func(name, current string) string {
		return fmt.Sprintf(`apiVersion: mldata.io/v1alpha1
kind: DriftCheck
metadata:
  name: %s
spec:
  baseline:
    datasetBuildRef: {name: churn, split: train}
  current:
%s
  columns:
    exclude: [customer_id, signup_time, note]
  output:
    uri: %s
    secretRef: {name: mldata-s3}
  schedule: "* * * * *"
  concurrencyPolicy: Forbid
  successfulRunsHistoryLimit: 1
  failedRunsHistoryLimit: 1
`, name, current, bucketURI("drift/"+name+"/"))
	}
	apply(t, check("drifted", fmt.Sprintf("    uri: %s\n    format: csv\n    secretRef: {name: mldata-s3}", bucketURI("raw/customers-drifted/"))))
	apply(t, check("clean", "    datasetBuildRef: {name: churn, split: train}"))

	wait(t, 150*time.Second, "condition=DriftDetected=true", "driftcheck/drifted")
	wait(t, 150*time.Second, "condition=DriftDetected=false", "driftcheck/clean")
	d := getDrift(t, "drifted")
	if d.Status.LastRun == nil || !d.Status.LastRun.DriftDetected || d.Status.LastRun.DriftedColumnCount == 0 || len(d.Status.LastRun.DriftedColumns) == 0 {
		t.Fatalf("drifted: lastRun %+v", d.Status.LastRun)
	}
	if _, err := storage.Open(context.Background(), d.Status.LastRun.ReportURI); err != nil {
		t.Errorf("drift report %s: %v", d.Status.LastRun.ReportURI, err)
	}
	firstJob := d.Status.LastRun.JobName

	// New current data: the next minute's run reads it.
	put(t, "raw/customers-drifted/", "customers-2025b.csv", readFile(t, "testdata/sample-drifted/customers-2025.csv"))
	eventually(t, 150*time.Second, "a second scheduled run of drifted", func() error {
		d = getDrift(t, "drifted")
		if d.Status.LastRun == nil || d.Status.LastRun.JobName == firstJob || d.Status.LastRun.CompletionTime == nil {
			return fmt.Errorf("last run %+v", d.Status.LastRun)
		}
		return nil
	})
	if !d.Status.LastRun.DriftDetected {
		t.Errorf("second run of drifted: %+v", d.Status.LastRun)
	}
	// successfulRunsHistoryLimit: 1 leaves the newest finished Job only.
	eventually(t, 30*time.Second, "history limit of drifted", func() error {
		var finished []string
		for _, j := range jobsOf(t, "drifted") {
			if isFinished(&j) {
				finished = append(finished, j.Name)
			}
		}
		if len(finished) != 1 {
			return fmt.Errorf("finished Jobs %v, want 1", finished)
		}
		return nil
	})

	// clean's inputs did not change: its next scheduled run is skipped.
	eventually(t, 150*time.Second, "a skipped run of clean", func() error {
		out, err := kubectl("-n", ns, "get", "events", "--field-selector", "involvedObject.name=clean,reason=Skipped", "-o", "name")
		if err != nil {
			return err
		}
		if strings.TrimSpace(out) == "" {
			return fmt.Errorf("no Skipped event yet")
		}
		return nil
	})
	c := getDrift(t, "clean")
	if n := len(jobsOf(t, "clean")); n != 1 {
		t.Errorf("clean has %d Jobs; unchanged inputs must not run again", n)
	}
	if ready := apimeta.FindStatusCondition(c.Status.Conditions, v1alpha1.ConditionReady); ready == nil || !strings.Contains(ready.Message, "skipped") {
		t.Errorf("clean: Ready %s, want a message that the run was skipped", cond(c.Status.Conditions, v1alpha1.ConditionReady))
	}
	// Stop the schedules so the later steps run on a quiet cluster.
	mustKubectl(t, "-n", ns, "patch", "driftcheck/drifted", "driftcheck/clean", "--type=merge", "-p", `{"spec":{"suspend":true}}`)
}

// 5. The worker is killed mid-build: the Job controller retries, the retry
// succeeds, and no partial build is ever visible. The manager is killed
// mid-build and restarted: no duplicate Job, status converges.
func testKills(t *testing.T) {
	big := bigSource(t)
	put(t, "raw/big/", "big.csv", big)
	rows := int64(bytes.Count(big, []byte("\n")) - 1)
	apply(t, fmt.Sprintf(`apiVersion: mldata.io/v1alpha1
kind: DatasetBuild
metadata:
  name: big
spec:
  source:
    uri: %s
    format: csv
    secretRef: {name: mldata-s3}
  output:
    uri: %s
    format: parquet
    compression: zstd
    secretRef: {name: mldata-s3}
  split:
    ratios:
    - {name: train, ratio: 0.9}
    - {name: test, ratio: 0.1}
    key: id
`, bucketURI("raw/big/"), bucketURI("datasets/big/")))

	// Watch the output the whole time: whatever is published must be whole.
	stop := watchPublished(t, "datasets/big/")
	defer stop()

	pod, pid := runningWorker(t, "big", 0)
	if m := latest(t, "datasets/big/"); m != nil {
		t.Fatalf("build %s published while its worker still runs", m.BuildID)
	}
	if uid := processUID(t, pid); uid == 0 {
		t.Errorf("worker pod %s runs as root", pod)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing worker %d: %v", pid, err)
	}
	t.Logf("killed worker pid %d of pod %s", pid, pod)
	wait(t, 4*time.Minute, "condition=Ready", "datasetbuild/big")
	js := jobsOf(t, "big")
	if len(js) != 1 {
		t.Fatalf("%d Jobs for one build", len(js))
	}
	if js[0].Status.Failed < 1 || js[0].Status.Succeeded != 1 {
		t.Errorf("Job %s: failed %d, succeeded %d; want a failed pod and a successful retry", js[0].Name, js[0].Status.Failed, js[0].Status.Succeeded)
	}
	m := latest(t, "datasets/big/")
	if m == nil || m.Rows() != rows {
		t.Fatalf("published %v rows, want %d", m, rows)
	}

	// A spec change starts a second build; the manager dies while it runs.
	mustKubectl(t, "-n", ns, "patch", "datasetbuild/big", "--type=merge", "-p", `{"spec":{"output":{"compression":"snappy"}}}`)
	runningWorker(t, "big", 1)
	env.manager.stop(syscall.SIGKILL)
	time.Sleep(2 * time.Second)
	if err := restartManager(); err != nil {
		t.Fatal(err)
	}
	waitObserved(t, "big")
	wait(t, 4*time.Minute, "condition=Ready", "datasetbuild/big")
	js = jobsOf(t, "big")
	if len(js) != 2 {
		names := []string{}
		for _, j := range js {
			names = append(names, j.Name)
		}
		t.Errorf("Jobs %v: want exactly one per build (2)", names)
	}
	b := getBuild(t, "big")
	m2 := latest(t, "datasets/big/")
	if m2 == nil || m2.BuildID == m.BuildID || b.Status.BuildID != m2.BuildID || m2.Output.Compression != "snappy" {
		t.Errorf("after the restart: status build %s, published %+v", b.Status.BuildID, m2)
	}
}

// 6. Bad manifests are refused by kubectl apply with messages that name the
// field; a build whose Secret is missing says so and recovers once it exists.
func testAdmission(t *testing.T) {
	base := func(extra string) string {
		return `apiVersion: mldata.io/v1alpha1
kind: DatasetBuild
metadata:
  name: bad
spec:
  source: {uri: "s3://b/in/", format: csv}
  output: {uri: "s3://b/out/", format: parquet}
` + extra
	}
	for _, c := range []struct{ name, yaml, want string }{
		{"ratios", base("  split:\n    ratios:\n    - {name: train, ratio: 0.8}\n    - {name: test, ratio: 0.1}\n"), "spec.split"},
		{"enum", strings.Replace(base(""), "format: parquet", "format: xlsx", 1), "spec.output.format"},
		{"cron", `apiVersion: mldata.io/v1alpha1
kind: DriftCheck
metadata:
  name: bad
spec:
  baseline: {uri: "s3://b/a/"}
  current: {uri: "s3://b/b/"}
  output: {uri: "s3://b/d/"}
  schedule: "every minute"
`, "spec.schedule"},
	} {
		out, err := kubectlIn(c.yaml, "-n", ns, "apply", "-f", "-")
		if err == nil {
			t.Errorf("%s: accepted:\n%s", c.name, out)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: the message does not name %s:\n%v", c.name, c.want, err)
		}
	}

	apply(t, fmt.Sprintf(`apiVersion: mldata.io/v1alpha1
kind: DatasetBuild
metadata:
  name: late-secret
spec:
  source: {uri: %q, format: csv, secretRef: {name: mldata-s3-late}}
  output: {uri: %q, format: jsonl, secretRef: {name: mldata-s3-late}}
`, bucketURI("raw/customers/"), bucketURI("datasets/late/")))
	wait(t, time.Minute, "condition=Stalled", "datasetbuild/late-secret")
	b := getBuild(t, "late-secret")
	if s := cond(b.Status.Conditions, v1alpha1.ConditionReady); !strings.Contains(s, v1alpha1.ReasonSecretNotFound) || !strings.Contains(s, "mldata-s3-late") {
		t.Errorf("Ready: %s; want SecretNotFound naming mldata-s3-late", s)
	}
	if err := createS3Secret("mldata-s3-late"); err != nil {
		t.Fatal(err)
	}
	wait(t, 90*time.Second, "condition=Ready", "datasetbuild/late-secret")
}

// 7. The manager's ServiceAccount may do what it needs and no more; worker
// pods run under the restricted Pod Security Standard.
func testRBAC(t *testing.T) {
	as := "--as=system:serviceaccount:" + systemNS + ":" + managerSA
	for _, c := range []struct {
		verb, resource string
		want           string
	}{
		{"create", "jobs.batch", "yes"},
		{"delete", "jobs.batch", "yes"},
		{"watch", "pods", "yes"},
		{"get", "secrets", "yes"},
		{"patch", "datasetbuilds.mldata.io --subresource=status", "yes"},
		{"create", "events.events.k8s.io", "yes"},
		{"create", "secrets", "no"},
		{"update", "secrets", "no"},
		{"delete", "secrets", "no"},
		{"create", "pods", "no"},
		{"delete", "pods", "no"},
		{"create", "pods/exec", "no"},
		{"update", "datasetbuilds.mldata.io", "no"},
		{"create", "clusterrolebindings.rbac.authorization.k8s.io", "no"},
		{"*", "*", "no"},
	} {
		args := append([]string{"auth", "can-i", c.verb}, strings.Fields(c.resource)...)
		out, _ := kubectl(append(args, "-n", ns, as)...)
		if got := strings.TrimSpace(out); got != c.want {
			t.Errorf("can the manager %s %s? %q, want %q", c.verb, c.resource, got, c.want)
		}
	}
	// Leader election records its transitions as Events.
	if out, _ := kubectl("auth", "can-i", "create", "events", "-n", systemNS, as); strings.TrimSpace(out) != "yes" {
		t.Errorf("the manager cannot create Events in %s: %q", systemNS, out)
	}
	if b, err := os.ReadFile(env.manager.log); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "forbidden") {
				t.Errorf("the manager was refused a request: %s", tail(line, 1000))
			}
		}
	}
	role := string(readFile(t, "config/rbac/role.yaml"))
	if strings.Contains(role, "'*'") || strings.Contains(role, `"*"`) || strings.Contains(role, "- '*'") || strings.Contains(role, "- \"*\"") {
		t.Errorf("config/rbac/role.yaml has a wildcard:\n%s", role)
	}

	var pods corev1.PodList
	getJSON(t, &pods, "pods", "-l", v1alpha1.LabelKind)
	if len(pods.Items) == 0 {
		t.Fatal("no worker pods to check")
	}
	for _, p := range pods.Items {
		psc := p.Spec.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
			t.Errorf("pod %s: runAsNonRoot is not set", p.Name)
		}
		for _, c := range p.Spec.Containers {
			sc := c.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("pod %s container %s: %+v", p.Name, c.Name, sc)
			}
		}
	}
	// The namespace enforces "restricted": the pods above were admitted
	// under it.
	var n corev1.Namespace
	getJSON(t, &n, "namespace", ns)
	if n.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace %s labels %v", ns, n.Labels)
	}
}

// 8. The manager's metrics endpoint has the series of what happened above.
func testMetrics(t *testing.T) {
	resp, err := http.Get("http://" + env.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	// The manager was restarted in step 5: counters start again, gauges
	// are set from status.
	for _, want := range []string{
		`mldata_datasetbuild_rows{name="churn",namespace="mldata-e2e",split="train"}`,
		`mldata_datasetbuild_builds_total{name="big",namespace="mldata-e2e",result="succeeded"} 1`,
		`mldata_driftcheck_last_max_psi{name="drifted",namespace="mldata-e2e"}`,
		`mldata_driftcheck_last_max_psi{name="clean",namespace="mldata-e2e"} 0`,
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		var ours []string
		for _, line := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(line, "mldata_") {
				ours = append(ours, line)
			}
		}
		t.Logf("mldata series:\n%s", strings.Join(ours, "\n"))
	}
}

// ---- helpers of the steps ----

// request asks for a run now, as a user does, instead of waiting for the
// next interval.
func request(t testing.TB, obj string) {
	t.Helper()
	mustKubectl(t, "-n", ns, "annotate", "--overwrite", obj, v1alpha1.AnnotationRequestedAt+"="+time.Now().UTC().Format(time.RFC3339Nano))
}

// dropLastColumn removes the last column of a CSV file.
func dropLastColumn(t testing.TB, data []byte) []byte {
	t.Helper()
	records, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w := csv.NewWriter(&out)
	for _, r := range records {
		if err := w.Write(r[:len(r)-1]); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	return out.Bytes()
}

func readFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sha256File(t testing.TB, rel string) string {
	s := sha256.Sum256(readFile(t, rel))
	return hex.EncodeToString(s[:])
}

// csvRows counts the data rows of the CSV files in a folder (the samples
// have no line breaks inside fields).
func csvRows(t testing.TB, dir string) int64 {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(env.root, dir))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range entries {
		b := readFile(t, filepath.Join(dir, e.Name()))
		n += int64(bytes.Count(bytes.TrimRight(b, "\n"), []byte("\n")))
	}
	return n
}

func splitRows(b *v1alpha1.DatasetBuild, name string) int64 {
	for _, r := range b.Status.Rows {
		if string(r.Name) == name {
			return r.Rows
		}
	}
	return -1
}

// checkParts asserts that each part exists with the size the manifest says.
func checkParts(t testing.TB, prefix string, parts []manifest.Part) {
	t.Helper()
	loc := openBucket(t, prefix)
	for _, p := range parts {
		o, err := loc.Attributes(context.Background(), p.Path)
		if err != nil {
			t.Errorf("part %s: %v", p.Path, err)
			continue
		}
		if o.Size != p.Bytes {
			t.Errorf("part %s: %d bytes, manifest says %d", p.Path, o.Size, p.Bytes)
		}
	}
}

// waitObserved waits until the build's status is of its current generation
// and no Job runs.
func waitObserved(t testing.TB, name string) {
	t.Helper()
	eventually(t, 3*time.Minute, "build "+name+" to settle", func() error {
		b := getBuild(t, name)
		if b.Status.ObservedGeneration != b.Generation {
			return fmt.Errorf("observedGeneration %d of %d", b.Status.ObservedGeneration, b.Generation)
		}
		if apimeta.IsStatusConditionTrue(b.Status.Conditions, v1alpha1.ConditionReconciling) {
			return fmt.Errorf("reconciling: %s", cond(b.Status.Conditions, v1alpha1.ConditionReconciling))
		}
		return nil
	})
}

func isFinished(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// runningWorker waits for the n-th Job (0-based) of a resource to run a
// worker process and returns its pod's name and the process id, which the
// node writes beside the pod's logs.
func runningWorker(t testing.TB, name string, n int) (string, int) {
	t.Helper()
	var pod string
	var pid int
	eventually(t, 2*time.Minute, fmt.Sprintf("worker of Job %d of %s to run", n, name), func() error {
		js := jobsOf(t, name)
		if len(js) <= n {
			return fmt.Errorf("%d Jobs", len(js))
		}
		for _, p := range podsOf(t, js[n].Name) {
			if p.Status.Phase != corev1.PodRunning {
				continue
			}
			files, _ := filepath.Glob(filepath.Join(env.state, "cluster", "*", "pods", ns+"_"+p.Name+"_*", "pid"))
			if len(files) == 0 {
				files, _ = filepath.Glob(filepath.Join(env.state, "cluster", "*", "*", "pods", ns+"_"+p.Name+"_*", "pid"))
			}
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					continue
				}
				if _, err := fmt.Sscan(string(b), &pid); err == nil && pid > 0 {
					pod = p.Name
					return nil
				}
			}
			return fmt.Errorf("pod %s runs, but its pid file is not found", p.Name)
		}
		return fmt.Errorf("no running pod of Job %s", js[n].Name)
	})
	return pod, pid
}

func processUID(t testing.TB, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("worker process %d: %v", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			var uid int
			fmt.Sscan(rest, &uid)
			return uid
		}
	}
	t.Fatalf("no Uid in /proc/%d/status", pid)
	return -1
}

// watchPublished polls an output's latest build every 200 ms until stop and
// fails the test if a published build ever lacks a part.
func watchPublished(t *testing.T, prefix string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		loc, err := storage.OpenOutput(context.Background(), bucketURI(prefix))
		if err != nil {
			t.Error(err)
			return
		}
		defer loc.Close()
		seen := map[string]bool{}
		for {
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
			}
			_, m, err := manifest.ReadLatest(context.Background(), loc)
			if err != nil || seen[m.BuildID] {
				continue
			}
			seen[m.BuildID] = true
			for _, s := range m.Splits {
				for _, p := range s.Parts {
					if o, err := loc.Attributes(context.Background(), p.Path); err != nil || o.Size != p.Bytes {
						t.Errorf("published build %s has a missing or partial part %s (%v)", m.BuildID, p.Path, err)
					}
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// bigSource is a CSV large enough (≈ 1.5M rows, > 16 MiB so S3 stores it
// in parts) that a build runs for seconds, long enough to be killed.
func bigSource(t testing.TB) []byte {
	t.Helper()
	path := filepath.Join(env.state, "big.csv")
	if b, err := os.ReadFile(path); err == nil {
		return b
	}
	if _, err := sh("go", "run", "./hack/gendata", "-rows", "1500000", "-format", "csv", "-seed", "7", "-o", path); err != nil {
		t.Fatal(err)
	}
	return readFile(t, filepath.Join("bin", "e2e", "big.csv"))
}
