package controllers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/testservers"
	"github.com/mldata-io/mldata/internal/worker"
	"github.com/mldata-io/mldata/pkg/storage"
)

// putObjects uploads objects below uri with the process's credentials
// (the worker's way: testservers.SetEnv).
func putObjects(t *testing.T, uri string, objects map[string]string) {
	t.Helper()
	loc, err := storage.OpenOutput(context.Background(), uri)
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	for k, v := range objects {
		if err := loc.Bucket.WriteAll(context.Background(), loc.Prefix+k, []byte(v), nil); err != nil {
			t.Fatal(err)
		}
	}
}

// sampleFile reads a file of testdata.
func sampleFile(t *testing.T, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// upToDateSummary is the termination message of a build Job that found
// nothing changed.
func upToDateSummary(t *testing.T) string {
	t.Helper()
	data, err := (&worker.Summary{Kind: worker.KindDatasetBuild, OK: true, UpToDate: true, Message: "sources unchanged; nothing published"}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestDatasetBuildListsWithSecret: a source behind a Secret is listed by
// the controller with the Secret's credentials (real S3 server), so that
// unchanged sources start no Job; wrong credentials say so in Ready, and
// fixing the Secret recovers at once.
func TestDatasetBuildListsWithSecret(t *testing.T) {
	needEnv(t)
	s := testservers.S3(t)
	// The worker, run in this process, reads with the environment as a
	// pod with envFrom would.
	testservers.SetEnv(t, s)
	if err := s.CreateBucket(ctx, "lake"); err != nil {
		t.Fatal(err)
	}
	src := s.URI("lake", "raw/")
	putObjects(t, src, map[string]string{"customers-2024a.csv": sampleFile(t, "sample", "customers-2024a.csv")})

	tm := startManager(t, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	ns := newNamespace(t)
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "s3-creds"}, StringData: map[string]string{
		storage.AWSAccessKeyID: s.AccessKey, storage.AWSSecretAccessKey: "wrong-secret-0123456789",
	}}
	if err := k8s.Create(ctx, sec); err != nil {
		t.Fatal(err)
	}
	b := newBuild(ns, "lake", src, "file://"+t.TempDir())
	b.Spec.Source.SecretRef = &v1alpha1.SecretRef{Name: "s3-creds"}
	if err := k8s.Create(ctx, b); err != nil {
		t.Fatal(err)
	}

	// Wrong credentials: Ready False with the store's answer, naming the
	// Secret but not its values; no Job.
	eventually(t, "SourceUnavailable", func() error {
		c := apimeta.FindStatusCondition(getBuild(t, b).Status.Conditions, v1alpha1.ConditionReady)
		if c == nil || c.Reason != ReasonSourceUnavailable {
			return fmt.Errorf("Ready %+v", c)
		}
		if !strings.Contains(c.Message, "Secret s3-creds") || !strings.Contains(c.Message, "check the URI and credentials") {
			return fmt.Errorf("message %q", c.Message)
		}
		if strings.Contains(c.Message, "wrong-secret-0123456789") || strings.Contains(c.Message, s.AccessKey) {
			t.Fatalf("the credentials are in the condition: %q", c.Message)
		}
		return nil
	})
	if n := len(listJobs(t, ns)); n != 0 {
		t.Fatalf("%d Jobs with wrong credentials", n)
	}
	for _, e := range drainEvents(tm) {
		if strings.Contains(e, "wrong-secret") {
			t.Errorf("event with the secret: %s", e)
		}
	}

	// The Secret fixed: the watch brings the build back without a poke.
	update(t, sec, func(cur *corev1.Secret) {
		cur.Data[storage.AWSSecretAccessKey] = []byte(s.SecretKey)
	})
	j := waitJobs(t, ns, 1)[0]
	if ef := j.Spec.Template.Spec.Containers[0].EnvFrom; len(ef) != 1 || ef[0].SecretRef.Name != "s3-creds" {
		t.Errorf("envFrom %+v", ef)
	}
	if strings.Contains(mustJSON(j), s.SecretKey) {
		t.Error("the Secret's value is in the Job")
	}
	if got := tm.lister.credsFor(src)[storage.AWSSecretAccessKey]; got != s.SecretKey {
		t.Errorf("listed without the Secret's credentials")
	}
	start := time.Date(2026, 11, 27, 12, 0, 5, 0, time.UTC)
	finishJob(t, &j, true, runWorker(t, &j), start, start.Add(time.Second))
	eventually(t, "built from S3", func() error {
		st := getBuild(t, b).Status
		if condition(st.Conditions, v1alpha1.ConditionReady) != "True/Succeeded" || st.SourceCount != 1 {
			return fmt.Errorf("Ready %s, %d sources", condition(st.Conditions, v1alpha1.ConditionReady), st.SourceCount)
		}
		return nil
	})

	// Unchanged sources: listing proves it, no Job.
	touch(t, b, "example.com/poke", "1")
	consistently(t, "no Job while the bucket is unchanged", func() error {
		if n := len(listJobs(t, ns)); n != 1 {
			return fmt.Errorf("%d Jobs", n)
		}
		return nil
	})
	// A new object: a new Job.
	putObjects(t, src, map[string]string{"customers-2024b.csv": sampleFile(t, "sample", "customers-2024b.csv")})
	touch(t, b, "example.com/poke", "2")
	waitJobs(t, ns, 2)
}

// TestDatasetBuildSecretWithoutStoreKeys: a Secret with nothing the
// controller can use for the store (credentials the pod gets otherwise)
// falls back to a Job per interval.
func TestDatasetBuildSecretWithoutStoreKeys(t *testing.T) {
	needEnv(t)
	tm := startManager(t, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	ns := newNamespace(t)
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "region-only"}, StringData: map[string]string{storage.AWSRegion: "eu-west-1"}}
	if err := k8s.Create(ctx, sec); err != nil {
		t.Fatal(err)
	}
	b := newBuild(ns, "irsa", "s3://bucket/raw", "s3://bucket/out")
	b.Spec.Source.SecretRef = &v1alpha1.SecretRef{Name: "region-only"}
	if err := k8s.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	j := waitJobs(t, ns, 1)[0]
	finishJob(t, &j, true, upToDateSummary(t), time.Now(), time.Now())
	eventually(t, "recorded", func() error {
		if c := condition(getBuild(t, b).Status.Conditions, v1alpha1.ConditionReady); c != "True/UpToDate" {
			return errors.New("Ready " + c)
		}
		return nil
	})
	// The same interval: nothing new. The next one: a Job.
	tm.clock.Step(5 * time.Minute)
	touch(t, b, "example.com/poke", "1")
	consistently(t, "one Job per interval", func() error {
		if n := len(listJobs(t, ns)); n != 1 {
			return fmt.Errorf("%d Jobs", n)
		}
		return nil
	})
	tm.clock.Step(5 * time.Minute)
	touch(t, b, "example.com/poke", "2")
	waitJobs(t, ns, 2)
}
