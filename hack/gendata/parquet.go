package main

import (
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetSchema is the Parquet form of the table: the same columns as the CSV header, with
// the types a reader infers from the CSV (ts as a UTC timestamp).
var parquetSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "user_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64},
	{Name: "country", Type: arrow.BinaryTypes.String},
	{Name: "session", Type: arrow.BinaryTypes.String},
	{Name: "is_active", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "note", Type: arrow.BinaryTypes.String},
	{Name: "product", Type: arrow.BinaryTypes.String},
	{Name: "quantity", Type: arrow.PrimitiveTypes.Int64},
	{Name: "latency_ms", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
}, nil)

// generateParquet writes the same rows as generate, as one Parquet file with c.rowGroupRows
// rows per row group. Decimal values are converted by one exactly rounded division (cents/100,
// micros/1e6, micros/1e3), which gives the same float64 as parsing the CSV text.
func generateParquet(w io.Writer, c config) error {
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(c.rowGroupRows),
	)
	// The anonymous struct hides any Close method: the caller owns w, and the Parquet writer
	// would otherwise close it.
	fw, err := pqarrow.NewFileWriter(parquetSchema, struct{ io.Writer }{w}, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return fmt.Errorf("parquet writer: %w", err)
	}
	g := newGenerator(c)
	b := array.NewRecordBuilder(memory.DefaultAllocator, parquetSchema)
	defer b.Release()
	var (
		id       = b.Field(0).(*array.Int64Builder)
		userID   = b.Field(1).(*array.Int64Builder)
		amount   = b.Field(2).(*array.Float64Builder)
		score    = b.Field(3).(*array.Float64Builder)
		country  = b.Field(4).(*array.StringBuilder)
		session  = b.Field(5).(*array.StringBuilder)
		active   = b.Field(6).(*array.BooleanBuilder)
		ts       = b.Field(7).(*array.TimestampBuilder)
		note     = b.Field(8).(*array.StringBuilder)
		product  = b.Field(9).(*array.StringBuilder)
		quantity = b.Field(10).(*array.Int64Builder)
		latency  = b.Field(11).(*array.Float64Builder)
	)
	var buf []byte
	flush := func() error {
		rec := b.NewRecordBatch()
		defer rec.Release()
		return fw.Write(rec)
	}
	for n := int64(1); n <= c.rows; n++ {
		r := g.next(n)
		id.Append(r.id)
		userID.Append(r.userID)
		if r.amountNull {
			amount.AppendNull()
		} else {
			amount.Append(float64(r.amountCents) / 100)
		}
		score.Append(float64(r.scoreMicros) / scoreScale)
		country.Append(countries[r.country])
		buf = appendSession(buf[:0], r.sessHi, r.sessLo)
		session.BinaryBuilder.Append(buf)
		active.Append(r.active)
		ts.Append(arrow.Timestamp(r.ts * 1e6))
		note.Append(notes[r.note])
		buf = appendProduct(buf[:0], r.product)
		product.BinaryBuilder.Append(buf)
		quantity.Append(r.quantity)
		if r.latencyNull {
			latency.AppendNull()
		} else {
			latency.Append(float64(r.latencyUS) / 1000)
		}
		if n%c.rowGroupRows == 0 {
			if err := flush(); err != nil {
				fw.Close()
				return err
			}
		}
	}
	if c.rows == 0 || c.rows%c.rowGroupRows != 0 {
		if err := flush(); err != nil {
			fw.Close()
			return err
		}
	}
	return fw.Close()
}
