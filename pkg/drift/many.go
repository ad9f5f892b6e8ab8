package drift

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// CompareMany compares each of currents with one baseline: report i is the
// report Compare(ctx, baseline, currents[i], opt) gives, to the bit, but a
// data baseline is read, collected and sorted once for every current whose
// columns it pairs with alike (same names, kinds and baseline columns), not
// once per current. Memory is that of one Compare, except that the
// baseline's values are kept until the last current is compared.
//
// A stored-profile baseline, a bounded comparison (Options.MaxMemory) and a
// current that pairs differently are compared one by one by Compare. An
// error names the current it comes from.
func CompareMany(ctx context.Context, baseline Input, currents []Input, opt Options) ([]*Report, error) {
	if err := opt.defaults(); err != nil {
		return nil, err
	}
	reports := make([]*Report, len(currents))
	var shared []columnPlan
	if len(currents) > 1 && baseline.Profile == nil && opt.MaxMemory <= 0 && baseline.Schema != nil && baseline.Scan != nil {
		for _, cur := range currents {
			if cur.Schema == nil || cur.Profile != nil {
				continue // Compare says what is wrong with it
			}
			p, _, err := plan(baseline, cur, opt)
			if err != nil {
				return nil, fmt.Errorf("comparing %s with %s: %w", cur.Name, baseline.Name, err)
			}
			if shared == nil {
				shared = p
			}
		}
	}
	var base *sideData
	if shared != nil {
		var err error
		if base, err = collect(ctx, baseline, shared, nil, true, !opt.PSIOnly, opt, &scratchPool{}, finishNow); err != nil {
			return nil, fmt.Errorf("drift: reading baseline: %w", err)
		}
	}
	for i, cur := range currents {
		in := baseline
		if base != nil && cur.Schema != nil && cur.Profile == nil {
			if p, _, err := plan(baseline, cur, opt); err == nil && samePlans(p, shared) {
				in.collected = base
			}
		}
		r, err := Compare(ctx, in, cur, opt)
		if err != nil {
			return nil, fmt.Errorf("comparing %s with %s: %w", cur.Name, baseline.Name, err)
		}
		reports[i] = r
	}
	return reports, nil
}

// samePlans reports whether two plans read the same baseline columns the
// same way, so that one collected baseline serves both.
func samePlans(a, b []columnPlan) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].name != b[i].name || a[i].numeric != b[i].numeric || a[i].baseIdx != b[i].baseIdx ||
			!arrow.TypeEqual(a[i].baseType, b[i].baseType) {
			return false
		}
	}
	return true
}
