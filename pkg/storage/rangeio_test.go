package storage

import (
	"context"
	"io"
	"strings"
	"sync/atomic"
	"testing"
)

// Ranged reads return exactly the bytes asked for on every store, count
// them, stop at the end of the object with io.EOF, and say so when the
// object is shorter than its listed size.
func TestRangedReads(t *testing.T) {
	forEachStore(t, func(t *testing.T, s testStore, root string) {
		ctx := context.Background()
		data := strings.Repeat("0123456789abcdef", 4096) + "tail" // 65,540 bytes
		seed(t, root, map[string]string{"d/obj.bin": data})
		loc := mustOpen(t, root)

		rc, err := loc.NewRangeReader(ctx, "d/obj.bin", 65530, 7)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != data[65530:65537] {
			t.Fatalf("range 65530+7: %q, %v", got, err)
		}

		var n atomic.Int64
		ra := loc.ReaderAt(ctx, "d/obj.bin", int64(len(data)), &n)
		p := make([]byte, 100)
		if k, err := ra.ReadAt(p, 1000); k != 100 || err != nil || string(p) != data[1000:1100] {
			t.Fatalf("ReadAt 1000: %d %v %q", k, err, p[:k])
		}
		if k, err := ra.ReadAt(p, int64(len(data))-10); k != 10 || err != io.EOF || string(p[:k]) != data[len(data)-10:] {
			t.Fatalf("ReadAt near the end: %d %v %q", k, err, p[:k])
		}
		if k, err := ra.ReadAt(p, int64(len(data))); k != 0 || err != io.EOF {
			t.Fatalf("ReadAt at the end: %d %v", k, err)
		}
		if got := n.Load(); got != 110 {
			t.Errorf("counted %d bytes, want 110", got)
		}
		// An object shorter than the size it was listed with.
		long := loc.ReaderAt(ctx, "d/obj.bin", int64(len(data))+50, nil)
		if _, err := long.ReadAt(p, int64(len(data))-10); err == nil || !strings.Contains(err.Error(), "changed while it was read") {
			t.Errorf("short object: %v", err)
		}
		if _, err := loc.NewRangeReader(ctx, "d/missing.bin", 0, 5); !IsNotExist(err) {
			t.Errorf("missing object: %v", err)
		}
	})
}
