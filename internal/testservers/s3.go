package testservers

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Development credentials of every versitygw these helpers start. They are
// not secrets: the server listens on loopback only, for one test.
const (
	S3AccessKey = "mldata-test"
	S3SecretKey = "mldata-test-secret"
	S3Region    = "us-east-1"
)

// S3Server is a versitygw gateway with the posix backend over a directory:
// each bucket is a subdirectory, each object a file.
type S3Server struct {
	// Endpoint is http://127.0.0.1:PORT.
	Endpoint  string
	AccessKey string
	SecretKey string
	Region    string
	// Dir holds the buckets (Dir/<bucket>/<key>).
	Dir string
	// AccessLog is the server's S3 access log; Requests parses it.
	AccessLog string
	bin       string
	*proc
	spec     spec
	home     string
	restarts int
}

// S3 starts a versitygw for t, stopped when t ends. It skips t (or fails it
// under CI) when versitygw is not installed.
func S3(t testing.TB) *S3Server {
	t.Helper()
	s, err := StartS3(t.TempDir())
	if err != nil {
		handleStartError(t, err)
	}
	attach(t, s)
	return s
}

// StartS3 starts a versitygw whose data and log live in dir; the caller
// stops it. The error is a *NotInstalledError when versitygw is missing.
func StartS3(dir string) (*S3Server, error) {
	bin, err := program("versitygw", "versitygw")
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	accessLog := filepath.Join(dir, "access.log")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	sp := spec{
		name: "versitygw",
		bin:  bin,
		// The root credentials go through the environment, as they would
		// in a deployment, not through the command line.
		env: []string{"ROOT_ACCESS_KEY_ID=" + S3AccessKey, "ROOT_SECRET_ACCESS_KEY=" + S3SecretKey, "VGW_REGION=" + S3Region},
		args: func(addr string) []string {
			return []string{"--port", addr, "--quiet", "--access-log", accessLog, "posix", data}
		},
		// --quiet also drops the banner that says where it listens.
		ready: nil,
	}
	p, err := start(sp, dir)
	if err != nil {
		return nil, err
	}
	return &S3Server{
		Endpoint: "http://" + p.addr, AccessKey: S3AccessKey, SecretKey: S3SecretKey, Region: S3Region,
		Dir: data, AccessLog: accessLog, bin: bin, proc: p, spec: sp, home: dir,
	}, nil
}

// Restart starts the server again after Stop, on the same address and
// over the same data: a store that was down and came back. Clients keep
// their endpoint; until Restart, connections to it are refused.
func (s *S3Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	s.restarts++
	p, err := startOnce(s.spec, s.home, s.addr, 10+s.restarts)
	if err != nil {
		return fmt.Errorf("restarting versitygw on %s: %w", s.addr, err)
	}
	s.proc = p
	return nil
}

// Name returns "versitygw".
func (s *S3Server) Name() string { return "versitygw" }

// URI returns s3://bucket/prefix?endpoint=…&use_path_style=true&region=….
func (s *S3Server) URI(bucket, prefix string) string {
	return fmt.Sprintf("s3://%s/%s?endpoint=%s&use_path_style=true&region=%s",
		bucket, strings.TrimPrefix(prefix, "/"), url.QueryEscape(s.Endpoint), s.Region)
}

// Env returns the AWS SDK settings for the server's credentials. The
// shared config and credentials files point at nothing and the EC2
// metadata service is off, so that a developer's own AWS profile can
// neither change nor slow down what the tests see.
func (s *S3Server) Env() []string {
	none := filepath.Join(os.TempDir(), "mldata-testservers-no-aws-config")
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_SESSION_TOKEN=",
		"AWS_PROFILE=",
		"AWS_REGION=" + s.Region,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + none,
		"AWS_SHARED_CREDENTIALS_FILE=" + none,
	}
}

// CreateBucket creates a bucket owned by the root account, with
// versitygw's own admin client (the admin API shares the S3 port).
func (s *S3Server) CreateBucket(ctx context.Context, name string) error {
	env := []string{"ADMIN_ACCESS_KEY_ID=" + s.AccessKey, "ADMIN_SECRET_ACCESS_KEY=" + s.SecretKey, "ADMIN_REGION=" + s.Region}
	if err := run(ctx, env, s.bin, "admin", "--endpoint-url", s.Endpoint, "create-bucket", "--owner", s.AccessKey, "--bucket", name); err != nil {
		return fmt.Errorf("create bucket %q: %w", name, err)
	}
	return nil
}

// S3Request is one line of the access log.
type S3Request struct {
	// Operation is versitygw's name for the call, e.g. "s3_GetObject".
	Operation string
	Bucket    string
	// Key is the object key, "" for bucket calls.
	Key    string
	Status int
}

// Requests returns the requests the server has answered so far, in the
// order it logged them. versitygw writes a line before it sends the
// response, so a request that has returned is in the log.
func (s *S3Server) Requests() ([]S3Request, error) {
	data, err := os.ReadFile(s.AccessLog)
	if err != nil {
		return nil, err
	}
	var out []S3Request
	for _, line := range strings.Split(string(data), "\n") {
		// owner bucket [time zone] ip requester id operation key uri status …
		// (the byte and size columns are 0 for streamed GetObject bodies).
		f := strings.Fields(line)
		if len(f) < 11 || !strings.HasPrefix(f[2], "[") {
			continue // the "log starts" line, or a partial last line
		}
		r := S3Request{Operation: f[7], Bucket: f[1], Key: f[8]}
		if r.Key == "-" {
			r.Key = ""
		}
		if r.Status, err = strconv.Atoi(f[10]); err != nil {
			return nil, fmt.Errorf("access log line %q: status: %w", line, err)
		}
		out = append(out, r)
	}
	return out, nil
}
