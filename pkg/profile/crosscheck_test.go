package profile_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mldata-io/mldata/pkg/profile"
	"github.com/mldata-io/mldata/pkg/profile/profiletest"
)

// TestCrossCheck compares profiles with the numbers pandas and numpy give
// for the same data (hack/crosscheck/crosscheck.py wrote them), with the
// data cut into batches and spread over workers.
func TestCrossCheck(t *testing.T) {
	dir := filepath.Join("testdata", "crosscheck")
	raw, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var expected struct {
		Profiles map[string]json.RawMessage `json:"profiles"`
	}
	if err := json.Unmarshal(raw, &expected); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"small", "mixed"} {
		for _, split := range []struct{ chunk, workers int }{{0, 1}, {97, 3}} {
			recs, err := profiletest.Load(filepath.Join(dir, name+".json"), split.chunk)
			if err != nil {
				t.Fatal(err)
			}
			p, err := profile.Compute(context.Background(), recs[0].Schema(), profile.Records(recs...), profile.Options{Workers: split.workers})
			profiletest.Release(recs)
			if err != nil {
				t.Fatal(err)
			}
			p.Path = name
			got, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(expected.Profiles[name], &w); err != nil {
				t.Fatal(err)
			}
			if d := profiletest.Diff(w, g, 1e-9); d != "" {
				t.Errorf("%s (chunk %d, %d workers) differs from pandas/numpy:\n%s", name, split.chunk, split.workers, d)
			}
			// Rank order of top values is part of the contract.
			want, err := profile.Parse(expected.Profiles[name])
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range want.Distributions {
				gd, _ := p.Distributions.Get(f.Key)
				if diff := cmp.Diff(f.Value.Keys(), gd.Keys()); diff != "" {
					t.Errorf("%s: order of %s's top values (-pandas +got):\n%s", name, f.Key, diff)
				}
			}
		}
	}
}
