package storage

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
)

// BenchmarkList measures listing and filtering 10,000 objects, the size of
// a large source prefix.
func BenchmarkList(b *testing.B) {
	ctx := context.Background()
	out, err := OpenOutput(ctx, "mem://bench-list")
	if err != nil {
		b.Fatal(err)
	}
	for i := range 10000 {
		if err := out.WriteFile(ctx, fmt.Sprintf("day=%03d/part-%05d.csv", i%365, i), []byte("x")); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		objs, err := out.List(ctx, []string{"**/*.csv"})
		if err != nil || len(objs) != 10000 {
			b.Fatalf("List: %d objects, %v", len(objs), err)
		}
	}
}

// BenchmarkHashingReader measures the cost of hashing while reading.
func BenchmarkHashingReader(b *testing.B) {
	data := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		h := NewHashing(strings.NewReader(data))
		if _, err := io.Copy(io.Discard, h); err != nil || h.Sum() == "" {
			b.Fatal(err)
		}
	}
}

// deepGlob is the case that made a backtracking matcher run for minutes:
// a 60-level key and a pattern of twelve "**/a/" steps ending in a name the
// key does not have.
func deepGlob() (pattern, key string) {
	pattern = strings.Repeat("**/a/", 12) + "b.csv"
	key = strings.Repeat("a/", 60) + "c.csv"
	return pattern, key
}

// BenchmarkMatchKeyDeepGlob measures the pathological glob; it takes tens
// of microseconds, against minutes for a backtracking matcher.
func BenchmarkMatchKeyDeepGlob(b *testing.B) {
	pattern, key := deepGlob()
	for b.Loop() {
		if ok, err := MatchKey([]string{pattern}, key); ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
