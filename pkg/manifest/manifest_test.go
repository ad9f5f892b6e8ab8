package manifest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob/memblob"

	"github.com/mldata-io/mldata/internal/testservers"
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

// faultyMem returns an output location whose requests go through in's
// faults, and a view of the same bucket without them.
func faultyMem(t *testing.T, in *testservers.Injector) (*storage.Location, *storage.Location) {
	t.Helper()
	inner := memblob.OpenBucket(nil)
	name := "manifest-faults-" + strings.ReplaceAll(t.Name(), "/", "-")
	storage.RegisterMem(name, testservers.FaultBucket(inner, in))
	storage.RegisterMem(name+"-view", inner)
	var locs [2]*storage.Location
	for i, uri := range []string{"mem://" + name + "/", "mem://" + name + "-view/"} {
		l, err := storage.OpenOutput(context.Background(), uri)
		if err != nil {
			t.Fatal(err)
		}
		locs[i] = l
	}
	return locs[0], locs[1]
}

var quick = PublishOptions{Now: t0, Retry: storage.Retry{Attempts: 4, Delay: time.Millisecond}}

// seedWhere returns a seed whose coin for a dropped claim of generation gen
// picks the SDK's resend (resend) or a timeout (!resend).
func seedWhere(gen int64, resend bool) uint64 {
	for seed := uint64(1); ; seed++ {
		c := testservers.NewInjector(seed).Coin("resend", string(testservers.OpPutIfAbsent)+" "+GenerationKey(gen))
		if (c < 0.5) == resend {
			return seed
		}
	}
}

// A claim whose response is lost is published, whether the SDK's resend
// got 412 or it gave up; a claim another build made is a conflict; a claim
// that cannot be read back is unknown, and nothing is deleted.
func TestPublishSettlesLostResponses(t *testing.T) {
	ctx := context.Background()
	for _, resend := range []bool{true, false} {
		t.Run(fmt.Sprintf("resend=%v", resend), func(t *testing.T) {
			in := testservers.NewInjector(seedWhere(1, resend), testservers.Rule{Op: testservers.OpPutIfAbsent, Fault: testservers.FaultDrop, P: 1, Max: 1})
			loc, view := faultyMem(t, in)
			p, err := PublishWith(ctx, loc, &Manifest{FormatVersion: FormatVersion, BuildID: "b1"}, nil, quick)
			if err != nil || p == nil || p.BuildID != "b1" || p.Generation != 1 {
				t.Fatalf("publish with a lost claim response: %+v, %v; want published", p, err)
			}
			if in.Count(testservers.OpPutIfAbsent, testservers.FaultDrop) != 1 {
				t.Fatalf("faults: %v", in)
			}
			got, m, err := ReadLatest(ctx, view)
			if err != nil || got.BuildID != "b1" || m.BuildID != "b1" {
				t.Errorf("read latest: %+v %v", got, err)
			}
		})
	}

	t.Run("conflict", func(t *testing.T) {
		in := testservers.NewInjector(1)
		loc, view := faultyMem(t, in)
		p1, err := PublishWith(ctx, loc, &Manifest{FormatVersion: FormatVersion, BuildID: "b1"}, nil, quick)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := PublishWith(ctx, loc, &Manifest{FormatVersion: FormatVersion, BuildID: "b2"}, p1, quick); err != nil {
			t.Fatal(err)
		}
		// b3's claim times out; reading it back shows b2's.
		in.SetRules(testservers.Rule{Op: testservers.OpPutIfAbsent, Fault: testservers.FaultReset, P: 1})
		_, err = PublishWith(ctx, loc, &Manifest{FormatVersion: FormatVersion, BuildID: "b3"}, p1, quick)
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("claim on b2's generation: %v, want ErrConflict", err)
		}
		if ok, _ := view.Exists(ctx, Key("b3")); ok {
			t.Error("the losing build's manifest is still there")
		}
	})

	t.Run("unknown", func(t *testing.T) {
		in := testservers.NewInjector(1)
		loc, view := faultyMem(t, in)
		in.SetRules(
			testservers.Rule{Op: testservers.OpPutIfAbsent, Fault: testservers.FaultError, P: 1},
			testservers.Rule{Op: testservers.OpGet, Key: `^generations/`, Fault: testservers.FaultReset, P: 1})
		p, err := PublishWith(ctx, loc, &Manifest{FormatVersion: FormatVersion, BuildID: "b1"}, nil, quick)
		if p != nil || !errors.Is(err, ErrUnknownOutcome) || !strings.Contains(err.Error(), "may or may not be published") {
			t.Fatalf("claim that cannot be read back: %+v, %v; want ErrUnknownOutcome", p, err)
		}
		if ok, _ := view.Exists(ctx, Key("b1")); !ok {
			t.Error("the manifest of a build whose outcome is unknown was deleted")
		}
		if n := in.Count(testservers.OpPutIfAbsent, testservers.FaultError); n != quick.Retry.Attempts {
			t.Errorf("claim sent %d times, want %d", n, quick.Retry.Attempts)
		}
	})

	t.Run("pointer", func(t *testing.T) {
		in := testservers.NewInjector(1)
		loc, view := faultyMem(t, in)
		// The pointer write fails twice and then lands.
		in.SetRules(testservers.Rule{Op: testservers.OpPut, Key: `^latest\.json$`, Fault: testservers.FaultError, P: 1, Max: 2})
		p, err := PublishWith(ctx, loc, &Manifest{FormatVersion: FormatVersion, BuildID: "b1"}, nil, quick)
		if err != nil || p == nil {
			t.Fatalf("publish with a flaky pointer write: %+v, %v", p, err)
		}
		// A pointer write whose response is always lost is read back and found.
		in.SetRules(testservers.Rule{Op: testservers.OpPut, Key: `^latest\.json$`, Fault: testservers.FaultDrop, P: 1})
		if p, err = PublishWith(ctx, loc, &Manifest{FormatVersion: FormatVersion, BuildID: "b2"}, p, quick); err != nil {
			t.Fatalf("publish with lost pointer responses: %+v, %v", p, err)
		}
		// One that never lands: published, with an error that says so.
		in.SetRules(testservers.Rule{Op: testservers.OpPut, Key: `^latest\.json$`, Fault: testservers.FaultError, P: 1})
		p3, err := PublishWith(ctx, loc, &Manifest{FormatVersion: FormatVersion, BuildID: "b3"}, p, quick)
		if p3 == nil || err == nil || !strings.Contains(err.Error(), "is published") {
			t.Fatalf("publish with a pointer that cannot be written: %+v, %v", p3, err)
		}
		data, _ := view.ReadFile(ctx, PointerKey)
		if q, _ := DecodePointer(data); q == nil || q.BuildID != "b2" {
			t.Fatalf("latest.json = %s, want b2's", data)
		}
		// Readers take the claim.
		in.SetRules()
		if got, _, err := ReadLatest(ctx, view); err != nil || got.BuildID != "b3" || got.Generation != 3 {
			t.Errorf("read latest: %+v %v", got, err)
		}
	})
}
