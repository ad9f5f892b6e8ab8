package worker

import (
	"fmt"
	"strings"
	"testing"

	apimeta "k8s.io/apimachinery/pkg/api/meta"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/testservers"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/storage"
)

// TestBuildWarningsReachStatus: a build that is published although its
// pointer could not be written (the store answers 503 to every write of
// latest.json, through the fault proxy in front of a real S3 server)
// succeeds with a warning; the warning survives the termination message
// and lands in status.warnings and Ready's message.
func TestBuildWarningsReachStatus(t *testing.T) {
	s := testservers.S3(t)
	testservers.SetEnv(t, s)
	// One request per SDK call: the faults are certain, the SDK's backoff
	// would only make the test slow.
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	if err := s.CreateBucket(ctx, "lake"); err != nil {
		t.Fatal(err)
	}
	faults := testservers.NewInjector(3,
		testservers.Rule{Op: testservers.OpPut, Key: `latest\.json$`, Fault: testservers.FaultError, P: 1},
		testservers.Rule{Op: testservers.OpPutIfAbsent, Key: `latest\.json$`, Fault: testservers.FaultError, P: 1})
	proxy := testservers.NewFaultProxy(t, s.Endpoint, faults)
	src := proxy.URI(s, "lake", "raw/")
	loc, err := storage.OpenOutput(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if err := loc.Bucket.WriteAll(ctx, loc.Prefix+"a.csv", []byte("id,x\n1,2\n2,3\n3,4\n"), nil); err != nil {
		t.Fatal(err)
	}
	loc.Close()
	spec := &v1alpha1.DatasetBuildSpec{Source: v1alpha1.SourceSpec{URI: v1alpha1.BucketURI(src)}, Output: v1alpha1.OutputSpec{URI: v1alpha1.BucketURI(proxy.URI(s, "lake", "out/"))}}
	res, err := Run(ctx, &Task{Kind: KindDatasetBuild, Build: spec}, Options{ScratchDir: t.TempDir()})
	if err != nil {
		t.Fatalf("a build whose claim was made failed: %v (faults %s)", err, faults)
	}
	if faults.Total() == 0 {
		t.Fatal("no fault was injected")
	}
	if len(res.Build.Result.Warnings) != 1 || !strings.Contains(res.Build.Result.Warnings[0], manifest.PointerKey) {
		t.Fatalf("pipeline warnings %q", res.Build.Result.Warnings)
	}
	// Through the termination message, as the controller reads it.
	data, err := res.Summary.Encode()
	if err != nil {
		t.Fatal(err)
	}
	sum, err := DecodeSummary(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Warnings) != 1 || sum.Warnings[0] != res.Build.Result.Warnings[0] {
		t.Fatalf("summary warnings %q", sum.Warnings)
	}
	var st v1alpha1.DatasetBuildStatus
	ApplyBuild(&st, 1, sum, nil, fixedNow)
	if len(st.Warnings) != 1 || st.Warnings[0] != sum.Warnings[0] {
		t.Errorf("status.warnings %q", st.Warnings)
	}
	ready := apimeta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady)
	if ready == nil || ready.Status != "True" || !strings.Contains(ready.Message, "1 warning(s)") || !strings.Contains(ready.Message, manifest.PointerKey) {
		t.Errorf("Ready %+v", ready)
	}
	// The next successful build without warnings clears them.
	clean := *sum
	clean.Warnings = nil
	ApplyBuild(&st, 1, &clean, nil, fixedNow)
	if st.Warnings != nil {
		t.Errorf("status.warnings after a clean build: %q", st.Warnings)
	}
	t.Logf("faults injected: %s", faults)
}

// TestWarningsBounded: status and the termination message hold at most
// MaxWarnings, each cut, and say how many were left out.
func TestWarningsBounded(t *testing.T) {
	var ws []string
	for i := range 20 {
		ws = append(ws, fmt.Sprintf("warning %d: %s", i, strings.Repeat("x", 2000)))
	}
	got := boundWarnings(ws, 100)
	if len(got) != v1alpha1.MaxWarnings || got[len(got)-1] != "13 more warning(s) left out" {
		t.Fatalf("%d warnings, last %q", len(got), got[len(got)-1])
	}
	for _, w := range got[:len(got)-1] {
		if len(w) > 100 || !strings.HasPrefix(w, "warning ") {
			t.Errorf("warning of %d bytes: %.40q", len(w), w)
		}
	}
	if boundWarnings(nil, 100) != nil || len(boundWarnings(ws[:3], 100)) != 3 {
		t.Error("few warnings are kept as they are")
	}
	// The encoded summary stays within the termination message's size.
	s := &Summary{Kind: KindDatasetBuild, OK: true, Message: "published", Warnings: ws}
	data, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	dec, err := DecodeSummary(data)
	if err != nil || len(data) > MaxSummaryBytes || len(dec.Warnings) == 0 {
		t.Fatalf("%d bytes, %d warnings, %v", len(data), len(dec.Warnings), err)
	}
	var st v1alpha1.DatasetBuildStatus
	ApplyBuild(&st, 1, s, nil, fixedNow)
	if len(st.Warnings) != v1alpha1.MaxWarnings {
		t.Errorf("status holds %d warnings", len(st.Warnings))
	}
	for _, w := range st.Warnings {
		if len(w) > v1alpha1.MaxWarningLength {
			t.Errorf("status warning of %d bytes", len(w))
		}
	}
}
