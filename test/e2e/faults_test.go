//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/testservers"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/storage"
)

// These scenarios use resource names of their own and, for the outage, an
// S3 server of their own, so that they run beside the others.

// kstatusOf is kstatus' verdict on a stored resource, as Argo CD and Flux
// compute it.
func kstatusOf(t testing.TB, kind, name string) (status.Status, string) {
	t.Helper()
	res, err := status.Compute(getObject(t, kind+"/"+name))
	if err != nil {
		t.Fatal(err)
	}
	return res.Status, res.Message
}

// getObject reads a resource as kubectl prints it, with JSON numbers as
// the API machinery reads them (integers stay integers).
func getObject(t testing.TB, ref string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON([]byte(mustKubectl(t, "-n", ns, "get", "-o", "json", ref))); err != nil {
		t.Fatalf("decoding %s: %v", ref, err)
	}
	return u
}

// testStoreOutage: the S3 server a build reads and writes is stopped while
// the build's worker reads its sources, and restarted after the Job failed.
// The resource is Reconciling, never Stalled, the whole time (kstatus
// InProgress); the controller retries by itself and the build becomes
// Ready with the source's rows.
//
// The store is a versitygw of the scenario's own behind the fault proxy,
// whose only rule holds the worker's first read of a source object for a
// few seconds: it marks the moment the build is under way, so that the
// server is stopped during the build and not before or after it. While the
// server is down the proxy answers 502, as a load balancer in front of a
// stopped store does.
func testStoreOutage(t *testing.T) {
	s := testservers.S3(t)
	ctx := context.Background()
	if err := s.CreateBucket(ctx, "outage"); err != nil {
		t.Fatal(err)
	}
	faults := testservers.NewInjector(5, testservers.Rule{Op: testservers.OpGet, Key: `^raw/`, Fault: testservers.FaultSlow, P: 1, Max: 1, Delay: 6 * time.Second})
	proxy := testservers.NewFaultProxy(t, s.Endpoint, faults)
	// The server keeps each object as a file (posix backend): the sources
	// are put there, and the published manifest read from there, without
	// this process's credentials, which are the suite's server's.
	raw := filepath.Join(s.Dir, "outage", "raw")
	if err := os.MkdirAll(raw, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(env.root, "testdata/sample"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.WriteFile(filepath.Join(raw, e.Name()), readFile(t, filepath.Join("testdata/sample", e.Name())), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustKubectl(t, "-n", ns, "create", "secret", "generic", "outage-s3",
		"--from-literal="+storage.AWSAccessKeyID+"="+s.AccessKey, "--from-literal="+storage.AWSSecretAccessKey+"="+s.SecretKey)
	apply(t, fmt.Sprintf(`apiVersion: mldata.io/v1alpha1
kind: DatasetBuild
metadata:
  name: outage
spec:
  source:
    uri: %s
    format: csv
    secretRef: {name: outage-s3}
  output:
    uri: %s
    secretRef: {name: outage-s3}
  activeDeadlineSeconds: 120
  retry: {maxAttempts: 4}
`, proxy.URI(s, "outage", "raw/"), proxy.URI(s, "outage", "datasets/outage/")))

	// The worker has asked for a source object: the build is under way.
	eventually(t, 2*time.Minute, "the worker to read its sources", func() error {
		if faults.Count(testservers.OpGet, testservers.FaultSlow) == 0 {
			return fmt.Errorf("no read yet; Jobs %d", len(jobsOf(t, "outage")))
		}
		return nil
	})
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Log("S3 server stopped during the build")

	// Until the Job has failed and the server is back, and then until the
	// retry is Ready, the build is never Stalled.
	notStalled := func() (*v1alpha1.DatasetBuild, error) {
		b := getBuild(t, "outage")
		if apimeta.IsStatusConditionTrue(b.Status.Conditions, v1alpha1.ConditionStalled) {
			t.Fatalf("Stalled during a store outage: %s", cond(b.Status.Conditions, v1alpha1.ConditionStalled))
		}
		if ks, msg := kstatusOf(t, "datasetbuild", "outage"); ks == status.FailedStatus {
			t.Fatalf("kstatus Failed during a store outage: %s", msg)
		}
		return b, nil
	}
	var first batchv1.Job
	eventually(t, 3*time.Minute, "the Job to fail while the store is down", func() error {
		b, _ := notStalled()
		js := jobsOf(t, "outage")
		if len(js) != 1 {
			return fmt.Errorf("%d Jobs", len(js))
		}
		first = js[0]
		if !jobFailed(&first) {
			return fmt.Errorf("Job %s not failed yet (Reconciling %s)", first.Name, cond(b.Status.Conditions, v1alpha1.ConditionReconciling))
		}
		return nil
	})
	eventually(t, time.Minute, "the failure recorded as transient", func() error {
		b, _ := notStalled()
		c := apimeta.FindStatusCondition(b.Status.Conditions, v1alpha1.ConditionReconciling)
		if c == nil || c.Status != metav1.ConditionTrue || (c.Reason != v1alpha1.ReasonRetryScheduled && c.Reason != "SourceUnavailable") {
			return fmt.Errorf("Reconciling %s", cond(b.Status.Conditions, v1alpha1.ConditionReconciling))
		}
		if b.Status.Retry == nil || b.Status.Retry.FailedAttempts != 1 {
			return fmt.Errorf("retry %+v", b.Status.Retry)
		}
		if ks, _ := kstatusOf(t, "datasetbuild", "outage"); ks != status.InProgressStatus {
			return fmt.Errorf("kstatus %s", ks)
		}
		return nil
	})
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	t.Log("S3 server restarted")
	eventually(t, 3*time.Minute, "Ready after the retry", func() error {
		b, _ := notStalled()
		if !apimeta.IsStatusConditionTrue(b.Status.Conditions, v1alpha1.ConditionReady) {
			return fmt.Errorf("Ready %s, Reconciling %s", cond(b.Status.Conditions, v1alpha1.ConditionReady), cond(b.Status.Conditions, v1alpha1.ConditionReconciling))
		}
		return nil
	})
	b := getBuild(t, "outage")
	want := csvRows(t, "testdata/sample")
	data, err := os.ReadFile(filepath.Join(s.Dir, "outage", "datasets", "outage", filepath.FromSlash(manifest.Key(b.Status.BuildID))))
	if err != nil {
		t.Fatalf("manifest of build %s: %v", b.Status.BuildID, err)
	}
	m, err := manifest.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	if b.Status.TotalRows != want || m.Rows() != want || b.Status.BuildID != m.BuildID {
		t.Errorf("rows: status %d, published %d (build %s, status %s), source %d", b.Status.TotalRows, m.Rows(), m.BuildID, b.Status.BuildID, want)
	}
	if ks, msg := kstatusOf(t, "datasetbuild", "outage"); ks != status.CurrentStatus {
		t.Errorf("kstatus %s (%s) once Ready", ks, msg)
	}
	js := jobsOf(t, "outage")
	if len(js) != 2 || !jobFailed(&js[0]) || js[1].Status.Succeeded != 1 {
		t.Errorf("Jobs: want the failed one and a successful retry, got %d", len(js))
	}
	t.Logf("faults: %s; Jobs %s (failed), %s", faults, js[0].Name, js[len(js)-1].Name)
}

func jobFailed(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// testMissingServiceAccount: a build names a service account the namespace
// does not have. Its Job can create no pod; activeDeadlineSeconds ends it,
// and the build reports it: Stalled (one attempt allowed) with a message
// that names the deadline and the service account to check.
func testMissingServiceAccount(t *testing.T) {
	const sa = "mldata-worker" // allowed by the manager's default, absent here
	if _, err := kubectl("-n", ns, "get", "serviceaccount", sa); err == nil {
		t.Fatalf("ServiceAccount %s exists in %s: the scenario needs it missing", sa, ns)
	}
	apply(t, fmt.Sprintf(`apiVersion: mldata.io/v1alpha1
kind: DatasetBuild
metadata:
  name: no-account
spec:
  source:
    uri: %s
    secretRef: {name: mldata-s3}
  output:
    uri: %s
    secretRef: {name: mldata-s3}
  serviceAccountName: %s
  activeDeadlineSeconds: 60
  retry: {maxAttempts: 1}
`, bucketURI("raw/customers/"), bucketURI("datasets/no-account/"), sa))
	// The deadline runs from the Job's start: a minute, and some slack for
	// the Job controller and the manager.
	wait(t, 3*time.Minute, "condition=Stalled", "datasetbuild/no-account")
	b := getBuild(t, "no-account")
	c := apimeta.FindStatusCondition(b.Status.Conditions, v1alpha1.ConditionStalled)
	for _, want := range []string{"DeadlineExceeded", "activeDeadlineSeconds 60", "ServiceAccount " + sa, "no pod of it ever started"} {
		if c == nil || !strings.Contains(c.Message, want) {
			t.Errorf("Stalled's message lacks %q: %s", want, cond(b.Status.Conditions, v1alpha1.ConditionStalled))
		}
	}
	if c != nil && c.Reason != v1alpha1.ReasonRetriesExhausted {
		t.Errorf("Stalled reason %s", c.Reason)
	}
	if ks, msg := kstatusOf(t, "datasetbuild", "no-account"); ks != status.FailedStatus {
		t.Errorf("kstatus %s (%s), want Failed", ks, msg)
	}
	js := jobsOf(t, "no-account")
	if len(js) != 1 || !jobFailed(&js[0]) || js[0].Spec.ActiveDeadlineSeconds == nil || *js[0].Spec.ActiveDeadlineSeconds != 60 {
		t.Fatalf("Jobs %d: want one, failed, with activeDeadlineSeconds 60", len(js))
	}
	if pods := podsOf(t, js[0].Name); len(pods) != 0 {
		t.Errorf("%d pods of a Job whose service account is missing", len(pods))
	}
}

// testKstatusAgrees is Argo CD's view of the whole suite: for every
// resource it left, `kubectl wait --for=condition=Stalled` succeeds exactly
// when kstatus says Failed, and `--for=condition=Ready` never then; it
// succeeds whenever kstatus says Current for a resource that has a Ready
// condition (and may while a published resource runs again, InProgress).
// A resource that changed while it was looked at is looked at again.
func testKstatusAgrees(t *testing.T) {
	var list unstructured.UnstructuredList
	out := mustKubectl(t, "-n", ns, "get", "datasetbuilds,datasetprofiles,driftchecks", "-o", "json")
	if err := list.UnmarshalJSON([]byte(out)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) == 0 {
		t.Fatal("the suite left no resource")
	}
	counts := map[status.Status]int{}
	for _, u := range list.Items {
		ref := strings.ToLower(u.GetKind()) + "/" + u.GetName()
		var ks status.Status
		var stalled, ready, hasReady bool
		for attempt := 0; ; attempt++ {
			before := getObject(t, ref)
			res, err := status.Compute(before)
			if err != nil {
				t.Fatal(err)
			}
			ks = res.Status
			// --timeout=0: look once, do not wait.
			_, errS := kubectl("-n", ns, "wait", "--for=condition=Stalled", "--timeout=0", ref)
			_, errR := kubectl("-n", ns, "wait", "--for=condition=Ready", "--timeout=0", ref)
			stalled, ready = errS == nil, errR == nil
			conds, _, _ := unstructured.NestedSlice(before.Object, "status", "conditions")
			hasReady = false
			for _, c := range conds {
				if m, ok := c.(map[string]any); ok && m["type"] == v1alpha1.ConditionReady {
					hasReady = true
				}
			}
			after := getObject(t, ref)
			if after.GetResourceVersion() == before.GetResourceVersion() {
				break
			}
			if attempt == 5 {
				t.Fatalf("%s keeps changing", ref)
			}
			time.Sleep(time.Second)
		}
		counts[ks]++
		t.Logf("%-36s kstatus %-10s kubectl wait Stalled=%v Ready=%v", ref, ks, stalled, ready)
		if stalled != (ks == status.FailedStatus) {
			t.Errorf("%s: kubectl wait Stalled %v, kstatus %s", ref, stalled, ks)
		}
		// Ready stays True while a published resource runs again
		// (InProgress), never while it is Failed.
		if ready && ks == status.FailedStatus {
			t.Errorf("%s: kubectl wait Ready succeeds, kstatus %s", ref, ks)
		}
		if hasReady && ks == status.CurrentStatus && !ready {
			t.Errorf("%s: kstatus Current, kubectl wait Ready fails", ref)
		}
	}
	t.Logf("%d resources: %v", len(list.Items), counts)
}
