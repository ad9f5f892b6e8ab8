package manifest

import (
	"strings"
	"testing"
)

// The expected digests were computed outside Go, e.g.
//
//	printf 'train\tbuilds/b1/train/part-00000.parquet\t3\t100\taa\ntest\tbuilds/b0/test/part-00000.parquet\t1\t50\t\n' | sha256sum
func TestDigest(t *testing.T) {
	m := &Manifest{BuildID: "b1", Splits: []Split{
		{Name: "train", Parts: []Part{{Path: "builds/b1/train/part-00000.parquet", Split: "train", Rows: 3, Bytes: 100, SHA256: "aa"}}},
		{Name: "test", Parts: []Part{{Path: "builds/b0/test/part-00000.parquet", Split: "test", Rows: 1, Bytes: 50}}},
	}}
	if got, want := Digest(m), "sha256:d5c5ae2e5da6f497eea92bc386471863ea72ad0abf73a67e25b19bf9678cdcaa"; got != want {
		t.Errorf("Digest = %s, want %s", got, want)
	}
	// One byte more in one part is another dataset.
	m.Splits[1].Parts[0].Bytes = 51
	if got, want := Digest(m), "sha256:569a0a526b08edcd3ec54d0db96ffae7fb8b2c0d3546ec43f1fc7cc6e66fd39e"; got != want {
		t.Errorf("Digest after a size change = %s, want %s", got, want)
	}
	// Fields outside the part list do not count.
	m.Timings.TotalMS, m.ConfigHash = 99, "other"
	if got := Digest(m); got != "sha256:569a0a526b08edcd3ec54d0db96ffae7fb8b2c0d3546ec43f1fc7cc6e66fd39e" {
		t.Errorf("Digest changed with timings and config hash: %s", got)
	}
	if got := Digest(&Manifest{}); got != "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("Digest of an empty build = %s", got)
	}
}

func TestPartsOf(t *testing.T) {
	m := &Manifest{BuildID: "b1", Splits: []Split{
		{Name: "train", Parts: []Part{{Path: "t0"}, {Path: "t1"}}},
		{Name: "validation"},
		{Name: "test", Parts: []Part{{Path: "x0"}}},
	}}
	paths := func(ps []Part) string {
		var s []string
		for _, p := range ps {
			s = append(s, p.Path)
		}
		return strings.Join(s, " ")
	}
	for name, want := range map[string]string{"": "t0 t1 x0", "train": "t0 t1", "test": "x0", "validation": ""} {
		got, err := m.PartsOf(name)
		if err != nil || paths(got) != want {
			t.Errorf("PartsOf(%q) = %q, %v; want %q", name, paths(got), err, want)
		}
	}
	_, err := m.PartsOf("holdout")
	if err == nil || !strings.Contains(err.Error(), `build b1 has no split "holdout"; its splits are train, validation, test`) {
		t.Errorf("PartsOf(holdout) error = %v", err)
	}
}
