package format

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Parquet reading. Chunks reads only the footer: every row group is cut into
// slices of up to ChunkRows rows, and Decode reads its slice on its own
// (seeking inside the row group), so decoding runs in parallel and no data is
// read twice. Infer reports the types of the file's Arrow schema mapped onto
// the types this package produces:
//
//	bool                                        → bool
//	int8…int64, uint8…uint64                    → int64 (uint64 above MaxInt64 is a Decode error)
//	float16, float32, float64, decimal          → float64
//	string, large_string, string_view, binary   → string (binary must be UTF-8)
//	dictionary<…>                               → as its value type
//	timestamp (any unit or zone), date32/64     → timestamp[us, UTC]
//	null                                        → null
//	anything else (time of day, lists, structs) → string: text, or JSON for nested values
//
// and Decode casts each column to the target schema. Null counts come from
// row-group statistics, attributed to the first chunk of each row group, so
// merged evidence of the whole file is exact when the file has them.

type parquetDecoder struct {
	in   Input
	rows int
}

type parquetChunk struct {
	meta   *metadata.FileMetaData
	schema *arrow.Schema
	rg     int   // row group, -1 for the empty chunk of a file without rows
	offset int64 // first row within the row group
	nulls  []int64
	known  []bool
}

const parquetHint = "check that the file is a complete Parquet file, or set --format if it is not Parquet"

func (d *parquetDecoder) reader(meta *metadata.FileMetaData) (*file.Reader, error) {
	if d.in.ReaderAt == nil {
		return nil, &Error{File: d.in.Name, Msg: "Parquet input needs random access (ReaderAt and Size)",
			Hint: "read Parquet from a local or spooled file"}
	}
	var opts []file.ReadOption
	if meta != nil {
		opts = append(opts, file.WithMetadata(meta))
	}
	r, err := file.NewParquetReader(io.NewSectionReader(d.in.ReaderAt, 0, d.in.Size), opts...)
	if err != nil {
		return nil, &Error{File: d.in.Name, Msg: fmt.Sprintf("not a Parquet file (bad magic/footer): %v", err), Hint: parquetHint}
	}
	return r, nil
}

func (d *parquetDecoder) Chunks(ctx context.Context, emit func(*Chunk) error) error {
	r, err := d.reader(nil)
	if err != nil {
		return err
	}
	defer r.Close()
	meta := r.MetaData()
	fr, err := pqarrow.NewFileReader(r, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return &Error{File: d.in.Name, Msg: fmt.Sprintf("cannot read the Parquet schema: %v", err), Hint: parquetHint}
	}
	sc, err := fr.Schema()
	if err != nil {
		return &Error{File: d.in.Name, Msg: fmt.Sprintf("cannot read the Parquet schema: %v", err), Hint: parquetHint}
	}
	// Leaf column of each top-level field, for null counts from statistics;
	// nested fields have none that maps onto the field.
	leaf := make([]int, sc.NumFields())
	for i, f := range sc.Fields() {
		leaf[i] = -1
		for c := 0; c < meta.Schema.NumColumns(); c++ {
			if p := meta.Schema.Column(c).ColumnPath(); len(p) == 1 && p[0] == f.Name {
				leaf[i] = c
			}
		}
	}
	seq, row := 0, int64(0)
	for rg := 0; rg < meta.NumRowGroups(); rg++ {
		rgm := meta.RowGroup(rg)
		nulls, known := make([]int64, len(leaf)), make([]bool, len(leaf))
		for i, c := range leaf {
			if c < 0 {
				continue
			}
			cc, err := rgm.ColumnChunk(c)
			if err != nil {
				continue
			}
			if ok, _ := cc.StatsSet(); !ok {
				continue
			}
			if st, err := cc.Statistics(); err == nil && st != nil && st.HasNullCount() {
				nulls[i], known[i] = st.NullCount(), true
			}
		}
		n := rgm.NumRows()
		for off := int64(0); off < n; off += int64(d.rows) {
			if err := ctx.Err(); err != nil {
				return err
			}
			pc := &parquetChunk{meta: meta, schema: sc, rg: rg, offset: off, nulls: make([]int64, len(leaf)), known: known}
			if off == 0 {
				copy(pc.nulls, nulls)
			}
			c := &Chunk{Seq: seq, FirstRow: row, Rows: int(min(int64(d.rows), n-off)), payload: pc}
			if err := emit(c); err != nil {
				return err
			}
			seq++
			row += int64(c.Rows)
		}
	}
	if seq == 0 {
		known := make([]bool, len(leaf))
		for i := range known {
			known[i] = true
		}
		return emit(&Chunk{payload: &parquetChunk{meta: meta, schema: sc, rg: -1, nulls: make([]int64, len(leaf)), known: known}})
	}
	return nil
}

func (d *parquetDecoder) payload(c *Chunk) (*parquetChunk, error) {
	pc, ok := c.payload.(*parquetChunk)
	if !ok {
		return nil, fmt.Errorf("%s: chunk %d was not made by this Parquet decoder", d.in.Name, c.Seq)
	}
	return pc, nil
}

func (d *parquetDecoder) Infer(c *Chunk) (*Evidence, error) {
	pc, err := d.payload(c)
	if err != nil {
		return nil, err
	}
	ev := &Evidence{init: true, file: d.in.Name, rows: int64(c.Rows), cols: make([]columnEvidence, pc.schema.NumFields())}
	for i, f := range pc.schema.Fields() {
		nulls := pc.nulls[i]
		if c.Rows == 0 {
			nulls = 0
		}
		ev.cols[i] = columnEvidence{name: f.Name, kinds: parquetKinds(f.Type), nulls: nulls, nullsKnown: pc.known[i], idx: int64(i)}
		if pc.known[i] && pc.offset == 0 && pc.rg >= 0 {
			// The first chunk of a row group carries the row group's counts,
			// so that merged evidence of the whole file is exact.
			ev.cols[i].values = pc.meta.RowGroup(pc.rg).NumRows() - nulls
		}
	}
	return ev, nil
}

// parquetKinds maps an Arrow type of a Parquet file onto the inference
// lattice, which fixes the type that Schema reports.
func parquetKinds(t arrow.DataType) kindFlags {
	switch t.ID() {
	case arrow.NULL:
		return 0
	case arrow.BOOL:
		return kindBool
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return kindInt
	case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256:
		return kindFloat
	case arrow.TIMESTAMP, arrow.DATE32, arrow.DATE64:
		return kindTime
	case arrow.DICTIONARY:
		return parquetKinds(t.(*arrow.DictionaryType).ValueType)
	}
	return kindString
}

func (d *parquetDecoder) Decode(c *Chunk, schema *arrow.Schema) (arrow.RecordBatch, error) {
	pc, err := d.payload(c)
	if err != nil {
		return nil, err
	}
	names := make([]string, pc.schema.NumFields())
	for i, f := range pc.schema.Fields() {
		names[i] = f.Name
	}
	if err := checkColumns(d.in.Name, names, schema); err != nil {
		return nil, err
	}
	if c.Rows == 0 {
		cols := make([]arrow.Array, schema.NumFields())
		for i, f := range schema.Fields() {
			cols[i] = array.MakeArrayOfNull(memory.DefaultAllocator, f.Type, 0)
		}
		defer releaseAll(cols)
		return array.NewRecordBatch(schema, cols, 0), nil
	}
	rec, err := d.readSlice(pc, c.Rows)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	cols := make([]arrow.Array, schema.NumFields())
	for i, f := range schema.Fields() {
		a, err := castColumn(rec.Column(i), f.Type)
		if err != nil {
			releaseAll(cols)
			var ce *castError
			if errors.As(err, &ce) {
				return nil, &Error{File: d.in.Name, Row: c.FirstRow + int64(ce.row) + 1, Column: f.Name, Msg: ce.msg,
					Hint: "the schema was inferred from other data; infer it again with this file included"}
			}
			return nil, &Error{File: d.in.Name, Column: f.Name, Msg: err.Error()}
		}
		cols[i] = a
	}
	defer releaseAll(cols)
	return array.NewRecordBatch(schema, cols, int64(c.Rows)), nil
}

// readSlice reads rows [offset, offset+n) of one row group.
func (d *parquetDecoder) readSlice(pc *parquetChunk, n int) (arrow.RecordBatch, error) {
	r, err := d.reader(pc.meta)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	fail := func(err error) error {
		return &Error{File: d.in.Name, Msg: fmt.Sprintf("cannot read row group %d: %v", pc.rg, err), Hint: parquetHint}
	}
	fr, err := pqarrow.NewFileReader(r, pqarrow.ArrowReadProperties{BatchSize: int64(n)}, memory.DefaultAllocator)
	if err != nil {
		return nil, fail(err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, []int{pc.rg})
	if err != nil {
		return nil, fail(err)
	}
	defer rr.Release()
	if pc.offset > 0 {
		if err := rr.SeekToRow(pc.offset); err != nil {
			return nil, fail(err)
		}
	}
	var parts []arrow.RecordBatch
	defer func() {
		for _, p := range parts {
			p.Release()
		}
	}()
	got := 0
	for got < n && rr.Next() {
		rec := rr.RecordBatch()
		take := min(int(rec.NumRows()), n-got)
		parts = append(parts, rec.NewSlice(0, int64(take)))
		got += take
	}
	if err := rr.Err(); err != nil {
		return nil, fail(err)
	}
	if got != n {
		return nil, fail(fmt.Errorf("read %d rows, expected %d", got, n))
	}
	if len(parts) == 1 {
		parts[0].Retain()
		return parts[0], nil
	}
	cols := make([]arrow.Array, len(parts[0].Columns()))
	for i := range cols {
		pieces := make([]arrow.Array, len(parts))
		for k, p := range parts {
			pieces[k] = p.Column(i)
		}
		cat, err := array.Concatenate(pieces, memory.DefaultAllocator)
		if err != nil {
			releaseAll(cols)
			return nil, fail(err)
		}
		cols[i] = cat
	}
	defer releaseAll(cols)
	return array.NewRecordBatch(parts[0].Schema(), cols, int64(n)), nil
}

// castError is a value that cannot be represented in the target type.
type castError struct {
	row int
	msg string
}

func (e *castError) Error() string { return fmt.Sprintf("row %d: %s", e.row, e.msg) }

type valuer[T any] interface {
	arrow.Array
	Value(int) T
}

func castInts[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64](a valuer[T], to arrow.DataType) (arrow.Array, error) {
	n := a.Len()
	v, vals := newValidity(n), make([]int64, n)
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			v.nulls++
			continue
		}
		x := a.Value(i)
		if uint64(x) > math.MaxInt64 && x > 0 {
			return nil, &castError{row: i, msg: fmt.Sprintf("value %d does not fit in int64", x)}
		}
		vals[i] = int64(x)
		v.set(i)
	}
	return int64Array(to, vals, v), nil
}

func castFloats[T any](a valuer[T], f func(T) float64) arrow.Array {
	n := a.Len()
	v, vals := newValidity(n), make([]float64, n)
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			v.nulls++
			continue
		}
		vals[i] = f(a.Value(i))
		v.set(i)
	}
	return float64Array(vals, v)
}

func castTimes[T ~int32 | ~int64](a valuer[T], to arrow.DataType, toUS func(int64) int64) arrow.Array {
	mul, div := timestampScale(to)
	n := a.Len()
	v, vals := newValidity(n), make([]int64, n)
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			v.nulls++
			continue
		}
		vals[i] = toUS(int64(a.Value(i))) * mul / div
		v.set(i)
	}
	return int64Array(to, vals, v)
}

// castColumn converts a column read from Parquet to a target type of this
// package (see the table at the top of the file).
func castColumn(a arrow.Array, to arrow.DataType) (arrow.Array, error) {
	from := a.DataType()
	if arrow.TypeEqual(from, to) {
		a.Retain()
		return a, nil
	}
	if from.ID() == arrow.NULL {
		return array.MakeArrayOfNull(memory.DefaultAllocator, to, a.Len()), nil
	}
	if dict, ok := a.(*array.Dictionary); ok {
		values, err := castColumn(dict.Dictionary(), to)
		if err != nil {
			return nil, err
		}
		defer values.Release()
		return takeDictionary(values, dict)
	}
	unsupported := func() (arrow.Array, error) {
		return nil, fmt.Errorf("cannot read Parquet type %s as %s", from, to)
	}
	switch to.ID() {
	case arrow.NULL:
		if a.NullN() != a.Len() {
			for i := 0; i < a.Len(); i++ {
				if a.IsValid(i) {
					return nil, &castError{row: i, msg: fmt.Sprintf("value in a column of type %s is not null", to)}
				}
			}
		}
		return array.NewNull(a.Len()), nil
	case arrow.INT64:
		switch a := a.(type) {
		case *array.Int8:
			return castInts[int8](a, to)
		case *array.Int16:
			return castInts[int16](a, to)
		case *array.Int32:
			return castInts[int32](a, to)
		case *array.Int64:
			return castInts[int64](a, to)
		case *array.Uint8:
			return castInts[uint8](a, to)
		case *array.Uint16:
			return castInts[uint16](a, to)
		case *array.Uint32:
			return castInts[uint32](a, to)
		case *array.Uint64:
			return castInts[uint64](a, to)
		}
	case arrow.FLOAT64:
		switch a := a.(type) {
		case *array.Int8:
			return castFloats[int8](a, func(x int8) float64 { return float64(x) }), nil
		case *array.Int16:
			return castFloats[int16](a, func(x int16) float64 { return float64(x) }), nil
		case *array.Int32:
			return castFloats[int32](a, func(x int32) float64 { return float64(x) }), nil
		case *array.Int64:
			return castFloats[int64](a, func(x int64) float64 { return float64(x) }), nil
		case *array.Uint8:
			return castFloats[uint8](a, func(x uint8) float64 { return float64(x) }), nil
		case *array.Uint16:
			return castFloats[uint16](a, func(x uint16) float64 { return float64(x) }), nil
		case *array.Uint32:
			return castFloats[uint32](a, func(x uint32) float64 { return float64(x) }), nil
		case *array.Uint64:
			return castFloats[uint64](a, func(x uint64) float64 { return float64(x) }), nil
		case *array.Float32:
			return castFloats[float32](a, func(x float32) float64 { return float64(x) }), nil
		case *array.Float16:
			n := a.Len()
			v, vals := newValidity(n), make([]float64, n)
			for i := 0; i < n; i++ {
				if a.IsNull(i) {
					v.nulls++
					continue
				}
				vals[i] = float64(a.Value(i).Float32())
				v.set(i)
			}
			return float64Array(vals, v), nil
		case *array.Decimal128:
			scale := from.(*arrow.Decimal128Type).Scale
			n := a.Len()
			v, vals := newValidity(n), make([]float64, n)
			for i := 0; i < n; i++ {
				if a.IsNull(i) {
					v.nulls++
					continue
				}
				vals[i] = a.Value(i).ToFloat64(scale)
				v.set(i)
			}
			return float64Array(vals, v), nil
		case *array.Decimal256:
			scale := from.(*arrow.Decimal256Type).Scale
			n := a.Len()
			v, vals := newValidity(n), make([]float64, n)
			for i := 0; i < n; i++ {
				if a.IsNull(i) {
					v.nulls++
					continue
				}
				vals[i] = a.Value(i).ToFloat64(scale)
				v.set(i)
			}
			return float64Array(vals, v), nil
		}
	case arrow.TIMESTAMP:
		switch a := a.(type) {
		case *array.Timestamp:
			var toUS func(int64) int64
			switch from.(*arrow.TimestampType).Unit {
			case arrow.Second:
				toUS = func(x int64) int64 { return x * 1e6 }
			case arrow.Millisecond:
				toUS = func(x int64) int64 { return x * 1e3 }
			case arrow.Nanosecond:
				toUS = func(x int64) int64 { return floorDiv(x, 1e3) }
			default:
				toUS = func(x int64) int64 { return x }
			}
			return castTimes[arrow.Timestamp](a, to, toUS), nil
		case *array.Date32:
			return castTimes[arrow.Date32](a, to, func(x int64) int64 { return x * 86400e6 }), nil
		case *array.Date64:
			return castTimes[arrow.Date64](a, to, func(x int64) int64 { return x * 1e3 }), nil
		}
	case arrow.STRING:
		return castToString(a)
	}
	return unsupported()
}

func floorDiv(x, d int64) int64 {
	q := x / d
	if (x%d != 0) && (x < 0) {
		q--
	}
	return q
}

// castToString renders any column as text: strings as they are (binary
// must be UTF-8), timestamps and dates in RFC 3339, nested values as JSON,
// everything else in Arrow's text form.
func castToString(a arrow.Array) (arrow.Array, error) {
	n := a.Len()
	var value func(i int) ([]byte, error)
	switch a := a.(type) {
	case *array.String:
		value = func(i int) ([]byte, error) { return []byte(a.Value(i)), nil }
	case *array.LargeString:
		value = func(i int) ([]byte, error) { return []byte(a.Value(i)), nil }
	case *array.StringView:
		value = func(i int) ([]byte, error) { return []byte(a.Value(i)), nil }
	case interface{ Value(int) []byte }:
		value = func(i int) ([]byte, error) {
			b := a.Value(i)
			if !utf8.Valid(b) {
				return nil, &castError{row: i, msg: "binary value is not UTF-8 text"}
			}
			return b, nil
		}
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		value = func(i int) ([]byte, error) {
			return a.Value(i).ToTime(unit).UTC().AppendFormat(nil, time.RFC3339Nano), nil
		}
	case *array.Date32:
		value = func(i int) ([]byte, error) { return a.Value(i).ToTime().UTC().AppendFormat(nil, "2006-01-02"), nil }
	case *array.Date64:
		value = func(i int) ([]byte, error) { return a.Value(i).ToTime().UTC().AppendFormat(nil, "2006-01-02"), nil }
	case array.ListLike, *array.Struct:
		value = func(i int) ([]byte, error) { return json.Marshal(a.GetOneForMarshal(i)) }
	default:
		value = func(i int) ([]byte, error) { return []byte(a.ValueStr(i)), nil }
	}
	vals := make([][]byte, n)
	size := 0
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			continue
		}
		b, err := value(i)
		if err != nil {
			return nil, err
		}
		vals[i] = b
		size += len(b)
	}
	sb := newStringsBuilder(n, size)
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			sb.appendNull()
		} else {
			sb.append(vals[i])
		}
	}
	return sb.array()
}

// takeDictionary expands dictionary indices over values already cast to the
// target type.
func takeDictionary(values arrow.Array, dict *array.Dictionary) (arrow.Array, error) {
	n := dict.Len()
	v := newValidity(n)
	valid := func(i int) (int, bool) {
		if dict.IsNull(i) || values.IsNull(dict.GetValueIndex(i)) {
			v.nulls++
			return 0, false
		}
		v.set(i)
		return dict.GetValueIndex(i), true
	}
	switch vs := values.(type) {
	case *array.Null:
		return array.NewNull(n), nil
	case *array.Boolean:
		bits := make([]byte, (n+7)/8)
		for i := 0; i < n; i++ {
			if k, ok := valid(i); ok && vs.Value(k) {
				bits[i>>3] |= 1 << uint(i&7)
			}
		}
		return boolArray(n, bits, v), nil
	case *array.Int64:
		vals := make([]int64, n)
		for i := 0; i < n; i++ {
			if k, ok := valid(i); ok {
				vals[i] = vs.Value(k)
			}
		}
		return int64Array(values.DataType(), vals, v), nil
	case *array.Timestamp:
		vals := make([]int64, n)
		for i := 0; i < n; i++ {
			if k, ok := valid(i); ok {
				vals[i] = int64(vs.Value(k))
			}
		}
		return int64Array(values.DataType(), vals, v), nil
	case *array.Float64:
		vals := make([]float64, n)
		for i := 0; i < n; i++ {
			if k, ok := valid(i); ok {
				vals[i] = vs.Value(k)
			}
		}
		return float64Array(vals, v), nil
	case *array.String:
		size := 0
		for i := 0; i < n; i++ {
			if dict.IsValid(i) {
				size += vs.ValueLen(dict.GetValueIndex(i))
			}
		}
		sb := newStringsBuilder(n, size)
		for i := 0; i < n; i++ {
			if dict.IsNull(i) || vs.IsNull(dict.GetValueIndex(i)) {
				sb.appendNull()
				continue
			}
			sb.append([]byte(vs.Value(dict.GetValueIndex(i))))
		}
		return sb.array()
	}
	return nil, fmt.Errorf("cannot expand a dictionary of %s", values.DataType())
}
