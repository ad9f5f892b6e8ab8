package report

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/profile/profiletest"
)

// The drift page shows the new distances, each column's verdict method and
// threshold, and the drift share.
func TestDriftPageMethods(t *testing.T) {
	n := 200
	base := []profiletest.Col{
		f64("x", seq(n, func(i int) any { return float64(i % 10) })),
		str("c", seq(n, func(i int) any { return []string{"a", "b"}[i%2] })),
	}
	cur := []profiletest.Col{
		f64("x", seq(n, func(i int) any { return float64(i%10) + 5 })),
		str("c", seq(n, func(i int) any { return []string{"a", "b"}[i%2] })),
	}
	r, err := drift.Compare(context.Background(), input(t, "base", base...), input(t, "cur", cur...), drift.Options{
		Methods: []drift.MethodRule{{Type: drift.Numeric, Method: drift.MethodWasserstein, Threshold: 0.25}, {Columns: []string{"c"}, Method: drift.MethodLInf}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Drift(&buf, r); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	// x shifts by 5 with a baseline std of √8.25: W = 5, normed 1.74078.
	for _, want := range []string{
		"Wasserstein (normed)", "wasserstein (0.25)", "linf (0.1)", "<b>50.0%</b>", ">1.74078<",
		"wasserstein_normed &gt;= threshold", "drift_share = drifted / compared columns",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("drift page lacks %q", want)
		}
	}
}
