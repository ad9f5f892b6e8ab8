package format

import (
	"fmt"

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
	DecodeDictionaries(c *Chunk, schema *arrow.Schema, cols []int) (arrow.RecordBatch, error)
}
