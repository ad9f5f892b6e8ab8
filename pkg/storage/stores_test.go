package storage

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mldata-io/mldata/internal/testservers"
)

// testStore is one kind of store the behaviour tests run against. Each test
// gets a fresh, empty root URI (no trailing slash) from newRoot.
type testStore struct {
	name  string
	local bool // a directory on this machine
	// server is the kind of emulator behind the store, "" for the others.
	server  testservers.Kind
	newRoot func(t *testing.T) string
}

// testBucket is the bucket (Azure container) the store tests use on every
// server; each test works below its own prefix in it.
const testBucket = "mldata-store-tests"

var serverBuckets = struct {
	sync.Mutex
	made map[testservers.Kind]bool
}{made: map[testservers.Kind]bool{}}

// serverRoot returns a fresh prefix URI on the shared server of kind k,
// with the server's credentials set in the environment for t.
func serverRoot(t *testing.T, k testservers.Kind) string {
	t.Helper()
	srv := testservers.Shared(t, k)
	testservers.SetEnv(t, srv)
	serverBuckets.Lock()
	defer serverBuckets.Unlock()
	if !serverBuckets.made[k] {
		if err := srv.CreateBucket(context.Background(), testBucket); err != nil {
			t.Fatal(err)
		}
		serverBuckets.made[k] = true
	}
	return srv.URI(testBucket, fmt.Sprintf("t%d-%s", memSeq.Add(1), strings.ReplaceAll(t.Name(), "/", "_")))
}

var memSeq atomic.Int64

// testStores lists the stores every behaviour test runs against: a local
// directory as file:// and as a plain path, mem://, and real servers on
// loopback for S3 (versitygw), Azure Blob Storage (Azurite) and GCS
// (fake-gcs-server), one of each for the whole test binary, each test in
// its own prefix. A server that is not installed skips its subtests (fails
// them under CI; see internal/testservers). Setting MLDATA_TEST_S3_URI
// (e.g. "s3://bucket?endpoint=http://127.0.0.1:9000&use_path_style=true&
// region=us-east-1", credentials in the environment) adds another
// S3-compatible store, such as a real bucket.
func testStores() []testStore {
	stores := []testStore{
		{name: "file", local: true, newRoot: func(t *testing.T) string { return "file://" + t.TempDir() }},
		{name: "path", local: true, newRoot: func(t *testing.T) string { return t.TempDir() }},
		{name: "mem", newRoot: func(t *testing.T) string {
			return fmt.Sprintf("mem://test-%d-%d", os.Getpid(), memSeq.Add(1))
		}},
	}
	for _, k := range testservers.Kinds {
		stores = append(stores, testStore{name: string(k), server: k, newRoot: func(t *testing.T) string {
			return serverRoot(t, k)
		}})
	}
	if s3 := os.Getenv("MLDATA_TEST_S3_URI"); s3 != "" {
		stores = append(stores, testStore{name: "s3-env", newRoot: func(t *testing.T) string {
			return joinURI(s3, fmt.Sprintf("mldata-test/%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano()))
		}})
	}
	return stores
}

// forEachStore runs f once per store in a subtest.
func forEachStore(t *testing.T, f func(t *testing.T, s testStore, root string)) {
	t.Helper()
	for _, s := range testStores() {
		t.Run(s.name, func(t *testing.T) { f(t, s, s.newRoot(t)) })
	}
}

// joinURI appends rel to the path of a URI or plain path, keeping any query.
func joinURI(base, rel string) string {
	if !strings.Contains(base, "://") {
		return strings.TrimSuffix(base, "/") + "/" + rel
	}
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + rel
	return u.String()
}

// seed writes files (key → content) under root.
func seed(t *testing.T, root string, files map[string]string) {
	t.Helper()
	ctx := context.Background()
	out, err := OpenOutput(ctx, root)
	if err != nil {
		t.Fatalf("OpenOutput(%s): %v", root, err)
	}
	defer out.Close()
	for k, v := range files {
		if err := out.WriteFile(ctx, k, []byte(v)); err != nil {
			t.Fatalf("seed %s: %v", k, err)
		}
	}
}

func mustOpen(t *testing.T, uri string) *Location {
	t.Helper()
	l, err := Open(context.Background(), uri)
	if err != nil {
		t.Fatalf("Open(%s): %v", uri, err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func keys(objs []Object) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out
}
