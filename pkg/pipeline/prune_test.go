package pipeline

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/storage"
)

// publishAt publishes a one-part build on top of prev at time at; the
// part is its own unless reuse names another's.
func publishAt(t *testing.T, loc *storage.Location, id string, prev *manifest.Pointer, at time.Time, reuse string) *manifest.Pointer {
	t.Helper()
	ctx := context.Background()
	part := manifest.PartKey(id, "all", 0, ".csv")
	if reuse != "" {
		part = reuse
	} else if err := loc.WriteFile(ctx, part, []byte("id\n1\n")); err != nil {
		t.Fatal(err)
	}
	m := &manifest.Manifest{FormatVersion: manifest.FormatVersion, BuildID: id,
		Splits: []manifest.Split{{Name: "all", Rows: 1, Parts: []manifest.Part{{Path: part, Split: "all", Rows: 1}}}}}
	p, err := manifest.Publish(ctx, loc, m, prev, at)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func keysUnder(t *testing.T, loc *storage.Location) []string {
	t.Helper()
	objs, err := loc.List(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	sort.Strings(keys)
	return keys
}

// Pruning goes by generation and grace; it keeps what a lagging
// latest.json names, parts kept builds reuse, and young folders no claim
// names; it deletes old leftovers and the claims of what it prunes.
func TestPruneByGenerationAndGrace(t *testing.T) {
	ctx := context.Background()
	loc, err := storage.OpenOutput(ctx, "mem://prune-"+strings.ReplaceAll(t.Name(), "/", "-")+"/")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-10 * time.Hour).UTC()
	at := func(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }
	// Ids that sort against the publish order.
	p := publishAt(t, loc, "z1", nil, at(0), "")
	p = publishAt(t, loc, "y2", p, at(1), "")
	p = publishAt(t, loc, "x3", p, at(2), manifest.PartKey("z1", "all", 0, ".csv"))
	lagging, _ := manifest.Marshal(p) // latest.json will name x3
	p = publishAt(t, loc, "w4", p, at(3), "")
	p = publishAt(t, loc, "v5", p, at(8), "")
	publishAt(t, loc, "u6", p, at(9.5), "")
	if err := loc.WriteFile(ctx, manifest.PointerKey, lagging); err != nil {
		t.Fatal(err)
	}
	// A leftover of a failed build, written now (the store's clock): young.
	if err := loc.WriteFile(ctx, "builds/failed/all/part-00000.csv", []byte("id\n")); err != nil {
		t.Fatal(err)
	}

	pruned, err := Prune(ctx, loc, PruneOptions{Keep: 1, Grace: time.Hour, Now: at(10)})
	if err != nil {
		t.Fatal(err)
	}
	// u6 is current; v5 was replaced at 9:30, within the hour; x3 is what
	// latest.json names, and z1's part is x3's too.
	if d := cmp.Diff([]string{"w4", "y2", "z1"}, pruned); d != "" {
		t.Errorf("pruned (-want +got):\n%s", d)
	}
	want := []string{
		"builds/failed/all/part-00000.csv",
		"builds/u6/all/part-00000.csv", "builds/u6/manifest.json",
		"builds/v5/all/part-00000.csv", "builds/v5/manifest.json",
		"builds/x3/manifest.json",
		"builds/z1/all/part-00000.csv",
		"generations/0000000003.json", "generations/0000000005.json", "generations/0000000006.json",
		"latest.json",
	}
	if d := cmp.Diff(want, keysUnder(t, loc)); d != "" {
		t.Errorf("objects after pruning (-want +got):\n%s", d)
	}
	got, _, err := manifest.ReadLatest(ctx, loc)
	if err != nil || got.BuildID != "u6" {
		t.Fatalf("read latest after pruning: %+v %v", got, err)
	}

	// Two hours later, with latest.json repaired by ReadLatest: v5's
	// grace is over, x3 is no longer named, and the failed build's
	// folder is older than the grace period (store time is now; the
	// pruner's clock is 3 hours ahead of it here).
	pruned, err = Prune(ctx, loc, PruneOptions{Keep: 1, Grace: time.Hour, Now: time.Now().Add(3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"failed", "v5", "x3", "z1"}, pruned); d != "" {
		t.Errorf("pruned later (-want +got):\n%s", d)
	}
	want = []string{"builds/u6/all/part-00000.csv", "builds/u6/manifest.json", "generations/0000000006.json", "latest.json"}
	if d := cmp.Diff(want, keysUnder(t, loc)); d != "" {
		t.Errorf("objects after pruning later (-want +got):\n%s", d)
	}
	if _, err := Prune(ctx, loc, PruneOptions{Keep: 0}); err == nil || !strings.Contains(err.Error(), "keep at least 1") {
		t.Errorf("keep 0: %v", err)
	}
}
