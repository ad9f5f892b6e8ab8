package split

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
)

// Counts are the rows per split and, with StratifyBy, per (stratum, split).
// Counts from different workers merge exactly (Merge). Memory grows with the
// number of distinct stratum values: stratify by a low-cardinality column.
type Counts struct {
	Names []string `json:"names"`
	Rows  []int64  `json:"rows"` // per split, by index
	// Strata maps a stratum value's text (Arrow's ValueStr) to rows per
	// split; nil without StratifyBy.
	Strata map[string][]int64 `json:"strata,omitempty"`
	// NullStratum counts rows whose stratum value is null, kept apart so
	// that no text value can be mistaken for null.
	NullStratum []int64 `json:"nullStratum,omitempty"`
}

// NewCounts returns empty Counts for a's splits.
func (a *Assigner) NewCounts() *Counts {
	c := &Counts{Names: slices.Clone(a.spec.Names), Rows: make([]int64, len(a.spec.Names))}
	if a.spec.StratifyBy != "" {
		c.Strata = map[string][]int64{}
	}
	return c
}

// Count adds the rows of rec, whose split indexes Assign wrote into
// assigned, to c. It is not safe for concurrent use on the same Counts.
func (a *Assigner) Count(c *Counts, rec arrow.RecordBatch, assigned []uint8) {
	n := int(rec.NumRows())
	for _, s := range assigned[:n] {
		c.Rows[s]++
	}
	if a.spec.StratifyBy == "" {
		return
	}
	col := column(rec, a.spec.StratifyBy)
	for i, s := range assigned[:n] {
		if col == nil || col.IsNull(i) {
			if c.NullStratum == nil {
				c.NullStratum = make([]int64, len(c.Names))
			}
			c.NullStratum[s]++
			continue
		}
		key := col.ValueStr(i)
		row := c.Strata[key]
		if row == nil {
			row = make([]int64, len(c.Names))
			c.Strata[key] = row
		}
		row[s]++
	}
}

// Merge adds o into c. Both must count the same splits.
func (c *Counts) Merge(o *Counts) error {
	if !slices.Equal(c.Names, o.Names) {
		return fmt.Errorf("split: cannot merge counts of splits %v into counts of splits %v", o.Names, c.Names)
	}
	addInto := func(dst, src []int64) []int64 {
		if dst == nil {
			dst = make([]int64, len(c.Names))
		}
		for i, v := range src {
			dst[i] += v
		}
		return dst
	}
	c.Rows = addInto(c.Rows, o.Rows)
	if o.NullStratum != nil {
		c.NullStratum = addInto(c.NullStratum, o.NullStratum)
	}
	if len(o.Strata) > 0 && c.Strata == nil {
		c.Strata = make(map[string][]int64, len(o.Strata))
	}
	for k, v := range o.Strata {
		c.Strata[k] = addInto(c.Strata[k], v)
	}
	return nil
}
