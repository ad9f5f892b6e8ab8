package drift

import (
	"errors"
	"math"

	"github.com/mldata-io/mldata/pkg/profile/tally"
)

// Options.PSIOnly: a comparison whose caller reads the binned metrics only
// (the split check reads PSI) need not sort a numeric column's values.
// Uniform bin edges need the baseline's smallest and largest finite values
// only, and a value's bin is #{e ∈ edges : e ≤ x} whether the values are
// sorted or not, so the edges and counts — and every metric computed from
// them — are those of the sorted comparison, to the bit. The values are
// still collected once per side (the edges are known only once the
// baseline is read), but neither side is sorted, the sort's second buffer
// is never made, and KS and Wasserstein are not computed.

// psiOnlyUnavailable is the reason a PSIOnly comparison gives for the
// metrics it leaves out.
const psiOnlyUnavailable = "not computed: the comparison was asked for the binned metrics only"

func (o *Options) checkPSIOnly() error {
	switch {
	case !o.PSIOnly:
		return nil
	case o.Binning != Uniform:
		return errors.New("drift: PSIOnly needs uniform binning (quantile edges need the sorted baseline)")
	case o.Thresholds.KSPValue != nil:
		return errors.New("drift: PSIOnly leaves KS out, so it takes no KS p-value threshold")
	case len(o.Methods) > 0:
		return errors.New("drift: PSIOnly decides by the thresholds, not by methods")
	case o.MaxMemory > 0:
		return errors.New("drift: PSIOnly does not sketch (MaxMemory)")
	}
	return nil
}

// numericBinned is numericRaw under PSIOnly: the same edges, counts and
// binned metrics from unsorted values (or counts per value).
func numericBinned(b, c *numSide, opt Options) (*NumericDrift, string) {
	var lo, hi float64
	if b.dense != nil {
		lo, hi = float64(b.minI), float64(b.maxI)
	} else {
		var ok bool
		if lo, hi, ok = b.finiteRange(); !ok {
			return nil, "no finite values in baseline to bin"
		}
	}
	edges := UniformEdges(lo, hi, opt.Bins)
	res := binned(edges, b.binCounts(edges), c.binCounts(edges), opt)
	res.unavailable(psiOnlyUnavailable, "ks_statistic", "ks_pvalue", "wasserstein_distance", "wasserstein_normed")
	return res, ""
}

// finiteRange returns the smallest and largest finite values of an
// unsorted side (not dense), as the ends of finite(s.ascending()) would
// be: compared as sort keys, so that −0 comes before +0.
func (s *numSide) finiteRange() (lo, hi float64, ok bool) {
	negInf, posInf := tally.FloatKey(math.Inf(-1)), tally.FloatKey(math.Inf(1))
	minK, maxK := uint64(math.MaxUint64), uint64(0)
	see := func(k uint64) {
		if k != negInf && k != posInf {
			minK, maxK, ok = min(minK, k), max(maxK, k), true
		}
	}
	if s.keys != nil {
		for _, k := range s.keys.all() {
			see(k)
		}
	}
	if s.ints.Len() > 0 {
		see(tally.FloatKey(float64(s.minI)))
		see(tally.FloatKey(float64(s.maxI)))
	}
	if !ok {
		return 0, 0, false
	}
	return tally.KeyFloat(minK), tally.KeyFloat(maxK), true
}
