package pipeline

import "testing"

// Every chunk slot maps to a part below partsOf, and every part below
// partsOf gets a chunk: part numbers are dense and fixed before any work.
func TestPartNumbering(t *testing.T) {
	for _, tc := range []struct {
		rows      int64
		chunkRows int
		partRows  int64
	}{{0, 10, 40}, {1, 10, 40}, {10, 10, 40}, {35, 10, 40}, {160, 10, 40}, {161, 10, 40}, {1000, 10, 40}, {1000, 64, 64}, {5_000_000, 65536, 1 << 20}} {
		n := partsOf(tc.rows, tc.chunkRows, tc.partRows)
		used := map[int]int{}
		for first := int64(0); first < tc.rows; first += int64(tc.chunkRows) {
			p, g := partOf(first, tc.chunkRows, tc.partRows)
			if p < 0 || p >= n || p/Stripes != g {
				t.Fatalf("%+v: chunk at row %d → part %d group %d, parts %d", tc, first, p, g, n)
			}
			used[p]++
		}
		if len(used) != n {
			t.Errorf("%+v: %d parts used, partsOf says %d", tc, len(used), n)
		}
	}
	// 5M rows in 64Ki chunks with ~1M-row parts: 4 full parts, then 4 smaller.
	if got := partsOf(5_000_000, 65536, 1<<20); got != 8 {
		t.Errorf("partsOf(5M) = %d, want 8", got)
	}
	if p, _ := partOf(5*65536, 65536, 1<<20); p != 1 {
		t.Errorf("chunk slot 5 → part %d, want stripe 1", p)
	}
}
