package worker

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/ptr"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/profile"
)

func TestColumnListCompactForm(t *testing.T) {
	list := ColumnList{
		{Name: "plan", DType: "object", UniqueCount: 3, Top: "basic"},
		{Name: "fee", DType: "float64", NullCount: 2, UniqueCount: 40, Mean: ptr.To(48.73), Std: ptr.To(21.5), Min: ptr.To(9.99), Max: ptr.To(99.99)},
		// One value: std is null, min and max are not.
		{Name: "one", DType: "int64", UniqueCount: 1, Mean: ptr.To(7.0), Min: ptr.To(7.0), Max: ptr.To(7.0)},
		// All null: nothing but the counts.
		{Name: "empty", DType: "float64", NullCount: 5},
	}
	data, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	want := `[["plan","object",0,3,"basic"],["fee","float64",2,40,"",48.73,21.5,9.99,99.99],["one","int64",0,1,"",7,null,7,7],["empty","float64",5,0]]`
	if string(data) != want {
		t.Errorf("compact form\n got %s\nwant %s", data, want)
	}
	var back ColumnList
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(list, back); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}

	for _, bad := range []string{
		`{"name":"a"}`,
		`[["a","int64",0]]`,
		`[["a","int64",0,1,"",1,2,3,4,5]]`,
		`[["a","int64","many",1]]`,
		`[["a","int64",0,1,"",1,"x"]]`,
	} {
		var l ColumnList
		if err := json.Unmarshal([]byte(bad), &l); err == nil || !strings.Contains(err.Error(), "columnSummaries") {
			t.Errorf("%s: err = %v, want one naming columnSummaries", bad, err)
		}
	}
}

// encodeDecode is the summary as the controller reads it from the
// termination message, which must fit in MaxSummaryBytes.
func encodeDecode(t *testing.T, s *Summary) *Summary {
	t.Helper()
	data, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > MaxSummaryBytes {
		t.Fatalf("%d bytes", len(data))
	}
	back, err := DecodeSummary(data)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// wideProfile is a profile of n numeric columns named with the prefix,
// column i having mean i+1/3.
func wideProfile(n int, prefix string) *profile.Profile {
	p := &profile.Profile{NumRows: 10, NumColumns: n}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s%03d", prefix, i)
		p.Schema.Columns = append(p.Schema.Columns, profile.Column{Name: name, DType: "float64", UniqueCount: 10})
		mean, std, lo, hi := profile.Float(float64(i)+1.0/3), profile.Float(2.0/3), profile.Float(i), profile.Float(i+1)
		p.Statistics = append(p.Statistics, profile.Field[*profile.Statistics]{Key: name, Value: &profile.Statistics{Count: 10, Mean: &mean, Std: &std, Min: &lo, Max: &hi}})
	}
	return p
}

// A wide table: the termination message keeps as many column summaries as
// fit in 4 KiB, never more than 64, and status says how many are left out.
func TestProfileSummaryBounded(t *testing.T) {
	for _, tc := range []struct {
		name    string
		columns int
		prefix  string
		all     bool // the first 64 columns fit
	}{
		{"narrow", 10, "c", true},
		{"100 short names", 100, "c", true},
		{"64 names of 30 bytes", 64, "a_column_with_a_long_name_", false},
		{"long names", 64, strings.Repeat("x", 200), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := wideProfile(tc.columns, tc.prefix)
			r := &ProfileResult{Profile: p, ReportURI: "s3://bucket/reports/" + strings.Repeat("r", 300) + "/profile.json"}
			s := r.Summary()
			if len(s.ColumnSummaries) != min(tc.columns, v1alpha1.MaxProfileColumns) {
				t.Fatalf("summary lists %d columns before encoding", len(s.ColumnSummaries))
			}
			back := encodeDecode(t, s)
			n := len(back.ColumnSummaries)
			limit := min(tc.columns, v1alpha1.MaxProfileColumns)
			if tc.all && n != limit || !tc.all && (n == 0 || n >= limit) {
				t.Fatalf("%d of %d columns kept", n, tc.columns)
			}
			// Greedy: one more column would not have fitted.
			if !tc.all {
				more := *back
				more.ColumnSummaries = s.ColumnSummaries[:n+1]
				if raw, _ := json.Marshal(&more); len(raw) <= MaxSummaryBytes {
					t.Errorf("%d columns kept, but %d fit in %d bytes", n, n+1, len(raw))
				}
			}
			var st v1alpha1.DatasetProfileStatus
			ApplyProfile(&st, 1, back, fixedNow)
			if int(st.OmittedColumns) != tc.columns-n || len(st.ColumnSummaries) != n || st.Columns != int32(tc.columns) {
				t.Errorf("status: %d listed, %d omitted, %d columns", len(st.ColumnSummaries), st.OmittedColumns, st.Columns)
			}
			// Column 1: mean 1.3333333 (8 significant digits), std
			// 0.66666667, min 1, max 2 exactly.
			c := st.ColumnSummaries[1]
			if *c.Mean != 1.3333333 || *c.Std != 0.66666667 || *c.Min != 1 || *c.Max != 2 || c.Name != fmt.Sprintf("%s001", tc.prefix) {
				t.Errorf("column 1: %+v mean %v std %v", c, *c.Mean, *c.Std)
			}
		})
	}
}

// Column summaries from a real profile, against values computed by hand:
// price 10.5, 11, 13.25, 9.75 and a null; country FR, DE, FR, US, FR.
func TestColumnSummariesKnownValues(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("é", 40) // 80 bytes
	csv := "id,price,country,note,v\n1,10.5,FR," + long + ",1\n2,11.0,DE," + long + ",inf\n3,,FR,b,2\n4,13.25,US,c,3\n5,9.75,FR,d,4\n"
	src := filepath.Join(dir, "a.csv")
	if err := os.WriteFile(src, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := ProfileInput(ctx, &Input{URI: src}, profile.Options{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := ColumnSummaries(r.Profile)
	want := []v1alpha1.ColumnSummary{
		// std of 1..5 = sqrt(2.5) = 1.58113883008…
		{Name: "id", DType: "int64", UniqueCount: 5, Mean: ptr.To(3.0), Std: ptr.To(1.5811388), Min: ptr.To(1.0), Max: ptr.To(5.0)},
		// mean 11.125; std sqrt(6.8125/3) = 1.50692844333…
		{Name: "price", DType: "float64", NullCount: 1, UniqueCount: 4, Mean: ptr.To(11.125), Std: ptr.To(1.5069284), Min: ptr.To(9.75), Max: ptr.To(13.25)},
		{Name: "country", DType: "object", UniqueCount: 3, Top: "FR"},
		// The long value is the top (2 rows); cut to 64 bytes on a rune
		// boundary: 30 é (60 bytes) and the 3-byte mark.
		{Name: "note", DType: "object", UniqueCount: 4, Top: strings.Repeat("é", 30) + "…"},
		// inf makes the mean, std and max non-finite: left out.
		{Name: "v", DType: "float64", UniqueCount: 5, Min: ptr.To(1.0)},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if r.Profile.FileSize != int64(len(csv)) || r.SourceBuildID != "" {
		t.Errorf("size %d, build %q", r.Profile.FileSize, r.SourceBuildID)
	}
}

func TestApplyProfileFailureKeepsLastProfile(t *testing.T) {
	var st v1alpha1.DatasetProfileStatus
	ok := (&ProfileResult{Profile: wideProfile(3, "c"), ReportURI: "file:///r/profile.json"}).Summary()
	ok.Approximate = true
	ApplyProfile(&st, 1, ok, fixedNow)
	if !apimeta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionReady) || len(st.ColumnSummaries) != 3 || st.OmittedColumns != 0 || !st.Approximate {
		t.Fatalf("after success: %+v", st)
	}
	later := fixedNow.Add(time.Hour)
	ApplyProfile(&st, 2, &Summary{Kind: KindDatasetProfile, Reason: v1alpha1.ReasonJobFailed, Message: "bucket gone"}, later)
	c := apimeta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady)
	if c.Status != "False" || c.Reason != v1alpha1.ReasonJobFailed || c.Message != "bucket gone" || c.ObservedGeneration != 2 {
		t.Errorf("Ready = %+v", c)
	}
	if !apimeta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionStalled) {
		t.Error("a failed run is not Stalled")
	}
	if len(st.ColumnSummaries) != 3 || st.ReportURI != "file:///r/profile.json" || !st.LastProfileTime.Time.Equal(fixedNow) {
		t.Errorf("a failure changed the last profile: %+v", st)
	}

	// A summary that lists more than status may hold is cut to 64.
	big := &Summary{Kind: KindDatasetProfile, OK: true, Columns: 70, ColumnSummaries: ColumnSummaries(wideProfile(64, "c"))}
	big.ColumnSummaries = append(big.ColumnSummaries, v1alpha1.ColumnSummary{Name: "extra"})
	ApplyProfile(&st, 3, big, later)
	if len(st.ColumnSummaries) != v1alpha1.MaxProfileColumns || st.OmittedColumns != 6 {
		t.Errorf("%d listed, %d omitted", len(st.ColumnSummaries), st.OmittedColumns)
	}
}

func TestRound(t *testing.T) {
	for in, want := range map[float64]float64{
		48.732142857142854: 48.732143,
		1234567890.5:       1234567900,
		0.000123456789:     0.00012345679,
		-2.5:               -2.5,
		0:                  0,
	} {
		if got := *round(&in); got != want {
			t.Errorf("round(%v) = %v, want %v", in, got, want)
		}
	}
	if round(nil) != nil {
		t.Error("round(nil) != nil")
	}
	nan, inf := profile.Float(math.NaN()), profile.Float(math.Inf(-1))
	if finite(&nan) != nil || finite(&inf) != nil || finite(nil) != nil {
		t.Error("finite kept a non-finite value")
	}
}
