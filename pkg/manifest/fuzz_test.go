package manifest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mldata-io/mldata/pkg/storage"
)

// FuzzManifest decodes arbitrary bytes as a manifest: no panic, and a
// manifest that decodes encodes and decodes again to the same value.
func FuzzManifest(f *testing.F) {
	good, _ := Marshal(&Manifest{FormatVersion: FormatVersion, BuildID: "20261126-233000-abc", CreatedAt: t0})
	for _, s := range []string{string(good), `{}`, `{"format_version":1}`, `{"format_version":1,"build_id":"x","schema":{"columns":[{"name":"a"}]}}`, `[`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Unmarshal(data)
		if err != nil {
			return
		}
		enc, err := Marshal(m)
		if err != nil {
			t.Fatalf("a decoded manifest does not encode: %v", err)
		}
		m2, err := Unmarshal(enc)
		if err != nil {
			t.Fatalf("a re-encoded manifest does not decode: %v\n%s", err, enc)
		}
		if d := cmp.Diff(m, m2); d != "" {
			t.Fatalf("round trip changed the manifest (-first +second):\n%s", d)
		}
	})
}

var fuzzLoc atomic.Int64

// FuzzReadLatest puts arbitrary bytes in latest.json (and a publish claim)
// of an in-memory output: ReadLatest never panics, and either finds a
// build whose manifest it read or says why not.
func FuzzReadLatest(f *testing.F) {
	ptr, _ := Marshal(&Pointer{Generation: 1, BuildID: "b1", Manifest: Key("b1"), PublishedAt: t0})
	for _, s := range [][2]string{
		{string(ptr), ""}, {`{"generation":1,"build_id":"b1","manifest":"../x"}`, ""}, {`{`, string(ptr)},
		{`{"generation":-1,"build_id":"b1","manifest":"builds/b1/manifest.json"}`, `{"build_id":"b1"}`},
		{`{"generation":9223372036854775807,"build_id":"b1","manifest":"builds/b1/manifest.json"}`, ""},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	man, _ := Marshal(&Manifest{FormatVersion: FormatVersion, BuildID: "b1", CreatedAt: t0})
	f.Fuzz(func(t *testing.T, latest, claim []byte) {
		ctx := context.Background()
		loc, err := storage.OpenOutput(ctx, fmt.Sprintf("mem://fuzz-latest-%d", fuzzLoc.Add(1)))
		if err != nil {
			t.Fatal(err)
		}
		defer loc.Close()
		_ = loc.WriteFile(ctx, Key("b1"), man)
		_ = loc.WriteFile(ctx, PointerKey, latest)
		if len(claim) > 0 {
			_ = loc.WriteFile(ctx, GenerationKey(1), claim)
		}
		p, m, err := ReadLatest(ctx, loc)
		switch {
		case err == nil && (p == nil || m == nil || m.BuildID == ""):
			t.Fatalf("ReadLatest = %+v, %+v without error", p, m)
		case err != nil && errors.Is(err, ErrNoBuild) && m != nil:
			t.Fatalf("no build, yet a manifest")
		}
	})
}

// A publish claim that does not advance the generation (damaged, or written
// by hand) is an error, not an endless roll forward.
func TestReadLatestClaimMustAdvance(t *testing.T) {
	ctx := context.Background()
	loc, err := storage.OpenOutput(ctx, "mem://claim-advance")
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	man, _ := Marshal(&Manifest{FormatVersion: FormatVersion, BuildID: "b1", CreatedAt: t0})
	stale, _ := Marshal(&Pointer{Generation: 0, BuildID: "b1", Manifest: Key("b1"), PublishedAt: t0})
	for key, data := range map[string][]byte{Key("b1"): man, PointerKey: []byte("damaged"), GenerationKey(1): stale} {
		if err := loc.WriteFile(ctx, key, data); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { _, _, err := ReadLatest(ctx, loc); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "publish claim generations/0000000001.json is damaged: it says generation 0") {
			t.Fatalf("ReadLatest: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ReadLatest still rolling forward after 10s")
	}
}
