package format

import (
	"bytes"
	"io"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"
)

// tailReads counts the reads of a file that touch its last 8 bytes (the
// footer's length and magic): one per parse of the footer.
type tailReads struct {
	r    io.ReaderAt
	size int64
	mu   sync.Mutex
	n    int
}

func (t *tailReads) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > t.size-8 {
		t.mu.Lock()
		t.n++
		t.mu.Unlock()
	}
	return t.r.ReadAt(p, off)
}

func (t *tailReads) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

// A decoder parses a Parquet footer once for the guard's check and its own
// reader; passes that share a Footer parse it once for all of them, and read
// the same rows as passes that parse it each time. A Footer parsed at
// another size is not used: the file is parsed again.
func TestFooterParsedOnce(t *testing.T) {
	data := parquetFile(t)
	fresh := mustRead(t, memInput("types.parquet", data), Options{ChunkRows: 2})

	tr := &tailReads{r: bytes.NewReader(data), size: int64(len(data))}
	in := memInput("types.parquet", data)
	in.ReaderAt = tr
	mustRead(t, in, Options{ChunkRows: 2})
	if n := tr.count(); n != 1 {
		t.Errorf("one pass read the footer %d times, want 1 (the guard and the decoder share it)", n)
	}

	shared := new(Footer)
	in.Footer = shared
	tr.n = 0
	var passes []*result
	for range 3 {
		passes = append(passes, mustRead(t, in, Options{ChunkRows: 2}))
	}
	if n := tr.count(); n != 1 {
		t.Errorf("three passes sharing a Footer read the footer %d times, want 1", n)
	}
	for i, res := range passes {
		diff(t, "schema of pass with a shared footer", typeNames(fresh.schema), typeNames(res.schema))
		diff(t, "rows of pass with a shared footer", fresh.rows, res.rows)
		if len(res.chunks) != len(fresh.chunks) {
			t.Errorf("pass %d: %d chunks, want %d", i, len(res.chunks), len(fresh.chunks))
		}
	}

	// The kept footer is the one a fresh parse gives.
	r, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	want, err := r.MetaData().SerializeString(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	kept := shared.get(int64(len(data)))
	if kept == nil {
		t.Fatal("no footer kept")
	}
	got, err := kept.SerializeString(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Error("kept footer differs from a fresh parse")
	}

	// Another size: the kept footer does not apply, the file is parsed.
	other, _ := writeParquet(t, memInput("mixed.csv", mixedCSV(50)), Options{}, None)
	if len(other) == len(data) {
		t.Fatal("the second file must differ in size")
	}
	wantOther := mustRead(t, memInput("mixed.parquet", other), Options{})
	oin := memInput("mixed.parquet", other)
	otr := &tailReads{r: bytes.NewReader(other), size: int64(len(other))}
	oin.ReaderAt, oin.Footer = otr, shared
	diff(t, "rows of a file of another size", wantOther.rows, mustRead(t, oin, Options{}).rows)
	if otr.count() != 1 {
		t.Errorf("a file of another size read its footer %d times, want 1", otr.count())
	}
}
