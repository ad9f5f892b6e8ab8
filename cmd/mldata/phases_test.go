package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/manifest"
)

// treeFiles returns the bytes of every file under dir, keyed by path.
func treeFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[rel], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// phaseSource writes a 3,000-row CSV file whose every row has a quoted
// field with a comma and a newline, and four small ones: 3,260 rows.
func phaseSource(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	var big strings.Builder
	big.WriteString("id,v,note\n")
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&big, "%d,%d.5,\"a, b\nc %d\"\n", i, i%100, i)
	}
	pdWrite(t, src, "big.csv", big.String())
	for k := 0; k < 4; k++ {
		var b strings.Builder
		b.WriteString("id,v,note\n")
		for i := 0; i < 50+k*10; i++ {
			fmt.Fprintf(&b, "%d,%d.5,x%d\n", 10000+k*1000+i, i, i)
		}
		pdWrite(t, src, fmt.Sprintf("s%d.csv", k), b.String())
	}
	return src
}

// TestBuildPhasesAsProcesses runs a sharded build as a shell loop would: the
// plan, then three shard processes at once, then the commit, each its own
// process of the CLI. The dataset equals a plain build's: the same part
// files byte for byte and the same manifest apart from timings.
func TestBuildPhasesAsProcesses(t *testing.T) {
	src := phaseSource(t)
	common := []string{"build", "--source", src, "--split-key", "id", "--chunk-rows", "64", "--part-rows", "128", "--build-id", "b1"}
	plainOut, out := t.TempDir(), t.TempDir()
	if o, err := cliCommand(append(common, "--output", plainOut)...).CombinedOutput(); err != nil {
		t.Fatalf("plain build: %v\n%s", err, o)
	}

	args := append(common, "--output", out)
	o, err := cliCommand(append(args, "--plan-only", "--shards", "3", "--range-bytes", "20000", "--json")...).Output()
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, o)
	}
	var sum PlanSummary
	if err := json.Unmarshal(o, &sum); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, o)
	}
	if sum.BuildID != "b1" || sum.Shards != 3 || sum.Units < 6 || len(sum.ShardUnits) != 3 || sum.ShardUnits[2] == 0 {
		t.Fatalf("plan summary %+v; want big.csv cut so that all 3 shards have work", sum)
	}
	// The shards at once, as `for i in 0 1 2; do mldata build --shard $i/3 & done; wait`.
	var errs [3]error
	var outs [3][]byte
	done := make(chan int)
	for i := 0; i < 3; i++ {
		go func(i int) {
			outs[i], errs[i] = cliCommand(append(slices.Clip(args), "--shard", fmt.Sprintf("%d/3", i))...).CombinedOutput()
			done <- i
		}(i)
	}
	for range 3 {
		<-done
	}
	for i := range errs {
		if errs[i] != nil || !bytes.Contains(outs[i], []byte(fmt.Sprintf("shard %d/3 of build b1", i))) {
			t.Fatalf("shard %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	if o, err := cliCommand(append(args, "--commit")...).CombinedOutput(); err != nil || !bytes.Contains(o, []byte("published build b1: 3260 rows")) {
		t.Fatalf("commit: %v\n%s", err, o)
	}

	want, got := treeFiles(t, filepath.Join(plainOut, "builds")), treeFiles(t, filepath.Join(out, "builds"))
	for _, m := range []map[string][]byte{want, got} {
		var mf manifest.Manifest
		key := filepath.Join("b1", "manifest.json")
		if err := json.Unmarshal(m[key], &mf); err != nil {
			t.Fatal(err)
		}
		// Apart from timings (and the output folder), the same manifest.
		mf.Timings, mf.Output.URI, mf.CreatedAt = manifest.Timings{}, "", time.Time{}
		m[key], _ = json.Marshal(mf)
	}
	if len(want) < 10 || len(want) != len(got) {
		t.Fatalf("%d files in the plain build, %d in the sharded one", len(want), len(got))
	}
	for k, w := range want {
		if !bytes.Equal(w, got[k]) {
			t.Errorf("%s differs between the plain and the sharded build:\n%s\n%s", k, w, got[k])
		}
	}

	// Usage errors name the flag.
	if _, stderr, code := pdRun(t, append(args, "--shard", "3/3")...); code != exitUsage || !strings.Contains(stderr, "--shard \"3/3\"") {
		t.Errorf("--shard 3/3: exit %d, %s", code, stderr)
	}
	if _, stderr, code := pdRun(t, "build", "--source", src, "--output", out, "--commit"); code != exitUsage || !strings.Contains(stderr, "--build-id") {
		t.Errorf("--commit without --build-id: exit %d, %s", code, stderr)
	}
}

// TestRunShardedBuild runs a DatasetBuild with parallelism.shards 3 through
// `mldata run -f`: the shards run as worker processes, and the published
// parts are a plain build's.
func TestRunShardedBuild(t *testing.T) {
	t.Setenv("MLDATA_TEST_MAIN", "1") // the shard processes are this test binary
	src := phaseSource(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "m.yaml")
	pdWrite(t, dir, "m.yaml", `apiVersion: mldata.io/v1alpha1
kind: DatasetBuild
metadata: {name: sharded}
spec:
  source: {uri: `+src+`}
  output: {uri: `+dir+`/out}
  split: {ratios: [{name: train, ratio: 0.8}, {name: validation, ratio: 0.1}, {name: test, ratio: 0.1}], key: id}
  parallelism: {shards: 3, chunkRows: 64, partRows: 128}
`)
	stdout, stderr, code := pdRun(t, "run", "-f", file)
	if code != exitOK {
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
	var b struct{ Status v1alpha1.DatasetBuildStatus }
	if err := yaml.Unmarshal([]byte(stdout), &b); err != nil {
		t.Fatal(err)
	}
	if b.Status.TotalRows != 3260 || b.Status.FilesProcessed != 5 || !strings.HasSuffix(b.Status.BuildID, "-s3") {
		t.Fatalf("status %+v", b.Status)
	}
	plain := filepath.Join(dir, "plain")
	if _, stderr, code := pdRun(t, "build", "--source", src, "--output", plain, "--split-key", "id", "--chunk-rows", "64", "--part-rows", "128", "--build-id", "p"); code != exitOK {
		t.Fatal(stderr)
	}
	want := treeFiles(t, filepath.Join(plain, "builds", "p"))
	got := treeFiles(t, filepath.Join(dir, "out", "builds", b.Status.BuildID))
	delete(want, "manifest.json")
	delete(got, "manifest.json")
	if len(want) < 10 || len(got) != len(want) {
		t.Fatalf("%d parts in the sharded build, %d in the plain one", len(got), len(want))
	}
	for k, w := range want {
		if !bytes.Equal(w, got[k]) {
			t.Errorf("%s differs between the sharded and the plain build", k)
		}
	}
	// Again: nothing changed, so the plan says up to date and no shard runs.
	stdout, stderr, code = pdRun(t, "run", "-f", file)
	if code != exitOK || !strings.Contains(stdout, "reason: UpToDate") {
		t.Fatalf("second run: exit %d: %s\n%s", code, stderr, stdout)
	}
}
