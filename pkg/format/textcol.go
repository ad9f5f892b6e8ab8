package format

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// textColumn converts the text fields of one column, a block at a time, into
// an Arrow array of the whole chunk.
type textColumn interface {
	// add converts column j of the block; it returns the block row of the
	// first value that does not convert, or -1.
	add(t *csvTable, j int) int
	array() (arrow.Array, error)
}

func newTextColumn(typ arrow.DataType, rows int, ns *nullSet) textColumn {
	switch typ.ID() {
	case arrow.NULL:
		return &nullColumn{ns: ns, n: rows}
	case arrow.BOOL:
		return &boolColumn{ns: ns, v: newValidity(rows), bits: make([]byte, (rows+7)/8)}
	case arrow.INT64:
		return &int64Column{ns: ns, typ: typ, v: newValidity(rows), vals: make([]int64, rows)}
	case arrow.FLOAT64:
		return &float64Column{ns: ns, v: newValidity(rows), vals: make([]float64, rows)}
	case arrow.TIMESTAMP:
		mul, div := timestampScale(typ)
		return &timeColumn{int64Column: int64Column{ns: ns, typ: typ, v: newValidity(rows), vals: make([]int64, rows)}, mul: mul, div: div}
	case arrow.STRING:
		return &stringColumn{ns: ns, rows: rows, sb: newStringsBuilder(rows, 0)}
	}
	return nil
}

type nullColumn struct {
	ns *nullSet
	n  int
}

func (c *nullColumn) add(t *csvTable, j int) int {
	for r := 0; r < t.rows; r++ {
		if !c.ns.isNull(t.field(r, j)) {
			return r
		}
	}
	return -1
}

func (c *nullColumn) array() (arrow.Array, error) { return array.NewNull(c.n), nil }

type boolColumn struct {
	ns   *nullSet
	v    validity
	bits []byte
	n    int
}

func (c *boolColumn) add(t *csvTable, j int) int {
	for r := 0; r < t.rows; r++ {
		b := t.field(r, j)
		i := c.n
		c.n++
		if c.ns.isNull(b) {
			c.v.nulls++
			continue
		}
		x, ok := parseBool(b)
		if !ok {
			return r
		}
		c.v.set(i)
		if x {
			c.bits[i>>3] |= 1 << uint(i&7)
		}
	}
	return -1
}

func (c *boolColumn) array() (arrow.Array, error) { return boolArray(c.n, c.bits, c.v), nil }

type int64Column struct {
	ns   *nullSet
	typ  arrow.DataType
	v    validity
	vals []int64
	n    int
}

func (c *int64Column) add(t *csvTable, j int) int {
	for r := 0; r < t.rows; r++ {
		b := t.field(r, j)
		i := c.n
		c.n++
		if c.ns.isNull(b) {
			c.v.nulls++
			continue
		}
		x, st := parseInt(b)
		if st != intOK {
			return r
		}
		c.vals[i] = x
		c.v.set(i)
	}
	return -1
}

func (c *int64Column) array() (arrow.Array, error) { return int64Array(c.typ, c.vals, c.v), nil }

type float64Column struct {
	ns   *nullSet
	v    validity
	vals []float64
	n    int
}

func (c *float64Column) add(t *csvTable, j int) int {
	for r := 0; r < t.rows; r++ {
		b := t.field(r, j)
		i := c.n
		c.n++
		if c.ns.isNull(b) {
			c.v.nulls++
			continue
		}
		x, ok := parseFloat(b)
		if !ok {
			return r
		}
		c.vals[i] = x
		c.v.set(i)
	}
	return -1
}

func (c *float64Column) array() (arrow.Array, error) { return float64Array(c.vals, c.v), nil }

type timeColumn struct {
	int64Column
	mul, div int64
}

func (c *timeColumn) add(t *csvTable, j int) int {
	for r := 0; r < t.rows; r++ {
		b := t.field(r, j)
		i := c.n
		c.n++
		if c.ns.isNull(b) {
			c.v.nulls++
			continue
		}
		us, ok := parseTimestamp(b)
		if !ok {
			return r
		}
		c.vals[i] = us * c.mul / c.div
		c.v.set(i)
	}
	return -1
}

type stringColumn struct {
	ns   *nullSet
	rows int
	sb   *stringsBuilder
}

func (c *stringColumn) add(t *csvTable, j int) int {
	if c.sb.i == 0 {
		// Reserve for the whole chunk from the first block's sizes.
		size := 0
		for r := 0; r < t.rows; r++ {
			size += len(t.field(r, j))
		}
		c.sb.data = make([]byte, 0, size*c.rows/t.rows+size/8+64)
	}
	for r := 0; r < t.rows; r++ {
		b := t.field(r, j)
		if c.ns.isNull(b) {
			c.sb.appendNull()
			continue
		}
		c.sb.append(b)
	}
	return -1
}

func (c *stringColumn) array() (arrow.Array, error) { return c.sb.array() }
