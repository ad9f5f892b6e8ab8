package worker

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/drift"
)

// A DriftCheck with a verdict method per column and a drift share, run as
// `mldata run` runs it. price (base 10.5, 11, 13.25, 9.75; current 20.5,
// 21, 22, 23.25, 19.75) lies wholly above the baseline, so its Wasserstein
// distance is the difference of the means, 21.3 − 11.125 = 10.175, and
// normed by the baseline's std √(6.8125/4) it is far above 0.1. country
// moves from FR 3/5, DE 1/5, US 1/5 to BR 3/5, FR 1/5, US 1/5: L-infinity
// 0.6, below its threshold 0.7. One of two columns drifts: drift share 0.5,
// below the 1.0 asked for, so the dataset does not drift.
func TestRunLocalDriftMethods(t *testing.T) {
	dir := t.TempDir()
	base := writeFile(t, dir, "base/a.csv", baseCSV)
	cur := writeFile(t, dir, "cur/b.csv", curCSV)
	doc := `apiVersion: mldata.io/v1alpha1
kind: DriftCheck
metadata: {name: d}
spec:
  baseline: {uri: ` + base + `}
  current: {uri: ` + cur + `}
  columns: {exclude: [id]}
  metrics:
    driftShare: 1
    methods:
    - {type: numeric, method: wasserstein}
    - {columns: [country], method: linf, threshold: 0.7}
  output: {uri: ` + dir + `/drift}
`
	rs, err := ParseManifests([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	ran := RunLocal(ctx, rs, Options{Now: func() time.Time { return fixedNow }})
	if ran[0].Err != nil {
		t.Fatal(ran[0].Err)
	}
	st := ran[0].Drift.Status
	run := st.LastRun
	if run == nil || run.DriftDetected || run.DriftedColumnCount != 1 || run.ColumnsChecked != 2 || run.DriftShare == nil || *run.DriftShare != 0.5 {
		t.Fatalf("lastRun %+v", run)
	}
	for _, c := range st.Conditions {
		if c.Type == v1alpha1.ConditionDriftDetected && (c.Status != "False" || !strings.Contains(c.Message, "1 of 2 column(s) drifted, below the drift share")) {
			t.Errorf("DriftDetected %s: %s", c.Status, c.Message)
		}
	}
	raw, err := os.ReadFile(run.ReportURI)
	if err != nil {
		t.Fatal(err)
	}
	var r drift.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	price, _ := r.NumericDrift.Get("price")
	country, _ := r.CategoricalDrift.Get("country")
	wantNormed := 10.175 / math.Sqrt(6.8125/4)
	if price == nil || price.Method != drift.MethodWasserstein || *price.Threshold != 0.1 || !price.DriftDetected ||
		math.Abs(*price.WassersteinDistance-10.175) > 1e-12 || math.Abs(*price.WassersteinNormed-wantNormed) > 1e-12 {
		t.Errorf("price %+v", price)
	}
	if country == nil || country.Method != drift.MethodLInf || *country.Threshold != 0.7 || country.DriftDetected || math.Abs(country.LInfDistance-0.6) > 1e-15 {
		t.Errorf("country %+v", country)
	}
	if r.DriftShare != 0.5 || r.HasDrift || !strings.Contains(r.Conventions.DriftShare, "drift_share >= 1") {
		t.Errorf("drift_share %v, has_drift %v, conventions %q", r.DriftShare, r.HasDrift, r.Conventions.DriftShare)
	}
}

func TestDriftVerdictOptions(t *testing.T) {
	th, share := 0.2, 0.5
	mem := resource.MustParse("64Mi")
	o, err := DriftOptions(&v1alpha1.DriftCheckSpec{MaxMemory: &mem, Metrics: &v1alpha1.DriftMetrics{DriftVerdict: v1alpha1.DriftVerdict{
		DriftShare: &share,
		Methods: []v1alpha1.DriftMethodRule{{Type: v1alpha1.DriftColumnNumeric, Method: v1alpha1.DriftMethodKS},
			{Columns: []string{"a"}, Method: v1alpha1.DriftMethodHellinger, Threshold: &th}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []drift.MethodRule{{Type: drift.Numeric, Method: drift.MethodKS}, {Columns: []string{"a"}, Method: drift.MethodHellinger, Threshold: 0.2}}
	if len(o.Methods) != 2 || o.Methods[0].Type != want[0].Type || o.Methods[0].Method != want[0].Method || o.Methods[0].Threshold != 0 ||
		o.Methods[1].Columns[0] != "a" || o.Methods[1].Method != want[1].Method || o.Methods[1].Threshold != 0.2 || *o.Thresholds.DriftShare != 0.5 || o.MaxMemory != 64<<20 {
		t.Errorf("%+v", o)
	}
}
