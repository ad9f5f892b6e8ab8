package testservers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// GCSServer is a fake-gcs-server over a directory (filesystem backend).
type GCSServer struct {
	// Host is 127.0.0.1:PORT, the value of STORAGE_EMULATOR_HOST.
	Host string
	*proc
}

// FakeGCS starts a fake-gcs-server for t, stopped when t ends. It skips t
// (or fails it under CI) when fake-gcs-server is not installed. Use it
// with SetEnv: STORAGE_EMULATOR_HOST is process-wide.
func FakeGCS(t testing.TB) *GCSServer {
	t.Helper()
	s, err := StartFakeGCS(t.TempDir())
	if err != nil {
		handleStartError(t, err)
	}
	attach(t, s)
	return s
}

// StartFakeGCS starts a fake-gcs-server with its data and log in dir; the
// caller stops it.
func StartFakeGCS(dir string) (*GCSServer, error) {
	bin, err := program("fake-gcs-server", "fake-gcs-server")
	if err != nil {
		return nil, err
	}
	root := filepath.Join(dir, "data")
	p, err := start(spec{
		name: "fake-gcs-server",
		bin:  bin,
		args: func(addr string) []string {
			return []string{
				"-scheme", "http", "-host", "127.0.0.1", "-port", fmt.Sprint(portOf(addr)),
				"-backend", "filesystem", "-filesystem-root", root,
				// Resumable uploads continue at the URL the server returns:
				// it must be this server, not storage.googleapis.com.
				"-public-host", addr, "-external-url", "http://" + addr,
			}
		},
		ready: func(addr string) string { return "server started at http://" + addr },
	}, dir)
	if err != nil {
		return nil, err
	}
	return &GCSServer{Host: p.addr, proc: p}, nil
}

// Name returns "fake-gcs-server".
func (s *GCSServer) Name() string { return "fake-gcs-server" }

// URI returns gs://bucket/prefix; the server is found through
// STORAGE_EMULATOR_HOST (Env).
func (s *GCSServer) URI(bucket, prefix string) string {
	return fmt.Sprintf("gs://%s/%s", bucket, strings.TrimPrefix(prefix, "/"))
}

// Env returns STORAGE_EMULATOR_HOST for the server.
func (s *GCSServer) Env() []string { return []string{"STORAGE_EMULATOR_HOST=" + s.Host} }

// CreateBucket creates a bucket through the JSON API.
func (s *GCSServer) CreateBucket(ctx context.Context, name string) error {
	body, _ := json.Marshal(map[string]string{"name": name})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.Host+"/storage/v1/b?project=mldata-test", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("create bucket %q: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("create bucket %q: %s: %s", name, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
