package validate

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPartialsEncoded observes the two test files in three partials (as
// three shards would), sends each through MarshalBinary and DecodePartial,
// and merges the decoded ones: every result, duplicates across partials and
// samples included, must be the hand-worked ones.
func TestPartialsEncoded(t *testing.T) {
	v, err := New(testRules, testSchema)
	if err != nil {
		t.Fatal(err)
	}
	parts := []*Partial{v.NewPartial(), v.NewPartial(), v.NewPartial()}
	parts[0].Observe(toBatch(t, fileA[:2]), "a.csv", 0, 1)
	parts[1].Observe(toBatch(t, fileA[2:]), "a.csv", 0, 3)
	parts[2].Observe(toBatch(t, fileB), "b.csv", 1, 1)
	var decoded []*Partial
	for i, p := range parts {
		data, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		again, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, again) {
			t.Errorf("partial %d: two encodings differ", i)
		}
		d, err := v.DecodePartial(data)
		if err != nil {
			t.Fatal(err)
		}
		decoded = append(decoded, d)
	}
	if diff := cmp.Diff(expected(), v.Results(decoded...)); diff != "" {
		t.Errorf("results of decoded partials (-want +got):\n%s", diff)
	}

	other, err := New(testRules[:3], testSchema)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := parts[0].MarshalBinary()
	if _, err := other.DecodePartial(data); err == nil {
		t.Error("a partial of other rules decoded without error")
	}
	if _, err := v.DecodePartial(data[:len(data)/2]); err == nil {
		t.Error("a truncated partial decoded without error")
	}
}
