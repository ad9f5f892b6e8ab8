package format

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
)

// ColumnDecoder is a Decoder that can read some of a file's columns without
// the others (projection). Parquet decoders are ColumnDecoders; text formats
// have to parse every field of a record anyway, and are not.
type ColumnDecoder interface {
	Decoder
	// DecodeColumns is Decode restricted to the fields of schema at the
	// indices cols (nil means all of them), in that order: the batch has
	// Project(schema, cols) as schema, and the column data of the other
	// fields is neither read nor decoded.
	DecodeColumns(c *Chunk, schema *arrow.Schema, cols []int) (arrow.RecordBatch, error)
}

// Project returns the schema of the fields of schema at the indices cols,
// in that order, with schema's metadata; nil cols means every field, and
// gives schema itself.
func Project(schema *arrow.Schema, cols []int) (*arrow.Schema, error) {
	s, _, err := projection(schema, cols)
	return s, err
}

// projection is Project, also returning the field indices (all of them for
// nil cols).
func projection(schema *arrow.Schema, cols []int) (*arrow.Schema, []int, error) {
	if cols == nil {
		all := make([]int, schema.NumFields())
		for i := range all {
			all[i] = i
		}
		return schema, all, nil
	}
	seen := make([]bool, schema.NumFields())
	fields := make([]arrow.Field, len(cols))
	for j, i := range cols {
		if i < 0 || i >= len(seen) {
			return nil, nil, fmt.Errorf("column index %d is out of range: the schema has %d columns", i, len(seen))
		}
		if seen[i] {
			return nil, nil, fmt.Errorf("column %q is asked for twice", schema.Field(i).Name)
		}
		seen[i] = true
		fields[j] = schema.Field(i)
	}
	md := schema.Metadata()
	return arrow.NewSchema(fields, &md), cols, nil
}

// DictionaryDecoder is a ColumnDecoder that can keep string columns as the
// file stores them, dictionary-encoded, for readers that count values.
type DictionaryDecoder interface {
	ColumnDecoder
	// DecodeDictionaries is DecodeColumns, except that a column of type
	// string may come as a dictionary<int32, string> array whose dictionary
	// holds distinct, non-null values: the batch's schema then gives that
	// type for the column. Its values and nulls are those DecodeColumns
	// gives; a reader that counts values counts indices instead of strings.
	// The batch's columns that drops has dropped are not read: they come
	// as all-null arrays of their type (a nil drops drops none).
	DecodeDictionaries(c *Chunk, schema *arrow.Schema, cols []int, drops *ColumnDrops) (arrow.RecordBatch, error)
}

// ColumnDrops lets the reader of a scan give up columns it no longer needs
// while the scan runs — a drift check stops counting a column once it has
// more categories than the limit — so that the chunks decoded after that do
// not read them. Columns are numbered as in the scan's batches. A nil
// *ColumnDrops drops nothing.
//
// The reader may also ask, before the scan, for numeric columns as
// dictionaries (KeepNumericDictionaries): DecodeDictionaries then gives an
// int64 or float64 column whose column chunk stores only
// dictionary-encoded pages as a dictionary<int32, int64 or float64> array
// (the same values, each dictionary value decoded once per chunk), for
// readers that gather values through the dictionary themselves.
type ColumnDrops struct {
	d       []atomic.Bool
	numeric bool
}

// KeepNumericDictionaries asks for numeric columns as dictionaries where
// the file stores them so; call it before the scan starts.
func (d *ColumnDrops) KeepNumericDictionaries() {
	if d != nil {
		d.numeric = true
	}
}

// NumericDictionaries reports whether numeric dictionaries were asked for.
func (d *ColumnDrops) NumericDictionaries() bool { return d != nil && d.numeric }

// NewColumnDrops returns drops for batches of n columns.
func NewColumnDrops(n int) *ColumnDrops { return &ColumnDrops{d: make([]atomic.Bool, n)} }

// Drop marks column j as no longer needed; chunks decoded from then on
// give it as nulls.
func (d *ColumnDrops) Drop(j int) {
	if d != nil && j >= 0 && j < len(d.d) {
		d.d[j].Store(true)
	}
}

// Dropped reports whether column j was dropped.
func (d *ColumnDrops) Dropped(j int) bool {
	return d != nil && j >= 0 && j < len(d.d) && d.d[j].Load()
}

type dropsKey struct{}

// WithColumnDrops returns ctx carrying d, for scans that honour it
// (dataset.Dataset.Columns over Parquet files).
func WithColumnDrops(ctx context.Context, d *ColumnDrops) context.Context {
	return context.WithValue(ctx, dropsKey{}, d)
}

// ColumnDropsOf returns the drops ctx carries, or nil.
func ColumnDropsOf(ctx context.Context) *ColumnDrops {
	d, _ := ctx.Value(dropsKey{}).(*ColumnDrops)
	return d
}
