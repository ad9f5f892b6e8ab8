//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
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

// bucketURI is the gocloud URI of prefix in the suite's bucket.
func bucketURI(prefix string) string {
	return fmt.Sprintf("s3://%s/%s?endpoint=%s&use_path_style=true&region=us-east-1", bucket, prefix, env.endpoint)
}

func openBucket(t testing.TB, prefix string) *storage.Location {
	t.Helper()
	loc, err := storage.OpenOutput(context.Background(), bucketURI(prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { loc.Close() })
	return loc
}

// uploadDir copies the files of a local folder below prefix.
func uploadDir(dir, prefix string) error {
	loc, err := storage.OpenOutput(context.Background(), bucketURI(prefix))
	if err != nil {
		return err
	}
	defer loc.Close()
	entries, err := os.ReadDir(filepath.Join(env.root, dir))
	if err != nil {
		return err
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(env.root, dir, e.Name()))
		if err != nil {
			return err
		}
		if err := loc.WriteFile(context.Background(), e.Name(), data); err != nil {
			return err
		}
	}
	return nil
}

func put(t testing.TB, prefix, key string, data []byte) {
	t.Helper()
	if err := openBucket(t, prefix).WriteFile(context.Background(), key, data); err != nil {
		t.Fatal(err)
	}
}

func get(t testing.TB, prefix, key string) []byte {
	t.Helper()
	data, err := openBucket(t, prefix).ReadFile(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func del(t testing.TB, prefix, key string) {
	t.Helper()
	if err := openBucket(t, prefix).Delete(context.Background(), key); err != nil {
		t.Fatal(err)
	}
}

// latest reads the published build of an output; nil when none.
func latest(t testing.TB, outputPrefix string) *manifest.Manifest {
	t.Helper()
	_, m, err := manifest.ReadLatest(context.Background(), openBucket(t, outputPrefix))
	if errors.Is(err, manifest.ErrNoBuild) {
		return nil
	}
	if err != nil {
		t.Fatalf("reading the latest build of %s: %v", outputPrefix, err)
	}
	return m
}

// mustKubectl runs kubectl and fails the test on error.
func mustKubectl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := kubectl(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// apply applies manifest text in the suite's namespace.
func apply(t testing.TB, yaml string) {
	t.Helper()
	if _, err := kubectlIn(yaml, "-n", ns, "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
}

// sample returns a file of config/samples pointed at the suite's S3 server.
func sample(t testing.TB, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.root, "config", "samples", file))
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "http://127.0.0.1:9000", env.endpoint)
}

func getJSON(t testing.TB, into any, args ...string) {
	t.Helper()
	out := mustKubectl(t, append([]string{"-n", ns, "get", "-o", "json"}, args...)...)
	if err := json.Unmarshal([]byte(out), into); err != nil {
		t.Fatalf("decoding kubectl get %v: %v", args, err)
	}
}

func getBuild(t testing.TB, name string) *v1alpha1.DatasetBuild {
	var b v1alpha1.DatasetBuild
	getJSON(t, &b, "datasetbuild", name)
	return &b
}

func getProfile(t testing.TB, name string) *v1alpha1.DatasetProfile {
	var p v1alpha1.DatasetProfile
	getJSON(t, &p, "datasetprofile", name)
	return &p
}

func getDrift(t testing.TB, name string) *v1alpha1.DriftCheck {
	var d v1alpha1.DriftCheck
	getJSON(t, &d, "driftcheck", name)
	return &d
}

// jobsOf lists the Jobs of a resource by its name label, oldest first.
func jobsOf(t testing.TB, name string) []batchv1.Job {
	t.Helper()
	var l batchv1.JobList
	getJSON(t, &l, "jobs", "-l", v1alpha1.LabelName+"="+name)
	sort.Slice(l.Items, func(i, j int) bool {
		return l.Items[i].CreationTimestamp.Before(&l.Items[j].CreationTimestamp) ||
			l.Items[i].CreationTimestamp.Equal(&l.Items[j].CreationTimestamp) && l.Items[i].Name < l.Items[j].Name
	})
	return l.Items
}

func podsOf(t testing.TB, job string) []corev1.Pod {
	t.Helper()
	var l corev1.PodList
	getJSON(t, &l, "pods", "-l", "job-name="+job)
	return l.Items
}

// wait runs kubectl wait in the suite's namespace.
func wait(t testing.TB, timeout time.Duration, cond string, objs ...string) {
	t.Helper()
	args := append([]string{"-n", ns, "wait", "--for=" + cond, "--timeout=" + timeout.String()}, objs...)
	if _, err := kubectl(args...); err != nil {
		t.Fatalf("%v\nstatus now:\n%s", err, describe(objs...))
	}
}

func describe(objs ...string) string {
	out, _ := kubectl(append([]string{"-n", ns, "get", "-o", "yaml"}, objs...)...)
	return tail(out, 6000)
}

// eventually polls f every half second until it returns nil.
func eventually(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func cond(conds []metav1.Condition, typ string) string {
	c := apimeta.FindStatusCondition(conds, typ)
	if c == nil {
		return "<none>"
	}
	return string(c.Status) + "/" + c.Reason + ": " + c.Message
}
