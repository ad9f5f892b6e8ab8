package format

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"unicode/utf8"
)

// referenceCSVRows counts the data rows of a CSV with encoding/csv, which
// implements RFC 4180 independently. It reports false when encoding/csv
// rejects the input or when the input is outside what both readers define
// the same way (non-UTF-8, a byte order mark, bad header names).
func referenceCSVRows(data []byte) (int, bool) {
	if !utf8.Valid(data) || bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) {
		return 0, false
	}
	r := csv.NewReader(bytes.NewReader(data))
	header, err := r.Read()
	if err != nil {
		return 0, false
	}
	seen := map[string]bool{}
	for _, h := range header {
		if h == "" || seen[h] {
			return 0, false
		}
		seen[h] = true
	}
	n := 0
	for {
		_, err := r.Read()
		if errors.Is(err, io.EOF) {
			return n, true
		}
		if err != nil {
			return 0, false
		}
		n++
	}
}

func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n",
		"a,b\r\n1,\"x\r\ny\"\r\n\r\n2,z",
		"a\n\"\"\n\n1\n",
		"a,b\n\"x\"\"y\",\"\"\n",
		"a,b\n1,x\"y\n",
		"a,b\n\"x\"y,1\n",
		"a,b\n\"open,1\n",
		"id,v\n1,1e3\n2,inf\n3,NA\n4,true\n5,2024-01-02\n",
		"x\n\r\n\r",
		"a,a\n1,2\n",
		"a,b\n1\n",
	} {
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, rows uint8) {
		for _, ts := range []bool{false, true} {
			res, err := read(t, memInput("f.csv", data), Options{ChunkRows: int(rows%4) + 1, InferTimestamps: ts})
			want, ok := referenceCSVRows(data)
			if !ok {
				if err == nil && !utf8.Valid(data) {
					t.Fatalf("non-UTF-8 input read without error")
				}
				continue
			}
			if err != nil {
				t.Fatalf("encoding/csv reads %d rows, the decoder fails: %v", want, err)
			}
			if len(res.rows) != want {
				t.Fatalf("decoded %d rows, encoding/csv reads %d", len(res.rows), want)
			}
		}
	})
}

// referenceJSONLRows counts the objects of a JSONL input with encoding/json.
// It reports false when some line is not exactly one JSON object with
// distinct keys.
func referenceJSONLRows(data []byte) (int, bool) {
	if len(data) == 0 || !utf8.Valid(data) {
		return 0, false
	}
	n := 0
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.Trim(line, " \t\r")) == 0 {
			continue
		}
		if !json.Valid(line) || bytes.TrimLeft(line, " \t\r")[0] != '{' {
			return 0, false
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		if _, err := dec.Token(); err != nil {
			return 0, false
		}
		keys := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return 0, false
			}
			if keys[k.(string)] {
				return 0, false
			}
			keys[k.(string)] = true
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return 0, false
			}
		}
		n++
	}
	return n, true
}

func FuzzJSONL(f *testing.F) {
	for _, s := range []string{
		`{"a":1}` + "\n" + `{"a":2.5,"b":"x"}`,
		`{"a":{"b":[1,{"c":"}"}]}}` + "\n\n" + `{}`,
		`{"a":"\ud83d\ude00\u00e9\n"}`,
		`{"a\u0062":true,"c":null}` + "\r\n" + `  {"ab":false}  `,
		`[1]`,
		`{"a":1}{"b":2}`,
		`{"a":1,"a":2}`,
		`{"a":-0.0e+5,"b":12345678901234567890}`,
		`{"t":"2024-01-02T03:04:05Z"}`,
	} {
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(2))
	}
	f.Fuzz(func(t *testing.T, data []byte, rows uint8) {
		for _, ts := range []bool{false, true} {
			res, err := read(t, memInput("f.jsonl", data), Options{ChunkRows: int(rows%4) + 1, InferTimestamps: ts})
			want, ok := referenceJSONLRows(data)
			if !ok {
				continue
			}
			if err != nil {
				t.Fatalf("encoding/json reads %d objects, the decoder fails: %v", want, err)
			}
			if len(res.rows) != want {
				t.Fatalf("decoded %d rows, encoding/json reads %d", len(res.rows), want)
			}
		}
	})
}
