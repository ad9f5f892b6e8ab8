package split

import "github.com/apache/arrow-go/v18/arrow"

// Hashes writes into out (at least rec.NumRows() long) the hash each row
// of rec is split by: XXH64 over the seed, the stratum when the spec has
// one, and the key's value or the row's content, encoded as the package
// documentation says. Split integrity checks use it with a spec without a
// stratum to tell whether one key (or one row's content) landed in two
// splits. It is safe for concurrent use.
func (a *Assigner) Hashes(rec arrow.RecordBatch, out []uint64) {
	out = out[:rec.NumRows()]
	a.eachHash(rec, func(i int, h uint64) { out[i] = h })
}
