package format

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// randomCSV writes a random RFC 4180 table: fields with delimiters, quotes,
// embedded newlines, needless quoting, empty fields, LF and CRLF endings.
func randomCSV(rng *rand.Rand) []byte {
	ncols := 1 + rng.IntN(6)
	rows := rng.IntN(300)
	var b bytes.Buffer
	field := func() string {
		const letters = "abcxyz019 .-é"
		var s strings.Builder
		for n := rng.IntN(8); n > 0; n-- {
			switch rng.IntN(12) {
			case 0:
				s.WriteByte(',')
			case 1:
				s.WriteByte('"')
			case 2:
				s.WriteByte('\n')
			default:
				r := []rune(letters)
				s.WriteRune(r[rng.IntN(len(r))])
			}
		}
		v := s.String()
		if strings.ContainsAny(v, ",\"\n") || rng.IntN(5) == 0 {
			return `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
		}
		return v
	}
	eol := func() string {
		if rng.IntN(2) == 0 {
			return "\r\n"
		}
		return "\n"
	}
	for j := 0; j < ncols; j++ {
		if j > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "c%d", j)
	}
	for r := 0; r < rows; r++ {
		b.WriteString(eol())
		if rng.IntN(20) == 0 {
			b.WriteString(eol()) // a blank line
		}
		for j := 0; j < ncols; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(field())
		}
	}
	if rng.IntN(2) == 0 {
		b.WriteString(eol())
	}
	return b.Bytes()
}

// Every field of random tables reads back exactly as encoding/csv reads it.
func TestCSVAgainstEncodingCSV(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 34))
	for n := 0; n < 300; n++ {
		data := randomCSV(rng)
		ref, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatalf("encoding/csv rejects a generated table: %v\n%s", err, data)
		}
		var fields []arrow.Field
		for _, h := range ref[0] {
			fields = append(fields, arrow.Field{Name: h, Type: arrow.BinaryTypes.String, Nullable: true})
		}
		schema := arrow.NewSchema(fields, nil)
		d, err := NewDecoder(memInput("r.csv", data), Options{ChunkRows: 1 + rng.IntN(50), NullValues: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		got := [][]string{}
		err = d.Chunks(context.Background(), func(c *Chunk) error {
			rec, err := d.Decode(c, schema)
			if err != nil {
				return err
			}
			defer rec.Release()
			for r := 0; r < int(rec.NumRows()); r++ {
				row := make([]string, rec.NumCols())
				for j := range row {
					row[j] = rec.Column(j).(*array.String).Value(r)
				}
				got = append(got, row)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("table %d: %v\n%q", n, err, data)
		}
		// encoding/csv turns a quoted CRLF into LF; this package keeps field
		// bytes as written, and the generator writes no CR inside fields.
		if d := cmpDiff(ref[1:], got); d != "" {
			t.Fatalf("table %d differs from encoding/csv (-want +got):\n%s\n%q", n, d, data)
		}
	}
}

// Random objects written by encoding/json read back with the same values:
// escapes (including \u escapes of HTML characters and control bytes),
// float text, missing keys, nulls and nested values.
func TestJSONLAgainstEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(56, 78))
	runes := []rune("aZ09 \"\\/\b\f\n\r\t<>&\u2028é😀\x01\x1f")
	for n := 0; n < 100; n++ {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(rng.IntN(2) == 0)
		var want [][]any
		rows := 1 + rng.IntN(200)
		for r := 0; r < rows; r++ {
			obj := map[string]any{}
			var vals [5]any
			if rng.IntN(8) > 0 {
				var s strings.Builder
				for k := rng.IntN(10); k > 0; k-- {
					s.WriteRune(runes[rng.IntN(len(runes))])
				}
				obj["s"], vals[0] = s.String(), s.String()
			}
			if rng.IntN(8) > 0 {
				v := rng.Int64() >> uint(rng.IntN(63))
				obj["i"], vals[1] = v, v
			}
			switch rng.IntN(8) {
			case 0:
				obj["f"] = nil
			case 1:
			default:
				v := rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20))
				obj["f"], vals[2] = v, v
			}
			if rng.IntN(8) > 0 {
				v := rng.IntN(2) == 0
				obj["b"], vals[3] = v, v
			}
			if rng.IntN(3) > 0 {
				obj["n"] = map[string]any{"k": []any{1, "x"}}
				vals[4] = `{"k":[1,"x"]}`
			}
			if err := enc.Encode(obj); err != nil {
				t.Fatal(err)
			}
			want = append(want, vals[:])
		}
		res := mustRead(t, memInput("j.jsonl", buf.Bytes()), Options{ChunkRows: 1 + rng.IntN(40)})
		// Columns come in first-seen order; map them back to s, i, f, b, n.
		at := map[string]int{}
		for j, f := range res.schema.Fields() {
			at[f.Name] = j
		}
		for r, w := range want {
			for k, name := range []string{"s", "i", "f", "b", "n"} {
				j, ok := at[name]
				var got any
				if ok {
					got = res.rows[r][j]
				}
				if g, ok := got.(float64); ok && name == "f" && w[k] != nil && g == w[k].(float64) {
					continue
				}
				// encoding/json writes whole floats without a fraction ("3"), which
				// JSONL reads as an integer; their text must still agree.
				if fmt.Sprint(got) != fmt.Sprint(w[k]) {
					t.Fatalf("object %d key %s: got %#v, want %#v\n%s", r, name, got, w[k], buf.String())
				}
			}
		}
	}
}
