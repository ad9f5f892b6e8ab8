package controllers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/worker"
)

// TestLongColumnNameThroughTheAPIServer: a source whose header has a
// 300-byte column name (longer than the 256 bytes the CRDs allow in
// status) is built and profiled by the real worker, and the manager's
// status writes are accepted by the API server: the name is recorded cut,
// with a hash suffix, instead of every status patch being refused.
func TestLongColumnNameThroughTheAPIServer(t *testing.T) {
	needEnv(t)
	startManager(t, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	ns := newNamespace(t)
	long := "feature_" + strings.Repeat("x", 292)
	if len(long) != 300 {
		t.Fatalf("name of %d bytes", len(long))
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	data := "customer_id," + long + "\n1,a\n2,b\n3,c\n"
	if err := os.WriteFile(filepath.Join(src, "data.csv"), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	want := worker.StatusName(long)
	if len(want) > 256 || want == long {
		t.Fatalf("status name %q", want)
	}

	b := newBuild(ns, "long", "file://"+src, "file://"+filepath.Join(dir, "out"))
	if err := k8s.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	j := &waitJobs(t, ns, 1)[0]
	finishJob(t, j, true, runWorker(t, j), time.Now(), time.Now())
	eventually(t, "build recorded", func() error {
		got := getBuild(t, b)
		if s := condition(got.Status.Conditions, v1alpha1.ConditionReady); s != "True/Succeeded" {
			return fmt.Errorf("Ready %s", s)
		}
		var names []string
		if got.Status.Schema != nil {
			for _, c := range got.Status.Schema.Columns {
				names = append(names, c.Name)
			}
		}
		if len(names) != 2 || names[1] != want {
			return fmt.Errorf("status.schema.columns %q, want the long name as %q", names, want)
		}
		return nil
	})

	p := &v1alpha1.DatasetProfile{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "long"},
		Spec: v1alpha1.DatasetProfileSpec{
			Source: v1alpha1.ProfileSource{URI: v1alpha1.BucketURI("file://" + filepath.Join(src, "data.csv"))},
			Output: v1alpha1.ReportOutputSpec{URI: v1alpha1.BucketURI("file://" + filepath.Join(dir, "reports")), HTML: ptr.To(false)},
		},
	}
	if err := k8s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	pj := waitProfileJob(t, ns, "long")
	finishJob(t, pj, true, runWorker(t, pj), time.Now(), time.Now())
	eventually(t, "profile recorded", func() error {
		var got v1alpha1.DatasetProfile
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(p), &got); err != nil {
			return err
		}
		if s := condition(got.Status.Conditions, v1alpha1.ConditionReady); s != "True/Succeeded" {
			return fmt.Errorf("Ready %s", s)
		}
		if cs := got.Status.ColumnSummaries; len(cs) != 2 || cs[1].Name != want || cs[1].UniqueCount != 3 {
			return fmt.Errorf("column summaries %+v", cs)
		}
		return nil
	})
}
