package controllers

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/worker"
)

// The profile Job's termination message carries the column summaries;
// the controller writes them to status as they are, and `mldata run`
// (worker.RunLocal) shows the same for the same spec.
func TestDatasetProfileColumnSummaries(t *testing.T) {
	needEnv(t)
	startManager(t, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	ns := newNamespace(t)
	dir := t.TempDir()
	// price: 10.5, 11, 13.25, 9.75 and a null; country FR ×3, DE, US.
	narrow := "id,price,country\n1,10.5,FR\n2,11.0,DE\n3,,FR\n4,13.25,US\n5,9.75,FR\n"
	// 80 columns with long names: more than the message holds.
	var header, row []string
	for i := 0; i < 80; i++ {
		header = append(header, fmt.Sprintf("feature_with_a_rather_long_name_%02d", i))
		row = append(row, fmt.Sprint(i))
	}
	wide := strings.Join(header, ",") + "\n" + strings.Join(row, ",") + "\n" + strings.Join(row, ",") + "\n"

	for _, tc := range []struct {
		name, csv string
		check     func(t *testing.T, st v1alpha1.DatasetProfileStatus)
	}{
		{"narrow", narrow, func(t *testing.T, st v1alpha1.DatasetProfileStatus) {
			want := []v1alpha1.ColumnSummary{
				{Name: "id", DType: "int64", UniqueCount: 5, Mean: ptr.To(3.0), Std: ptr.To(1.5811388), Min: ptr.To(1.0), Max: ptr.To(5.0)},
				{Name: "price", DType: "float64", NullCount: 1, UniqueCount: 4, Mean: ptr.To(11.125), Std: ptr.To(1.5069284), Min: ptr.To(9.75), Max: ptr.To(13.25)},
				{Name: "country", DType: "object", UniqueCount: 3, Top: "FR"},
			}
			if d := cmp.Diff(want, st.ColumnSummaries); d != "" || st.OmittedColumns != 0 || st.Rows != 5 || st.Columns != 3 {
				t.Errorf("rows %d, columns %d, omitted %d; summaries (-want +got):\n%s", st.Rows, st.Columns, st.OmittedColumns, d)
			}
		}},
		{"wide", wide, func(t *testing.T, st v1alpha1.DatasetProfileStatus) {
			n := len(st.ColumnSummaries)
			if n == 0 || n >= v1alpha1.MaxProfileColumns || st.OmittedColumns != int32(80-n) || st.Columns != 80 {
				t.Errorf("%d listed, %d omitted of %d", n, st.OmittedColumns, st.Columns)
			}
			for i, c := range st.ColumnSummaries {
				if c.Name != header[i] || *c.Mean != float64(i) || c.Std == nil || *c.Std != 0 {
					t.Errorf("column %d: %+v", i, c)
				}
			}
			data, _ := json.Marshal(st)
			if len(data) > 8<<10 {
				t.Errorf("status is %d bytes", len(data))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := filepath.Join(dir, tc.name, "data.csv")
			if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(src, []byte(tc.csv), 0o644); err != nil {
				t.Fatal(err)
			}
			p := &v1alpha1.DatasetProfile{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tc.name},
				Spec: v1alpha1.DatasetProfileSpec{
					Source: v1alpha1.ProfileSource{URI: v1alpha1.BucketURI("file://" + src)},
					Output: v1alpha1.ReportOutputSpec{URI: v1alpha1.BucketURI("file://" + filepath.Join(dir, tc.name, "reports")), HTML: ptr.To(false)},
				},
			}
			if err := k8s.Create(ctx, p); err != nil {
				t.Fatal(err)
			}
			j := waitProfileJob(t, ns, tc.name)
			msg := runWorker(t, j)
			if len(msg) > worker.MaxSummaryBytes {
				t.Fatalf("termination message of %d bytes", len(msg))
			}
			finishJob(t, j, true, msg, time.Now(), time.Now())
			var got v1alpha1.DatasetProfile
			eventually(t, "profile recorded", func() error {
				if err := k8s.Get(ctx, client.ObjectKeyFromObject(p), &got); err != nil {
					return err
				}
				if condition(got.Status.Conditions, v1alpha1.ConditionReady) != "True/Succeeded" {
					return fmt.Errorf("Ready %s", condition(got.Status.Conditions, v1alpha1.ConditionReady))
				}
				return nil
			})
			tc.check(t, got.Status)

			// The same spec through mldata run's code path.
			local := p.DeepCopy()
			local.Status = v1alpha1.DatasetProfileStatus{}
			ran := worker.RunLocal(ctx, []worker.Resource{{Profile: local}}, worker.Options{})
			if ran[0].Err != nil {
				t.Fatal(ran[0].Err)
			}
			ls := local.Status
			if d := cmp.Diff(got.Status.ColumnSummaries, ls.ColumnSummaries); d != "" || ls.OmittedColumns != got.Status.OmittedColumns || ls.Rows != got.Status.Rows {
				t.Errorf("mldata run differs from the controller (-controller +run):\n%s", d)
			}
		})
	}
}

// waitProfileJob waits for the Job of the named DatasetProfile.
func waitProfileJob(t *testing.T, ns, name string) *batchv1.Job {
	t.Helper()
	var found *batchv1.Job
	eventually(t, "Job of "+name, func() error {
		for _, j := range listJobs(t, ns) {
			if j.Labels[v1alpha1.LabelName] == name && j.Labels[v1alpha1.LabelKind] == worker.KindDatasetProfile {
				found = &j
				return nil
			}
		}
		return fmt.Errorf("no Job for %s", name)
	})
	return found
}
