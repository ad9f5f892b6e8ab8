package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob/memblob"

	"github.com/mldata-io/mldata/internal/testservers"
	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/split"
	"github.com/mldata-io/mldata/pkg/storage"
)

// TestPublishUnderFaults runs 1,000 build → publish → prune runs against
// stores that fail: 980 in-process (28 outputs × 35 runs, over an in-memory
// bucket wrapped with testservers.FaultBucket) and 20 through the
// fault-injecting proxy in front of a real S3 server (versitygw; skipped
// when it is not installed). The in-process runs are there for numbers: the
// AWS SDK waits up to two seconds before each retry, so 1,000 runs through
// the proxy would take many minutes. With tiny datasets the in-process
// runs take about 30 s and the proxy runs about 30 s on a busy two-core
// machine (about a minute in all); -short runs about a tenth.
//
// Every request kind gets 5xx answers, resets before the request, lost
// responses after the store applied a write, and delays, at a low rate;
// 40% of the runs also lose the response of their generation claim. The
// source changes between runs, build ids sort in random order against
// their publish order, the clock moves by minutes (sometimes backwards,
// as another pod's would) and the history limit is 1 to 3. After every run
// these must hold, read from the store without faults:
//
//   - latest.json and every claim name a manifest that exists, and every
//     part it lists exists;
//   - the build that was current before the run is still readable;
//   - a build the store shows as published was reported as published, and
//     the other way round (a lost claim response included);
//   - the current build's rows are the source's at its build, in the
//     manifest and in its part files.
func TestPublishUnderFaults(t *testing.T) {
	outputs, runs, proxyRuns := 28, 35, 20
	if testing.Short() {
		outputs, proxyRuns = 3, 4
	}
	// Faults per request kind and fault kind: 2% in-process, 0.5% through
	// the proxy (where the SDK retries them, slowly).
	sum := &faultSummary{anomalies: map[string]int{}, outcomes: map[string]int{}}
	t.Run("in-process", func(t *testing.T) {
		for o := 0; o < outputs; o++ {
			inner := memblob.OpenBucket(nil)
			in := testservers.NewInjector(uint64(1000 + o))
			name := fmt.Sprintf("pubfaults-%d", o)
			storage.RegisterMem(name, testservers.FaultBucket(inner, in))
			storage.RegisterMem(name+"-view", inner)
			e := newFaultEnv(t, fmt.Sprintf("mem://%s/", name), fmt.Sprintf("mem://%s-view/", name), in, uint64(o), 0.02)
			for i := 0; i < runs; i++ {
				e.run(t, sum)
			}
			sum.add(in)
		}
		// Most runs must publish: a store whose every listing or read
		// fails would fail them all and check nothing.
		if n := sum.outcomes["published"]; n < outputs*runs/4 {
			t.Errorf("%d of %d runs published (%s): the faults stop the builds before they publish", n, outputs*runs, joinCounts(sum.outcomes))
		}
	})
	t.Run("s3-proxy", func(t *testing.T) {
		srv := testservers.S3(t)
		testservers.SetEnv(t, srv)
		if err := srv.CreateBucket(context.Background(), "pubfaults"); err != nil {
			t.Fatal(err)
		}
		in := testservers.NewInjector(99)
		px := testservers.NewFaultProxy(t, srv.Endpoint, in)
		e := newFaultEnv(t, px.URI(srv, "pubfaults", "out/"), srv.URI("pubfaults", "out/"), in, 99, 0.005)
		before := sum.outcomes["published"]
		for i := 0; i < proxyRuns; i++ {
			e.run(t, sum)
		}
		sum.add(in)
		if sum.outcomes["published"] == before {
			t.Errorf("none of %d runs through the proxy published (%s)", proxyRuns, joinCounts(sum.outcomes))
		}
	})
	t.Logf("runs: %d (%s)", sum.runs, joinCounts(sum.outcomes))
	t.Logf("faults injected: %d (%s)", sum.faults, joinCounts(sum.byKind))
	t.Logf("claim responses lost: %d, reported as published: %d", sum.lostClaims, sum.lostClaimsPublished)
	t.Logf("anomalies: %d in %d runs (%s)", len(sum.examples), sum.badRuns, joinCounts(sum.anomalies))
	for i, ex := range sum.examples {
		if i == 10 {
			t.Errorf("… and %d more", len(sum.examples)-10)
			break
		}
		t.Errorf("anomaly: %s", ex)
	}
	if sum.lostClaims == 0 {
		t.Error("no claim response was lost: the test does not test what it is for")
	}
}

type faultSummary struct {
	runs, badRuns, faults           int
	lostClaims, lostClaimsPublished int
	outcomes, anomalies, byKind     map[string]int
	examples                        []string
}

func (s *faultSummary) add(in *testservers.Injector) {
	if s.byKind == nil {
		s.byKind = map[string]int{}
	}
	for k, v := range in.Counts() {
		s.byKind[k] += v
		s.faults += v
	}
}

func (s *faultSummary) anomaly(kind, format string, args ...any) {
	s.anomalies[kind]++
	s.examples = append(s.examples, kind+": "+fmt.Sprintf(format, args...))
}

func joinCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// faultEnv is one output under faults, its source, and what the test
// expects of them.
type faultEnv struct {
	out    string            // the output URI builds use, with faults
	view   *storage.Location // the same store without faults
	src    *storage.Location
	srcURI string
	faults *testservers.Injector
	rng    *rand.Rand
	rate   float64
	now    time.Time
	run_   int
	files  map[string]int // source file → rows
	rows   map[string]int64
}

func newFaultEnv(t *testing.T, out, view string, in *testservers.Injector, seed uint64, rate float64) *faultEnv {
	ctx := context.Background()
	srcURI := fmt.Sprintf("mem://pubfaults-src-%d-%d/", seed, time.Now().UnixNano())
	src, err := storage.OpenOutput(ctx, srcURI)
	if err != nil {
		t.Fatal(err)
	}
	v, err := storage.OpenOutput(ctx, view)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return &faultEnv{
		out: out, view: v, src: src, srcURI: srcURI, faults: in, rate: rate,
		rng: rand.New(rand.NewPCG(seed, 7)), now: time.Now().UTC(),
		files: map[string]int{}, rows: map[string]int64{},
	}
}

// mutate changes the source: a file added, rewritten or removed, or
// nothing (then the build is up to date).
func (e *faultEnv) mutate(t *testing.T) {
	ctx := context.Background()
	write := func(name string) {
		n := 2 + e.rng.IntN(8)
		var b strings.Builder
		b.WriteString("id,v\n")
		base := 10000 * (1 + len(name)*7 + int(name[len(name)-5]))
		for r := 0; r < n; r++ {
			fmt.Fprintf(&b, "%d,%d\n", base+r, e.run_)
		}
		if err := e.src.WriteFile(ctx, name, []byte(b.String())); err != nil {
			t.Fatal(err)
		}
		e.files[name] = n
	}
	names := make([]string, 0, len(e.files))
	for k := range e.files {
		names = append(names, k)
	}
	sort.Strings(names)
	switch c := e.rng.IntN(10); {
	case len(names) == 0 || c < 3 && len(names) < 5:
		write(fmt.Sprintf("f%d.csv", e.rng.IntN(9)))
	case c < 8:
		write(names[e.rng.IntN(len(names))])
	case c < 9 && len(names) > 1:
		k := names[e.rng.IntN(len(names))]
		if err := e.src.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
		delete(e.files, k)
	}
}

func (e *faultEnv) rules() []testservers.Rule {
	var rs []testservers.Rule
	if e.rng.Float64() < 0.4 {
		rs = append(rs, testservers.Rule{Op: testservers.OpPutIfAbsent, Key: `(^|/)generations/`, Fault: testservers.FaultDrop, P: 1, Max: 1})
	}
	if e.rng.Float64() < 0.1 {
		rs = append(rs, testservers.Rule{Op: testservers.OpPut, Key: `(^|/)latest\.json$`, Fault: testservers.FaultError, P: 1, Max: 2})
	}
	if e.rng.Float64() < 0.1 {
		rs = append(rs, testservers.Rule{Op: testservers.OpDelete, Fault: testservers.FaultDrop, P: 0.5})
	}
	for _, op := range []testservers.Op{testservers.OpGet, testservers.OpPut, testservers.OpPutIfAbsent, testservers.OpDelete, testservers.OpList, testservers.OpHead} {
		rs = append(rs,
			testservers.Rule{Op: op, Fault: testservers.FaultError, P: e.rate},
			testservers.Rule{Op: op, Fault: testservers.FaultReset, P: e.rate},
			testservers.Rule{Op: op, Fault: testservers.FaultSlow, P: e.rate, Delay: 100 * time.Microsecond})
		if op == testservers.OpPut || op == testservers.OpPutIfAbsent || op == testservers.OpDelete {
			rs = append(rs, testservers.Rule{Op: op, Fault: testservers.FaultDrop, P: e.rate})
		}
	}
	return rs
}

func (e *faultEnv) run(t *testing.T, sum *faultSummary) {
	ctx := context.Background()
	e.run_++
	sum.runs++
	e.mutate(t)
	var want int64
	for _, n := range e.files {
		want += int64(n)
	}
	// Another pod's clock may be behind.
	step := time.Duration(5+e.rng.IntN(40)) * time.Minute
	if e.rng.IntN(8) == 0 {
		step = -step / 2
	}
	e.now = e.now.Add(step)
	now := e.now

	prev := e.current(t)
	id := fmt.Sprintf("%08x-%d", e.rng.Uint32(), e.run_) // ids in random order
	e.rows[id] = want
	sp, err := split.Parse("train=0.5,test=0.5")
	if err != nil {
		t.Fatal(err)
	}
	sp.Key = "id"
	cfg := Config{
		Source: e.srcURI, Output: e.out, BuildID: id,
		Read:         format.Options{ChunkRows: 64},
		OutputFormat: format.CSV, Compression: format.None,
		Split: sp, Workers: 1, HistoryLimit: 1 + e.rng.IntN(3),
		Now: func() time.Time { return now },
	}
	quickRetries(&cfg)
	lostBefore := e.faults.Count(testservers.OpPutIfAbsent, testservers.FaultDrop)
	e.faults.SetRules(e.rules()...)
	res, err := Build(ctx, cfg)
	e.faults.SetRules()
	lost := e.faults.Count(testservers.OpPutIfAbsent, testservers.FaultDrop) > lostBefore

	where := fmt.Sprintf("%s run %d (build %s)", e.out, e.run_, id)
	cur := e.current(t)
	// Published means: a claim names the build.
	published := e.claimed(t, id)
	reported := err == nil && res != nil && !res.UpToDate
	switch {
	case err == nil && res.UpToDate:
		sum.outcomes["up to date"]++
	case reported:
		sum.outcomes["published"]++
	case errors.Is(err, manifest.ErrConflict):
		sum.outcomes["lost the race"]++
	default:
		sum.outcomes["failed"]++
	}
	if lost && published {
		sum.lostClaims++
		if reported {
			sum.lostClaimsPublished++
		}
	}
	switch {
	case published && !reported:
		if lost {
			sum.anomaly("lost claim response reported as not published", "%s: %v", where, err)
		} else {
			sum.anomaly("published build reported as not published", "%s: %v", where, err)
		}
	case reported && !published:
		sum.anomaly("build reported as published is not", "%s: current is %+v", where, cur)
	}
	before := len(sum.examples)
	e.check(t, sum, where, prev)
	if len(sum.examples) > before {
		sum.badRuns++
	}
}

// claimed reports whether a claim names build id.
func (e *faultEnv) claimed(t *testing.T, id string) bool {
	ctx := context.Background()
	objs, err := e.view.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if !strings.HasPrefix(o.Key, "generations/") {
			continue
		}
		data, err := e.view.ReadFile(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		var p manifest.Pointer
		if json.Unmarshal(data, &p) == nil && p.BuildID == id {
			return true
		}
	}
	return false
}

// current is the published build as a reader without faults sees it, or
// nil (when nothing is published, or the pointer names a missing manifest,
// which check reports).
func (e *faultEnv) current(t *testing.T) *manifest.Pointer {
	p, _, err := manifest.ReadLatest(context.Background(), e.view)
	if err != nil {
		return nil
	}
	return p
}

// check verifies the store after a run.
func (e *faultEnv) check(t *testing.T, sum *faultSummary, where string, prev *manifest.Pointer) {
	ctx := context.Background()
	objs, err := e.view.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	exists := map[string]bool{}
	for _, o := range objs {
		exists[o.Key] = true
	}
	// readable reports why the build at manifest key is not readable, or "".
	readable := func(key string) string {
		if !exists[key] {
			return "manifest " + key + " is missing"
		}
		m, err := manifest.Read(ctx, e.view, key)
		if err != nil {
			return err.Error()
		}
		for _, s := range m.Splits {
			for _, p := range s.Parts {
				if !exists[p.Path] {
					return "part " + p.Path + " is missing"
				}
			}
		}
		return ""
	}
	pointers := []string{manifest.PointerKey}
	for _, o := range objs {
		if strings.HasPrefix(o.Key, "generations/") {
			pointers = append(pointers, o.Key)
		}
	}
	for _, k := range pointers {
		data, err := e.view.ReadFile(ctx, k)
		if storage.IsNotExist(err) {
			continue
		}
		var p manifest.Pointer
		if err == nil {
			err = json.Unmarshal(data, &p)
		}
		if err != nil {
			sum.anomaly("unreadable pointer or claim", "%s: %s: %v", where, k, err)
			continue
		}
		if why := readable(p.Manifest); why != "" {
			sum.anomaly("pointer or claim names a missing file", "%s: %s names build %s: %s", where, k, p.BuildID, why)
		}
	}
	if prev != nil {
		if why := readable(prev.Manifest); why != "" {
			sum.anomaly("previous build not readable", "%s: build %s: %s", where, prev.BuildID, why)
		}
	}
	p, m, err := manifest.ReadLatest(ctx, e.view)
	if err != nil {
		if !errors.Is(err, manifest.ErrNoBuild) {
			sum.anomaly("no readable current build", "%s: %v", where, err)
		}
		return
	}
	if want, ok := e.rows[p.BuildID]; !ok || m.Rows() != want {
		sum.anomaly("wrong rows", "%s: build %s has %d rows, its source had %d", where, p.BuildID, m.Rows(), want)
	}
	var got int64
	for _, s := range m.Splits {
		for _, part := range s.Parts {
			data, err := e.view.ReadFile(ctx, part.Path)
			if err != nil {
				return // reported above
			}
			if n := int64(bytes.Count(data, []byte("\n"))) - 1; n != part.Rows {
				sum.anomaly("wrong rows", "%s: part %s has %d rows, its manifest says %d", where, part.Path, n, part.Rows)
			}
			got += part.Rows
		}
	}
	if got != m.Rows() {
		sum.anomaly("wrong rows", "%s: parts of %s hold %d rows, the manifest says %d", where, p.BuildID, got, m.Rows())
	}
}
