package controllers

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/storage"
)

// Every address in this file is on loopback; refusals of other ranges
// are tested as pure functions in pkg/storage.

// fakeBuildReconciler reconciles DatasetBuilds against a fake API server
// holding objs, with reach.
func fakeBuildReconciler(reach Reach, objs ...client.Object) (*DatasetBuildReconciler, client.Client) {
	c := fake.NewClientBuilder().WithScheme(scheme).
		WithStatusSubresource(&v1alpha1.DatasetBuild{}).
		WithIndex(&batchv1.Job{}, OwnerIndex, jobOwnerKey).
		WithObjects(objs...).Build()
	return &DatasetBuildReconciler{Client: c, APIReader: c, Clock: clocktesting.NewFakeClock(time.Now()), Jobs: testSettings, Reach: reach}, c
}

func reconcileBuild(t *testing.T, r *DatasetBuildReconciler, c client.Client, name string) (*v1alpha1.DatasetBuild, error) {
	t.Helper()
	_, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Namespace: "ns", Name: name}})
	var got v1alpha1.DatasetBuild
	if gerr := c.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: name}, &got); gerr != nil {
		t.Fatal(gerr)
	}
	return &got, err
}

func jobsIn(t *testing.T, c client.Client) []batchv1.Job {
	t.Helper()
	var l batchv1.JobList
	if err := c.List(context.Background(), &l, client.InNamespace("ns")); err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// TestBuildRefusedByDefault: with the operator's defaults, URIs that would
// reach the manager's or the pod's filesystem or an internal endpoint, and
// service accounts outside the allow-list, stall the build with a message
// that names the field and the flag, and no Job is created.
func TestBuildRefusedByDefault(t *testing.T) {
	creds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "creds"}, StringData: map[string]string{
		storage.AWSAccessKeyID: "test-access-key", storage.AWSSecretAccessKey: "test-secret-key", storage.AWSRegion: "us-east-1"}}
	for _, tc := range []struct {
		name   string
		mutate func(b *v1alpha1.DatasetBuild)
		reason string
		want   []string
	}{
		{
			name:   "file:/// source",
			mutate: func(b *v1alpha1.DatasetBuild) { b.Spec.Source.URI = "file:///" },
			reason: ReasonURIRefused, want: []string{"spec.source.uri", "file URIs are not allowed", "--allowed-schemes"},
		},
		{
			name:   "output on the pod's filesystem",
			mutate: func(b *v1alpha1.DatasetBuild) { b.Spec.Output.URI = "/var/run/secrets/kubernetes.io/serviceaccount" },
			reason: ReasonURIRefused, want: []string{"spec.output.uri", "local paths are not allowed", "--allowed-schemes"},
		},
		{
			name: "endpoint on loopback",
			mutate: func(b *v1alpha1.DatasetBuild) {
				b.Spec.Source.URI = "s3://bucket/raw/?endpoint=http://127.0.0.1:9&region=us-east-1"
				b.Spec.Source.SecretRef = &v1alpha1.SecretRef{Name: "creds"}
			},
			reason: ReasonURIRefused, want: []string{"spec.source.uri", "loopback", "--allowed-endpoints"},
		},
		{
			name: "endpoint in the Secret",
			mutate: func(b *v1alpha1.DatasetBuild) {
				b.Spec.Source.URI = "s3://bucket/raw/"
				b.Spec.Source.SecretRef = &v1alpha1.SecretRef{Name: "creds-endpoint"}
			},
			reason: ReasonURIRefused, want: []string{"Secret creds-endpoint", "AWS_ENDPOINT_URL", "loopback", "--allowed-endpoints"},
		},
		{
			name:   "identity from the manager's AWS config",
			mutate: func(b *v1alpha1.DatasetBuild) { b.Spec.Source.URI = "s3://bucket/raw/?profile=admin" },
			reason: ReasonURIRefused, want: []string{"spec.source.uri", "query parameter profile"},
		},
		{
			name:   "another service account",
			mutate: func(b *v1alpha1.DatasetBuild) { b.Spec.ServiceAccountName = "ci-deployer" },
			reason: ReasonServiceAccountNotAllowed, want: []string{"spec.serviceAccountName", `"ci-deployer"`, "mldata-worker", "--allowed-service-accounts"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuild("ns", "b", "s3://bucket/raw/", "s3://bucket/out/")
			b.Generation = 1
			tc.mutate(b)
			withEndpoint := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "creds-endpoint"}, Data: map[string][]byte{
				storage.AWSAccessKeyID: []byte("test-access-key"), storage.AWSSecretAccessKey: []byte("test-secret-key"),
				storage.AWSRegion: []byte("us-east-1"), storage.AWSEndpointURL: []byte("http://127.0.0.1:9")}}
			r, c := fakeBuildReconciler(Reach{}, b, creds.DeepCopy(), withEndpoint)
			got, err := reconcileBuild(t, r, c, "b")
			if err != nil {
				t.Fatalf("reconcile: %v", err)
			}
			if s := condition(got.Status.Conditions, v1alpha1.ConditionStalled); s != "True/"+tc.reason {
				t.Fatalf("Stalled %s, want True/%s (conditions %+v)", s, tc.reason, got.Status.Conditions)
			}
			msg := conditionMessage(got.Status.Conditions, v1alpha1.ConditionStalled)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if n := len(jobsIn(t, c)); n != 0 {
				t.Errorf("%d Jobs created for a refused build", n)
			}
		})
	}
}

// TestBuildAllowed: the allowed service account is used, and the worker's
// Job carries the policy and the pod defaults. A remote source without a
// Secret is not listed by the manager (no identity of its own): a Job
// detects changes instead.
func TestBuildAllowed(t *testing.T) {
	b := newBuild("ns", "b", "s3://bucket/raw/", "s3://bucket/out/")
	b.Generation = 1
	b.Spec.ServiceAccountName = DefaultWorkerServiceAccount
	listed := &fakeLister{}
	r, c := fakeBuildReconciler(Reach{}, b)
	r.Lister = listed
	got, err := reconcileBuild(t, r, c, "b")
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	if s := condition(got.Status.Conditions, v1alpha1.ConditionReconciling); s != "True/"+v1alpha1.ReasonProgressing {
		t.Fatalf("Reconciling %s (conditions %+v)", s, got.Status.Conditions)
	}
	js := jobsIn(t, c)
	if len(js) != 1 || js[0].Spec.Template.Spec.ServiceAccountName != DefaultWorkerServiceAccount {
		t.Fatalf("Jobs %+v", js)
	}
	if _, ok := listed.creds["s3://bucket/raw/"]; !ok {
		t.Fatal("the source was not handed to the lister")
	}
	// The real lister, given no credentials for a remote store, lists
	// nothing.
	if _, err := (StorageLister{}).List(context.Background(), "s3://bucket/raw/", nil, nil); err != errNotListable {
		t.Errorf("listing without a Secret: %v, want errNotListable", err)
	}
}

// TestTarpitEndpoint: a source endpoint (allowed for the test, on
// loopback) that accepts connections and never answers holds a reconcile
// only until the storage deadline; the condition says what happened, and
// another build reconciles meanwhile.
func TestTarpitEndpoint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan struct{}, 64)
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, conn) // accepted, never answered
			mu.Unlock()
			accepted <- struct{}{}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})

	policy, err := storage.NewPolicy([]string{"s3", "file"}, []string{"127.0.0.1/32"})
	if err != nil {
		t.Fatal(err)
	}
	reach := Reach{Policy: policy, StorageTimeout: 2 * time.Second}
	tarpit := newBuild("ns", "tarpit", "s3://bucket/raw/?use_path_style=true&region=us-east-1&endpoint=http://"+ln.Addr().String(), "s3://bucket/out/")
	tarpit.Generation = 1
	tarpit.Spec.Source.SecretRef = &v1alpha1.SecretRef{Name: "creds"}
	creds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "creds"}, Data: map[string][]byte{
		storage.AWSAccessKeyID: []byte("test-access-key"), storage.AWSSecretAccessKey: []byte("test-secret-key")}}
	src, _ := copySample(t, "sample")
	other := newBuild("ns", "other", src, "file://"+t.TempDir())
	other.Generation = 1
	r, c := fakeBuildReconciler(reach, tarpit, other, creds)

	type result struct {
		b   *v1alpha1.DatasetBuild
		err error
	}
	done := make(chan result, 1)
	go func() {
		_, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Namespace: "ns", Name: "tarpit"}})
		var got v1alpha1.DatasetBuild
		_ = c.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: "tarpit"}, &got)
		done <- result{&got, err}
	}()
	select {
	case <-accepted:
	case res := <-done:
		t.Fatalf("the tarpit was never reached: %v", res.err)
	}
	// The tarpit holds one reconcile; the other build is reconciled by the
	// same reconciler meanwhile and gets its Job.
	got, err := reconcileBuild(t, r, c, "other")
	if err != nil {
		t.Fatalf("reconcile of the other build: %v", err)
	}
	if s := condition(got.Status.Conditions, v1alpha1.ConditionReconciling); s != "True/"+v1alpha1.ReasonProgressing {
		t.Errorf("other build: Reconciling %s", s)
	}

	select {
	case res := <-done:
		// A store that does not answer is a transient failure: Reconciling,
		// the store's error in Ready's message, and the failed listing
		// counted against the retry budget (the next one after the
		// backoff), not returned for an unbounded retry.
		if res.err != nil {
			t.Errorf("tarpit reconcile: %v, want the failure in status", res.err)
		}
		msg := conditionMessage(res.b.Status.Conditions, v1alpha1.ConditionReady)
		if condition(res.b.Status.Conditions, v1alpha1.ConditionReconciling) != "True/"+ReasonSourceUnavailable || !strings.Contains(msg, "deadline exceeded") || !strings.Contains(msg, "Secret creds") {
			t.Errorf("tarpit condition: %+v", res.b.Status.Conditions)
		}
		if r := res.b.Status.Retry; r == nil || r.FailedListings != 1 || r.NextListingTime == nil {
			t.Errorf("retry %+v: want 1 failed listing and the next one scheduled", r)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the reconcile of a build whose endpoint never answers did not return")
	}
	var n int
	for _, j := range jobsIn(t, c) {
		if strings.HasPrefix(j.Name, "tarpit-") {
			t.Errorf("a Job was created for the tarpit build: %s", j.Name)
		}
		n++
	}
	if n != 1 {
		t.Errorf("%d Jobs, want the other build's one", n)
	}
}

// TestListAndManifestLimits: a source with more objects than the manager
// lists stalls with LimitExceeded naming the flag; a manifest larger than
// the manager reads is refused with the flag named.
func TestListAndManifestLimits(t *testing.T) {
	src, _ := copySample(t, "sample")
	b := newBuild("ns", "big", src, "file://"+t.TempDir())
	b.Generation = 1
	b.Spec.Source.Include = nil
	reach := testReach
	reach.MaxListObjects = 1
	r, c := fakeBuildReconciler(reach, b)
	got, err := reconcileBuild(t, r, c, "big")
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	if s := condition(got.Status.Conditions, v1alpha1.ConditionStalled); s != "True/"+ReasonLimitExceeded {
		t.Fatalf("Stalled %s (conditions %+v)", s, got.Status.Conditions)
	}
	if msg := conditionMessage(got.Status.Conditions, v1alpha1.ConditionStalled); !strings.Contains(msg, "--max-list-objects") {
		t.Errorf("message %q does not name the flag", msg)
	}

	out := t.TempDir()
	loc, err := storage.OpenOutput(context.Background(), "file://"+out)
	if err != nil {
		t.Fatal(err)
	}
	if err := loc.WriteFile(context.Background(), "builds/x/manifest.json", []byte(`{"buildID":"x","padding":"`+strings.Repeat("x", 4096)+`"}`)); err != nil {
		t.Fatal(err)
	}
	reach.MaxManifestBytes = 1024
	_, err = reach.readManifest(context.Background(), c, "ns", "", "file://"+out+"/builds/x/manifest.json")
	if err == nil || !strings.Contains(err.Error(), "larger than 1024 bytes") || !strings.Contains(err.Error(), "--max-manifest-bytes") {
		t.Errorf("oversized manifest: %v", err)
	}
	// A remote output without a Secret is not read by the manager.
	if _, err := (Reach{}).readManifest(context.Background(), c, "ns", "", "s3://bucket/out/builds/x/manifest.json"); err != errNotListable {
		t.Errorf("remote manifest without a Secret: %v", err)
	}
}

func conditionMessage(conds []metav1.Condition, typ string) string {
	for _, c := range conds {
		if c.Type == typ {
			return c.Message
		}
	}
	return ""
}
