package controllers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"

	"github.com/mldata-io/mldata/api/v1alpha1"
)

// A DatasetBuild with a publish gate: the first build publishes, a second
// whose monthly fees moved is refused by the real worker, and the resource
// says DriftGateFailed with the column while the first build stays in
// status.
func TestDatasetBuildPublishGate(t *testing.T) {
	needEnv(t)
	startManager(t, time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC))
	ns := newNamespace(t)
	src, srcDir := copySample(t, "sample")
	b := newBuild(ns, "gated", src, "file://"+t.TempDir())
	b.Spec.PublishGate = &v1alpha1.PublishGateSpec{Columns: &v1alpha1.ColumnSelector{Include: []string{"monthly_fee"}}}
	if err := k8s.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 6, 8, 0, 5, 0, time.UTC)
	j := &waitJobs(t, ns, 1)[0]
	finishJob(t, j, true, runWorker(t, j), start, start.Add(time.Second))
	var first string
	eventually(t, "first build published", func() error {
		st := getBuild(t, b).Status
		if s := condition(st.Conditions, v1alpha1.ConditionReady); s != "True/Succeeded" {
			return fmt.Errorf("Ready %s", s)
		}
		first = st.BuildID
		return nil
	})
	if s := condition(getBuild(t, b).Status.Conditions, v1alpha1.ConditionSplitsConsistent); s != "True/SplitsConsistent" {
		t.Errorf("SplitsConsistent %s", s)
	}

	// New customers whose fee is 999.99.
	data, err := os.ReadFile(filepath.Join(srcDir, "customers-2024a.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var moved strings.Builder
	moved.WriteString(lines[0] + "\n")
	for i, l := range lines[1:] {
		f := strings.SplitN(l, ",", 6)
		f[0], f[4] = fmt.Sprint(100000+i), "999.99"
		moved.WriteString(strings.Join(f, ",") + "\n")
	}
	if err := os.WriteFile(filepath.Join(srcDir, "customers-2025.csv"), []byte(moved.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	touch(t, b, v1alpha1.AnnotationRequestedAt, "gate")
	js := waitJobs(t, ns, 2)
	j2 := newestJob(js, j.Name)
	finishJob(t, j2, false, runWorker(t, j2), start.Add(time.Minute), start.Add(time.Minute+time.Second))
	eventually(t, "gate failure recorded", func() error {
		st := getBuild(t, b).Status
		if s := condition(st.Conditions, v1alpha1.ConditionReady); s != "False/DriftGateFailed" {
			return fmt.Errorf("Ready %s", s)
		}
		return nil
	})
	st := getBuild(t, b).Status
	c := apimeta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady)
	if !strings.Contains(c.Message, "in 1 column(s): monthly_fee: psi ") || !strings.Contains(c.Message, "build "+first+" stays the published one") {
		t.Errorf("Ready message %q", c.Message)
	}
	if s := condition(st.Conditions, v1alpha1.ConditionStalled); s != "True/DriftGateFailed" {
		t.Errorf("Stalled %s", s)
	}
	if st.BuildID != first || st.TotalRows != 1000 {
		t.Errorf("status names build %s with %d rows, want the first (%s, 1000 rows)", st.BuildID, st.TotalRows, first)
	}
}
