package manifest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mldata-io/mldata/pkg/storage"
)

var t0 = time.Date(2026, 11, 26, 23, 30, 0, 123e6, time.UTC)

func TestLayout(t *testing.T) {
	id := NewBuildID(t0, "a1b2c3")
	if id != "20261126T233000123Z-a1b2c3" {
		t.Errorf("build id %q", id)
	}
	if got := PartKey(id, "train", 7, ".parquet"); got != "builds/20261126T233000123Z-a1b2c3/train/part-00007.parquet" {
		t.Errorf("part key %q", got)
	}
	if got := Key(id); got != "builds/20261126T233000123Z-a1b2c3/manifest.json" {
		t.Errorf("manifest key %q", got)
	}
	if got := GenerationKey(12); got != "generations/0000000012.json" {
		t.Errorf("generation key %q", got)
	}
	m := &Manifest{Splits: []Split{{Rows: 3}, {Rows: 4}}}
	if m.Rows() != 7 {
		t.Errorf("rows %d", m.Rows())
	}
}

func TestUnmarshalRejects(t *testing.T) {
	for in, want := range map[string]string{
		`{not json`: "decode manifest",
		`{"format_version": 99, "build_id": "x"}`: "format version 99",
		`{"format_version": 1}`:                   "no build_id",
	} {
		if _, err := Unmarshal([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Unmarshal(%s) = %v, want %q", in, err, want)
		}
	}
}

func openMem(t *testing.T) *storage.Location {
	t.Helper()
	loc, err := storage.OpenOutput(context.Background(), "mem://manifest-"+strings.ReplaceAll(t.Name(), "/", "-"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestPublishAndReadLatest(t *testing.T) {
	ctx := context.Background()
	loc := openMem(t)
	if _, _, err := ReadLatest(ctx, loc); !errors.Is(err, ErrNoBuild) {
		t.Fatalf("empty output: %v, want ErrNoBuild", err)
	}
	m1 := &Manifest{FormatVersion: FormatVersion, BuildID: "b1"}
	p1, err := Publish(ctx, loc, m1, nil, t0)
	if err != nil || p1.Generation != 1 {
		t.Fatalf("publish b1: %v %+v", err, p1)
	}
	p, m, err := ReadLatest(ctx, loc)
	if err != nil || p.BuildID != "b1" || m.BuildID != "b1" {
		t.Fatalf("read latest: %v %+v", err, p)
	}
	// Two builds on top of b1: the second loses and leaves no manifest.
	if _, err := Publish(ctx, loc, &Manifest{FormatVersion: FormatVersion, BuildID: "b2"}, p1, t0); err != nil {
		t.Fatal(err)
	}
	_, err = Publish(ctx, loc, &Manifest{FormatVersion: FormatVersion, BuildID: "b3"}, p1, t0)
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("second publish on the same generation: %v, want ErrConflict", err)
	}
	if ok, _ := loc.Exists(ctx, Key("b3")); ok {
		t.Error("the losing build's manifest is still there")
	}
	if p, _, _ := ReadLatest(ctx, loc); p.BuildID != "b2" || p.Generation != 2 {
		t.Errorf("latest = %+v, want b2 at generation 2", p)
	}
}

func TestReadLatestRollsForwardAndRepairs(t *testing.T) {
	ctx := context.Background()
	loc := openMem(t)
	p1, err := Publish(ctx, loc, &Manifest{FormatVersion: FormatVersion, BuildID: "b1"}, nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	// A build that claimed generation 2 and died before latest.json.
	if _, err := Publish(ctx, loc, &Manifest{FormatVersion: FormatVersion, BuildID: "b2"}, p1, t0); err != nil {
		t.Fatal(err)
	}
	data, _ := Marshal(p1)
	if err := loc.WriteFile(ctx, PointerKey, data); err != nil {
		t.Fatal(err)
	}
	p, m, err := ReadLatest(ctx, loc)
	if err != nil || p.BuildID != "b2" || m.BuildID != "b2" {
		t.Fatalf("roll forward: %v %+v", err, p)
	}
	data, _ = loc.ReadFile(ctx, PointerKey)
	var want []byte
	want, _ = Marshal(p)
	if d := cmp.Diff(string(want), string(data)); d != "" {
		t.Errorf("latest.json not repaired (-want +got):\n%s", d)
	}
	// A damaged pointer is rebuilt from the claims.
	if err := loc.WriteFile(ctx, PointerKey, []byte("garbage")); err != nil {
		t.Fatal(err)
	}
	if p, _, err := ReadLatest(ctx, loc); err != nil || p.BuildID != "b2" {
		t.Errorf("damaged pointer: %v %+v", err, p)
	}
}
