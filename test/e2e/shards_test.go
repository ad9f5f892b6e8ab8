//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/controllers"
	"github.com/mldata-io/mldata/internal/worker"
	"github.com/mldata-io/mldata/pkg/manifest"
)

// The source of TestE2EShardedBuild: 40 files of shardFileRows rows and one
// of shardBigRows rows, which is larger than the manager's
// --shard-range-bytes (shardRangeBytes, set by startManager) and so is cut
// into ranges that different shards process: 41 MB, 520,000 rows. Big
// enough that a shard works for a while (0.6 to 0.9 CPU seconds each,
// measured with mldata build --shard), small enough to upload in seconds.
const (
	shardFiles    = 40
	shardFileRows = 8000
	shardBigRows  = 200000
	// Part groups of 4 parts × 2 chunks × 5,000 rows: the big file (16 MB)
	// is 5 groups of about 3 MB, each a range of its own under 2 MiB
	// ranges; the 40 files (630 kB each) stay whole.
	shardChunkRows  = 5000
	shardPartRows   = 10000
	shardRangeBytes = 2 << 20
	// killAfterTicks is the CPU time (clock ticks of 10 ms) a shard's
	// process has used when the test kills it: well into its work, well
	// before its end.
	killAfterTicks = 20
)

// TestE2EShardedBuild builds a 40-file source plus one file cut into
// ranges with parallelism.shards = 4 on the two-node cluster, and the same
// source in one pod:
//   - the shards' pods run on both nodes;
//   - one shard's worker is SIGKILLed mid-way (after it used 0.2 s of CPU):
//     only that index runs again, every other index runs exactly once;
//   - the published part files are the one-pod build's, byte for byte
//     (SHA-256 of every object), and DuckDB counts the source's rows both
//     in the source CSV files and in the published Parquet parts.
//
// Its names (shards4, shards1, raw/sharded/, datasets/shards*/) are its
// own, so it runs beside the other scenarios.
func TestE2EShardedBuild(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rows := writeShardSource(t, dir)
	uploadFiles(t, dir, "raw/sharded/", 8)

	spec := func(name string, shards int) string {
		par := fmt.Sprintf("{chunkRows: %d, partRows: %d}", shardChunkRows, shardPartRows)
		if shards > 1 {
			par = fmt.Sprintf("{chunkRows: %d, partRows: %d, shards: %d}", shardChunkRows, shardPartRows, shards)
		}
		return fmt.Sprintf(`apiVersion: mldata.io/v1alpha1
kind: DatasetBuild
metadata:
  name: %s
spec:
  source:
    uri: %s
    format: csv
    secretRef: {name: mldata-s3}
  output:
    uri: %s
    format: parquet
    compression: zstd
    secretRef: {name: mldata-s3}
  split:
    ratios:
    - {name: train, ratio: 0.8}
    - {name: test, ratio: 0.2}
    key: id
  parallelism: %s
`, name, bucketURI("raw/sharded/"), bucketURI("datasets/"+name+"/"), par)
	}
	apply(t, spec("shards4", 4))
	killed := killShardMidway(t, "shards4")
	t.Logf("killed pid %d of pod %s after %d ms of CPU", killed.pid, killed.pod, killed.cpuMS)
	// The one-pod build of the same source, once the shards ran.
	apply(t, spec("shards1", 1))
	wait(t, 5*time.Minute, "condition=Ready", "datasetbuild/shards4")
	wait(t, 5*time.Minute, "condition=Ready", "datasetbuild/shards1")

	// Three Jobs: plan, shards, commit.
	var plan, shardJob *batchv1.Job
	js := jobsOf(t, "shards4")
	for i := range js {
		switch js[i].Annotations[controllers.AnnotationPhase] {
		case worker.PhasePlan:
			plan = &js[i]
		case worker.PhaseShard:
			shardJob = &js[i]
		}
	}
	if len(js) != 3 || plan == nil || shardJob == nil {
		t.Fatalf("%d Jobs %v: want a plan, a shards and a commit Job", len(js), jobNames(js))
	}

	// The plan cut the big file into ranges: 40 whole files and the big
	// file's part groups, each a unit.
	groups := (shardBigRows + 4*shardPartRows - 1) / (4 * shardPartRows)
	bigSize := fileSize(t, filepath.Join(dir, "src", "zz-big.csv"))
	per := max(1, shardRangeBytes/(bigSize/int64(groups)))
	wantUnits := shardFiles + (groups+int(per)-1)/int(per)
	if s := podSummary(t, podsOf(t, plan.Name)); !strings.Contains(s.Message, fmt.Sprintf("%d unit(s) of work from %d changed file(s) over 4 shard(s)", wantUnits, shardFiles+1)) {
		t.Errorf("plan: %q, want %d units of 41 files over 4 shards", s.Message, wantUnits)
	}

	// The shards: on both nodes; the killed index twice (137, then
	// success), every other index once.
	pods := podsOf(t, shardJob.Name)
	byIndex := map[string][]corev1.Pod{}
	nodes := map[string]int{}
	var units, files int
	var shardRows int64
	for _, p := range pods {
		idx := p.Annotations[batchv1.JobCompletionIndexAnnotation]
		byIndex[idx] = append(byIndex[idx], p)
		nodes[p.Spec.NodeName]++
		if p.Status.Phase == corev1.PodSucceeded {
			var u, f int
			var r int64
			msg := podSummary(t, []corev1.Pod{p}).Message
			if _, err := fmt.Sscanf(msg[strings.Index(msg, ": ")+2:], "%d unit(s) of %d file(s), %d rows", &u, &f, &r); err != nil {
				t.Errorf("pod %s: summary %q: %v", p.Name, msg, err)
			}
			units, files, shardRows = units+u, files+f, shardRows+r
		}
	}
	t.Logf("shard pods per node: %v", nodes)
	if len(nodes) != 2 || nodes["mldata-local"] == 0 || nodes["mldata-local-2"] == 0 {
		t.Errorf("shard pods per node %v: want pods on both mldata-local and mldata-local-2", nodes)
	}
	killedIdx := ""
	for idx, ps := range byIndex {
		for _, p := range ps {
			if p.Name == killed.pod {
				killedIdx = idx
			}
		}
	}
	for i := 0; i < 4; i++ {
		idx := strconv.Itoa(i)
		ps := byIndex[idx]
		var phases []string
		for _, p := range ps {
			phases = append(phases, fmt.Sprintf("%s %s exit %d", p.Name, p.Status.Phase, exitCode(p)))
		}
		switch {
		case idx == killedIdx:
			if len(ps) != 2 || countPhase(ps, corev1.PodFailed) != 1 || countPhase(ps, corev1.PodSucceeded) != 1 {
				t.Errorf("killed index %s: pods %v, want the killed one failed and one retry succeeded", idx, phases)
			}
			for _, p := range ps {
				if p.Name == killed.pod && (p.Status.Phase != corev1.PodFailed || exitCode(p) != 137) {
					t.Errorf("killed pod %s: %s, exit %d; want Failed with 137 (SIGKILL)", p.Name, p.Status.Phase, exitCode(p))
				}
			}
		default:
			if len(ps) != 1 || ps[0].Status.Phase != corev1.PodSucceeded {
				t.Errorf("index %s: pods %v, want one that succeeded", idx, phases)
			}
		}
	}
	if killedIdx == "" {
		t.Errorf("the killed pod %s is not among the shards' pods", killed.pod)
	}
	st := shardJob.Status
	if st.Succeeded != 4 || st.Failed != 1 || st.CompletedIndexes != "0-3" || (st.FailedIndexes != nil && *st.FailedIndexes != "") {
		t.Errorf("shards Job status: succeeded %d, failed %d, completed %q, failed indexes %v", st.Succeeded, st.Failed, st.CompletedIndexes, st.FailedIndexes)
	}
	if units != wantUnits || files <= shardFiles+1 || shardRows != rows {
		t.Errorf("the shards processed %d units of %d files (the big file counted once per shard), %d rows; want %d units, more than 41 files, %d rows", units, files, shardRows, wantUnits, rows)
	}
	b := getBuild(t, "shards4")
	if s := b.Status.Shards; s == nil || s.Phase != v1alpha1.ShardPhaseDone || s.Progress != "4/4" || s.Succeeded != 4 || s.Failed != 1 {
		t.Errorf("status.shards %+v", s)
	}

	// The same dataset as one pod's, byte for byte.
	m4, m1 := latest(t, "datasets/shards4/"), latest(t, "datasets/shards1/")
	if m4 == nil || m1 == nil {
		t.Fatalf("published: sharded %v, one pod %v", m4, m1)
	}
	if b.Status.BuildID != m4.BuildID || b.Status.TotalRows != rows || m4.Rows() != rows || m1.Rows() != rows {
		t.Errorf("rows: status %d, sharded manifest %d, one-pod manifest %d, source %d", b.Status.TotalRows, m4.Rows(), m1.Rows(), rows)
	}
	local := filepath.Join(dir, "parts")
	h4 := partHashes(t, "datasets/shards4/", m4, filepath.Join(local, "4"))
	h1 := partHashes(t, "datasets/shards1/", m1, filepath.Join(local, "1"))
	if len(h4) != len(h1) || len(h4) == 0 {
		t.Errorf("sharded build has %d parts, one-pod build %d", len(h4), len(h1))
	}
	for name, sum := range h1 {
		if h4[name] != sum {
			t.Errorf("part %s: sharded %.12s, one pod %.12s", name, h4[name], sum)
		}
	}
	t.Logf("%d part files identical (SHA-256) in the sharded and the one-pod build", len(h4))

	// DuckDB counts the rows of the source and of the published parts.
	job := map[string]map[string][]string{"source": {"csv": nil}}
	srcFiles, _ := filepath.Glob(filepath.Join(dir, "src", "*.csv"))
	job["source"]["csv"] = srcFiles
	for _, s := range m4.Splits {
		files, _ := filepath.Glob(filepath.Join(local, "4", s.Name, "*.parquet"))
		job[s.Name] = map[string][]string{"parquet": files}
	}
	counts := duckdbCounts(t, job)
	if counts["source"] != rows {
		t.Errorf("DuckDB counts %d rows in the source, the generator wrote %d", counts["source"], rows)
	}
	var sum int64
	for _, s := range m4.Splits {
		sum += counts[s.Name]
		if counts[s.Name] != s.Rows {
			t.Errorf("split %s: DuckDB counts %d rows in its parts, the manifest says %d", s.Name, counts[s.Name], s.Rows)
		}
	}
	if sum != rows {
		t.Errorf("DuckDB counts %d rows in the published parts, the source has %d", sum, rows)
	}
	t.Logf("DuckDB: %v", counts)
	mustKubectl(t, "-n", ns, "delete", "datasetbuild/shards4", "datasetbuild/shards1", "--wait=false")
}

// TestE2EShardedUnchanged builds a source of 5,000 small files with
// shards = 4 once; asked to reconcile again with nothing changed, the
// controller lists the 5,000 files and starts no Job. One changed file
// then starts a build that processes that file alone. status stays small.
func TestE2EShardedUnchanged(t *testing.T) {
	t.Parallel()
	const files = 5000
	dir := filepath.Join(t.TempDir(), "src")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < files; i++ {
		data := fmt.Sprintf("id,v\n%d,%d\n%d,%d\n", 2*i, i%7, 2*i+1, i%5)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f-%05d.csv", i)), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	uploadFiles(t, filepath.Dir(dir), "raw/many/", 32)
	t.Logf("uploaded %d files in %.1f s", files, time.Since(start).Seconds())
	apply(t, fmt.Sprintf(`apiVersion: mldata.io/v1alpha1
kind: DatasetBuild
metadata:
  name: many
spec:
  source:
    uri: %s
    format: csv
    secretRef: {name: mldata-s3}
  output:
    uri: %s
    format: parquet
    secretRef: {name: mldata-s3}
  # One split: no split check, which would read 5,000 parts back.
  split:
    ratios: [{name: all, ratio: 1}]
  # Reading tiny objects waits on the store more than on the CPU: 8
  # reads at once per pod.
  parallelism: {shards: 4, workers: 8}
`, bucketURI("raw/many/"), bucketURI("datasets/many/")))
	start = time.Now()
	wait(t, 6*time.Minute, "condition=Ready", "datasetbuild/many")
	t.Logf("built %d files with 4 shards in %.1f s", files, time.Since(start).Seconds())
	b := getBuild(t, "many")
	if b.Status.SourceCount != files || b.Status.FilesProcessed != files || b.Status.TotalRows != 2*files {
		t.Errorf("first build: %d sources, %d processed, %d rows; want %d, %d, %d", b.Status.SourceCount, b.Status.FilesProcessed, b.Status.TotalRows, files, files, 2*files)
	}
	if len(b.Status.Sources) > 256 {
		t.Errorf("status.sources lists %d files, want at most 256", len(b.Status.Sources))
	}
	jobs := jobNames(jobsOf(t, "many"))
	if len(jobs) != 3 {
		t.Errorf("first build: Jobs %v, want plan, shards, commit", jobs)
	}

	// Nothing changed: a reconcile (any annotation change starts one)
	// lists the 5,000 files, finds the digest of the published build, and
	// starts nothing.
	mustKubectl(t, "-n", ns, "annotate", "--overwrite", "datasetbuild/many", "e2e.mldata.io/poke=1")
	time.Sleep(15 * time.Second)
	if now := jobNames(jobsOf(t, "many")); fmt.Sprint(now) != fmt.Sprint(jobs) {
		t.Errorf("Jobs %v after a reconcile of unchanged sources, had %v", now, jobs)
	}
	if b2 := getBuild(t, "many"); b2.Status.BuildID != b.Status.BuildID || b2.Status.JobName != b.Status.JobName {
		t.Errorf("a new build (%s, Job %s) without a change", b2.Status.BuildID, b2.Status.JobName)
	}

	// One file changed: the same kind of reconcile notices it, and the
	// sharded build processes that file and reuses 4,999.
	put(t, "raw/many/", "f-00042.csv", []byte("id,v\n84,0\n85,2\n86,3\n"))
	mustKubectl(t, "-n", ns, "annotate", "--overwrite", "datasetbuild/many", "e2e.mldata.io/poke=2")
	eventually(t, 4*time.Minute, "a build of the changed file", func() error {
		b2 := getBuild(t, "many")
		if b2.Status.BuildID == b.Status.BuildID || !strings.HasPrefix(cond(b2.Status.Conditions, v1alpha1.ConditionReady), "True/") {
			return fmt.Errorf("build %s, Ready %s", b2.Status.BuildID, cond(b2.Status.Conditions, v1alpha1.ConditionReady))
		}
		return nil
	})
	b2 := getBuild(t, "many")
	if b2.Status.FilesProcessed != 1 || b2.Status.FilesReused != files-1 || b2.Status.TotalRows != 2*files+1 {
		t.Errorf("after one changed file: %d processed, %d reused, %d rows; want 1, %d, %d", b2.Status.FilesProcessed, b2.Status.FilesReused, b2.Status.TotalRows, files-1, 2*files+1)
	}
	if n := len(jobsOf(t, "many")); n != 6 {
		t.Errorf("%d Jobs after two builds, want 6", n)
	}
	mustKubectl(t, "-n", ns, "delete", "datasetbuild/many", "--wait=false")
}

// writeShardSource writes TestE2EShardedBuild's source under dir/src and
// returns its number of rows. Every 97th note holds a quoted comma and
// every 89th a quoted line break, so record boundaries are not line ends.
func writeShardSource(t testing.TB, dir string) int64 {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "src"), 0o755); err != nil {
		t.Fatal(err)
	}
	countries := []string{"AU", "BR", "DE", "FR", "GB", "IN", "JP", "US"}
	id := 0
	write := func(name string, rows int, seed uint64) {
		r := rand.New(rand.NewPCG(seed, 7))
		var b bytes.Buffer
		b.WriteString("id,user_id,amount,score,country,session,is_active,ts,note,quantity\n")
		for i := 0; i < rows; i++ {
			id++
			note := "ok"
			switch {
			case id%89 == 0:
				note = "\"first line\nsecond line\""
			case id%97 == 0:
				note = "\"fragile, handle with care\""
			}
			fmt.Fprintf(&b, "%d,%d,%.2f,%.6f,%s,%016x,%t,%s,%s,%d\n", id, r.IntN(50000), r.Float64()*1000, r.Float64(),
				countries[r.IntN(len(countries))], r.Uint64(), r.IntN(2) == 0,
				time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(365*24*3600))*time.Second).Format(time.RFC3339),
				note, r.IntN(20))
		}
		if err := os.WriteFile(filepath.Join(dir, "src", name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= shardFiles; i++ {
		write(fmt.Sprintf("part-%02d.csv", i), shardFileRows, uint64(i))
	}
	write("zz-big.csv", shardBigRows, 999)
	return int64(shardFiles*shardFileRows + shardBigRows)
}

// uploadFiles copies the files of dir/src below prefix with n uploads at
// once.
func uploadFiles(t testing.TB, dir, prefix string, n int) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "src"))
	if err != nil {
		t.Fatal(err)
	}
	loc := openBucket(t, prefix)
	names := make(chan string)
	errs := make(chan error, len(entries))
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range names {
				data, err := os.ReadFile(filepath.Join(dir, "src", name))
				if err == nil {
					err = loc.WriteFile(context.Background(), name, data)
				}
				if err != nil {
					errs <- fmt.Errorf("upload %s: %w", name, err)
				}
			}
		}()
	}
	for _, e := range entries {
		names <- e.Name()
	}
	close(names)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

type killedShard struct {
	pod   string
	pid   int
	cpuMS int
}

// killShardMidway waits for a worker of build's shards Job to run and,
// once its process has used killAfterTicks of CPU, SIGKILLs it. It finds
// the process without the API: the nodes keep each pod's PID in
// <node dir>/pods/<namespace>_<pod>_<uid>/pid, and the shards Job's pods
// are named <build>-<run>-shard-<hash>-<index>-<random>. It polls every
// 5 ms, so the kill lands while the process works.
func killShardMidway(t testing.TB, build string) killedShard {
	t.Helper()
	pattern := filepath.Join(env.state, "cluster", "node*", "pods", ns+"_"+build+"-*-shard-*_*", "pid")
	ended := map[string]bool{}
	deadline := time.Now().Add(4 * time.Minute)
	for time.Now().Before(deadline) {
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			pod := strings.SplitN(filepath.Base(filepath.Dir(f)), "_", 3)[1]
			if ended[pod] {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil || pid <= 0 {
				continue
			}
			ticks, err := cpuTicks(pid)
			if err != nil {
				ended[pod] = true // finished before it was seen working long enough
				continue
			}
			if ticks < killAfterTicks {
				continue
			}
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				ended[pod] = true
				continue
			}
			return killedShard{pod: pod, pid: pid, cpuMS: ticks * 10}
		}
		if len(ended) >= 4 {
			t.Fatalf("every shard of %s ended before using %d ms of CPU (%v): the source is too small to kill one mid-way", build, killAfterTicks*10, ended)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no shard worker of %s ran for %d ms of CPU within 4 minutes:\n%s", build, killAfterTicks*10, describe("datasetbuild/"+build))
	return killedShard{}
}

// cpuTicks is the user and system time a process has used, in clock ticks.
func cpuTicks(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces): state is
	// field 3, utime 14, stime 15.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 || f[0] == "Z" {
		return 0, fmt.Errorf("process %d has ended", pid)
	}
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return u + s, nil
}

// podSummary decodes the worker's result summary, the termination message
// of the (first) pod that has one.
func podSummary(t testing.TB, pods []corev1.Pod) *worker.Summary {
	t.Helper()
	for _, p := range pods {
		for _, c := range p.Status.ContainerStatuses {
			if c.State.Terminated == nil || c.State.Terminated.Message == "" {
				continue
			}
			s, err := worker.DecodeSummary([]byte(c.State.Terminated.Message))
			if err != nil {
				t.Fatalf("pod %s: termination message: %v", p.Name, err)
			}
			return s
		}
	}
	t.Fatalf("no pod with a result summary among %d", len(pods))
	return nil
}

func exitCode(p corev1.Pod) int32 {
	for _, c := range p.Status.ContainerStatuses {
		if c.State.Terminated != nil {
			return c.State.Terminated.ExitCode
		}
	}
	return -1
}

func countPhase(ps []corev1.Pod, phase corev1.PodPhase) int {
	n := 0
	for _, p := range ps {
		if p.Status.Phase == phase {
			n++
		}
	}
	return n
}

func jobNames(js []batchv1.Job) []string {
	var names []string
	for _, j := range js {
		names = append(names, j.Name)
	}
	sort.Strings(names)
	return names
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// partHashes downloads the parts of a build into dir/<split>/ and returns
// the SHA-256 of each by "<split>/<file name>" (the build id left out). A
// part whose bytes differ from the manifest's SHA-256 fails the test.
func partHashes(t testing.TB, prefix string, m *manifest.Manifest, dir string) map[string]string {
	t.Helper()
	loc := openBucket(t, prefix)
	out := map[string]string{}
	for _, s := range m.Splits {
		if err := os.MkdirAll(filepath.Join(dir, s.Name), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, p := range s.Parts {
			data, err := loc.ReadFile(context.Background(), p.Path)
			if err != nil {
				t.Fatalf("part %s: %v", p.Path, err)
			}
			sum := sha256.Sum256(data)
			h := hex.EncodeToString(sum[:])
			if p.SHA256 != "" && p.SHA256 != h {
				t.Errorf("part %s: SHA-256 %s, the manifest says %s", p.Path, h, p.SHA256)
			}
			name := s.Name + "/" + filepath.Base(p.Path)
			out[name] = h
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

// duckdbCounts counts rows with DuckDB (bin/reading, hack/reading/install.sh),
// which shares no code with mldata: for each name, the rows of its CSV
// files (read_csv, RFC 4180 quoting) or Parquet files (read_parquet).
func duckdbCounts(t testing.TB, job map[string]map[string][]string) map[string]int64 {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("DuckDB's row counts need Node.js 20+ on PATH (and hack/reading/install.sh)")
	}
	modules := filepath.Join(env.root, "bin", "reading", "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "@duckdb", "node-api", "package.json")); err != nil {
		t.Fatalf("DuckDB is not installed in bin/reading: run hack/reading/install.sh (%v)", err)
	}
	dir := t.TempDir()
	// The script resolves @duckdb/node-api from a node_modules beside it.
	if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	script := `import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
const job = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const list = (fs) => '[' + fs.map((f) => "'" + f.replaceAll("'", "''") + "'").join(', ') + ']';
const db = await DuckDBInstance.create(':memory:', { threads: '1' });
const conn = await db.connect();
const out = {};
for (const [name, q] of Object.entries(job)) {
  const r = await conn.runAndReadAll(q.csv
    ? 'SELECT count(*) FROM read_csv(' + list(q.csv) + ", header = true, delim = ',', quote = '\"', escape = '\"', all_varchar = true)"
    : 'SELECT count(*) FROM read_parquet(' + list(q.parquet) + ')');
  out[name] = Number(r.getRows()[0][0]);
}
console.log(JSON.stringify(out));
`
	if err := os.WriteFile(filepath.Join(dir, "count.mjs"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	in, _ := json.Marshal(job)
	if err := os.WriteFile(filepath.Join(dir, "job.json"), in, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(dir, "count.mjs"), filepath.Join(dir, "job.json"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("DuckDB: %v\n%s", err, stderr.String())
	}
	counts := map[string]int64{}
	if err := json.Unmarshal(out, &counts); err != nil {
		t.Fatalf("DuckDB printed %q: %v", out, err)
	}
	return counts
}
