package testservers

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob"
	_ "gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/s3blob"
)

// Each server starts, takes a bucket, stores and lists an object through
// gocloud with the URI and environment it hands out, and is gone (process
// and port) after Stop.
func TestServersRoundTrip(t *testing.T) {
	for _, k := range Kinds {
		t.Run(string(k), func(t *testing.T) {
			var s Server
			switch k {
			case KindS3:
				s = S3(t)
			case KindAzurite:
				s = Azurite(t)
			case KindGCS:
				s = FakeGCS(t)
			}
			SetEnv(t, s)
			ctx := context.Background()
			if err := s.CreateBucket(ctx, "round-trip"); err != nil {
				t.Fatal(err)
			}
			uri := s.URI("round-trip", "")
			b, err := blob.OpenBucket(ctx, uri)
			if err != nil {
				t.Fatalf("open %s: %v", uri, err)
			}
			defer b.Close()
			if err := b.WriteAll(ctx, "dir/hello.txt", []byte("hello"), nil); err != nil {
				t.Fatal(err)
			}
			got, err := b.ReadAll(ctx, "dir/hello.txt")
			if err != nil || string(got) != "hello" {
				t.Fatalf("read back %q, %v", got, err)
			}
			it := b.List(&blob.ListOptions{Prefix: "dir/"})
			var names []string
			for {
				o, err := it.Next(ctx)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, o.Key)
			}
			if len(names) != 1 || names[0] != "dir/hello.txt" {
				t.Errorf("list = %v, want [dir/hello.txt]", names)
			}
			// A bucket that was never created is an error, not an empty list.
			missing, err := blob.OpenBucket(ctx, s.URI("never-created", ""))
			if err != nil {
				t.Fatal(err)
			}
			defer missing.Close()
			if _, err := missing.List(nil).Next(ctx); err == nil || errors.Is(err, io.EOF) {
				t.Errorf("listing a missing bucket: %v, want an error", err)
			}

			if s3, ok := s.(*S3Server); ok {
				reqs, err := s3.Requests()
				if err != nil {
					t.Fatal(err)
				}
				var gets []S3Request
				for _, r := range reqs {
					if r.Operation == "s3_GetObject" {
						gets = append(gets, r)
					}
				}
				want := []S3Request{{Operation: "s3_GetObject", Bucket: "round-trip", Key: "dir/hello.txt", Status: 200}}
				if len(gets) != 1 || gets[0] != want[0] {
					t.Errorf("GetObject requests in the access log: %+v, want %+v", gets, want)
				}
			}

			p := serverProc(s)
			pid, addr := p.PID(), p.addr
			if err := s.Stop(); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("pid %d still exists after Stop (kill 0: %v)", pid, err)
			}
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				t.Errorf("%s still accepts connections after Stop", addr)
			}
			if err := s.Stop(); err != nil {
				t.Errorf("second Stop: %v", err)
			}
		})
	}
}

func serverProc(s Server) *proc {
	switch s := s.(type) {
	case *S3Server:
		return s.proc
	case *AzuriteServer:
		return s.proc
	case *GCSServer:
		return s.proc
	}
	panic("unknown server")
}

func TestURIs(t *testing.T) {
	s3 := &S3Server{Endpoint: "http://127.0.0.1:9000", Region: "us-east-1"}
	az := &AzuriteServer{Host: "127.0.0.1:10000"}
	gcs := &GCSServer{Host: "127.0.0.1:4443"}
	tests := []struct{ got, want string }{
		{s3.URI("b", "p/q"), "s3://b/p/q?endpoint=http%3A%2F%2F127.0.0.1%3A9000&use_path_style=true&region=us-east-1"},
		{s3.URI("b", ""), "s3://b/?endpoint=http%3A%2F%2F127.0.0.1%3A9000&use_path_style=true&region=us-east-1"},
		{az.URI("c", "/p"), "azblob://c/p?localemu=true&protocol=http&domain=127.0.0.1:10000"},
		{gcs.URI("b", "p/"), "gs://b/p/"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("URI = %q, want %q", tc.got, tc.want)
		}
	}
}

func TestMissingProgram(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "pkg", "a")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	root, err := RepoRoot()
	if err != nil || root != dir {
		t.Fatalf("RepoRoot = %q, %v; want %q", root, err, dir)
	}
	for _, k := range Kinds {
		_, err := Start(k, t.TempDir())
		var ni *NotInstalledError
		if !errors.As(err, &ni) || !strings.HasPrefix(ni.Path, filepath.Join(dir, "bin", "storage")) ||
			!strings.Contains(err.Error(), "hack/storage/install.sh") {
			t.Errorf("%s: error %v, want a NotInstalledError under %s/bin/storage naming the installer", k, err, dir)
		}
	}
}

func TestRequired(t *testing.T) {
	tests := []struct {
		ci, require string
		want        bool
	}{
		{"", "", false},
		{"true", "", true},
		{"1", "", true},
		{"false", "", false},
		{"", "1", true},
		{"false", "1", true},
		{"", "0", false},
	}
	for _, tc := range tests {
		t.Setenv("CI", tc.ci)
		t.Setenv("MLDATA_REQUIRE_SERVERS", tc.require)
		if got := Required(); got != tc.want {
			t.Errorf("CI=%q MLDATA_REQUIRE_SERVERS=%q: Required() = %v, want %v", tc.ci, tc.require, got, tc.want)
		}
	}
}

// A server whose program exits before it listens is reported with its
// log, after the retries.
func TestStartFailureShowsLog(t *testing.T) {
	_, err := start(spec{
		name:  "false-server",
		bin:   "/bin/sh",
		args:  func(addr string) []string { return []string{"-c", "echo cannot bind " + addr + "; exit 3"} },
		ready: func(addr string) string { return "never" },
	}, t.TempDir())
	if err == nil || !errors.Is(err, errExited) || !strings.Contains(err.Error(), "cannot bind 127.0.0.1:") {
		t.Fatalf("error %v; want an early-exit error that shows the log", err)
	}
}

// Shared hands out one server per kind until StopShared stops it; the next
// call starts a new one.
func TestShared(t *testing.T) {
	a := Shared(t, KindGCS)
	if b := Shared(t, KindGCS); b != a {
		t.Fatal("a second Shared call started another server")
	}
	pid := serverProc(a).PID()
	if err := StopShared(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("pid %d still exists after StopShared (kill 0: %v)", pid, err)
	}
	c := Shared(t, KindGCS)
	if c == a {
		t.Error("Shared returned the stopped server")
	}
	if err := StopShared(); err != nil {
		t.Fatal(err)
	}
}

// TestS3Restart: a stopped S3 server refuses connections on its endpoint;
// restarted, it answers there again with the data it had.
func TestS3Restart(t *testing.T) {
	s := S3(t)
	SetEnv(t, s)
	ctx := context.Background()
	if err := s.CreateBucket(ctx, "outage"); err != nil {
		t.Fatal(err)
	}
	b, err := blob.OpenBucket(ctx, s.URI("outage", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.WriteAll(ctx, "a.txt", []byte("kept"), nil); err != nil {
		t.Fatal(err)
	}
	endpoint := s.Endpoint
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(endpoint, "http://")
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("%s accepts connections after Stop", addr)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if s.Endpoint != endpoint {
		t.Errorf("endpoint %s after the restart, was %s", s.Endpoint, endpoint)
	}
	got, err := b.ReadAll(ctx, "a.txt")
	if err != nil || string(got) != "kept" {
		t.Fatalf("after the restart: %q, %v", got, err)
	}
}
