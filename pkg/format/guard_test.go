package format

import "testing"

// The guard NewDecoder puts around every decoder must keep what the
// decoder can do: Parquet reads only asked columns, CSV replays its first
// pass. Losing either is silent (callers fall back), so it is tested here.
func TestGuardKeepsAbilities(t *testing.T) {
	in := Input{Name: "x"}
	for _, tc := range []struct {
		kind            Kind
		columns, replay bool
	}{
		{Parquet, true, false},
		{CSV, false, true},
		{JSONL, false, false},
	} {
		d, err := NewDecoder(in, Options{Kind: tc.kind})
		if err != nil {
			t.Fatal(err)
		}
		_, columns := d.(ColumnDecoder)
		_, replay := d.(Replayer)
		if columns != tc.columns || replay != tc.replay {
			t.Errorf("%s: ColumnDecoder %v, Replayer %v; want %v, %v", tc.kind, columns, replay, tc.columns, tc.replay)
		}
	}
}
