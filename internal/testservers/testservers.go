// Package testservers runs real object-storage servers on loopback for
// tests: versitygw for S3, Azurite for Azure Blob Storage and
// fake-gcs-server for Google Cloud Storage. Tests of the storage layer and
// the pipeline talk to them through gocloud.dev/blob exactly as they would
// talk to the cloud, so that listing metadata, conditional writes and
// multipart uploads are checked against real protocol implementations
// rather than against a fake that agrees with our own assumptions.
//
// The servers are built once by hack/storage/install.sh into
// <repo>/bin/storage. When one is missing, the helpers skip the test and
// name the command that installs it, except under CI (env CI set) or with
// MLDATA_REQUIRE_SERVERS=1, where a missing server fails the test: CI must
// never pass by skipping the very tests that need a real server.
//
// Each server gets a free 127.0.0.1 port and its own directory, is ready
// when it has logged that it listens and the port accepts connections, and
// is stopped by PID (SIGTERM, then SIGKILL). Its log is kept in its
// directory and printed when the test fails.
//
// How gocloud.dev/blob reaches each emulator:
//
//   - S3: the URI carries endpoint, use_path_style and region; the access
//     key and secret come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY,
//     read on every bucket open.
//   - Azure: the URI carries localemu=true, protocol=http and
//     domain=127.0.0.1:PORT (the service URL becomes
//     http://127.0.0.1:PORT/<account>); the shared key comes from
//     AZURE_STORAGE_ACCOUNT / AZURE_STORAGE_KEY with Azurite's well-known
//     development account. azureblob reads those two variables once per
//     process, at the first azblob:// open, so they must be set before it.
//     Every Azurite uses the same account, so one setting serves them all.
//   - GCS: STORAGE_EMULATOR_HOST=127.0.0.1:PORT, read on every bucket open,
//     makes gcsblob use an unauthenticated client against that host; the
//     URI is a plain gs://bucket/prefix. Being process-wide, it allows one
//     fake-gcs-server per test process at a time.
//
// Env returns those variables; SetEnv sets them for one test.
package testservers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is what every emulator offers a test.
type Server interface {
	// Name is the server's program name, e.g. "versitygw".
	Name() string
	// URI returns a gocloud URL for prefix (no leading "/") in bucket.
	URI(bucket, prefix string) string
	// Env returns the NAME=value settings that gocloud needs to reach the
	// server with its credentials.
	Env() []string
	// CreateBucket creates a bucket (an Azure container).
	CreateBucket(ctx context.Context, name string) error
	// Stop stops the server by PID; later calls do nothing.
	Stop() error
	// Log returns the end of the server's output.
	Log() string
}

// SetEnv sets s's environment for the duration of t (t.Setenv, so not in
// parallel tests).
func SetEnv(t testing.TB, s Server) {
	t.Helper()
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// NotInstalledError says that a server's program is missing and how to
// install it.
type NotInstalledError struct {
	Program string
	Path    string
}

func (e *NotInstalledError) Error() string {
	return fmt.Sprintf("%s is not installed at %s; run hack/storage/install.sh (or make deps) to build the test storage servers", e.Program, e.Path)
}

// Required reports whether a missing server must fail a test instead of
// skipping it: under CI, or when MLDATA_REQUIRE_SERVERS=1.
func Required() bool {
	if v := os.Getenv("MLDATA_REQUIRE_SERVERS"); v == "1" || strings.EqualFold(v, "true") {
		return true
	}
	ci := os.Getenv("CI")
	return ci != "" && ci != "0" && !strings.EqualFold(ci, "false")
}

// handleStartError ends t for a server that did not start: a skip for a
// server that is not installed (unless Required), a failure otherwise.
func handleStartError(t testing.TB, err error) {
	t.Helper()
	var ni *NotInstalledError
	if errors.As(err, &ni) && !Required() {
		t.Skip(err.Error())
	}
	t.Fatal(err)
}

// attach ties a started server to t: stopped when t ends, its log printed
// if t failed.
func attach(t testing.TB, s Server) {
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop %s: %v", s.Name(), err)
		}
		if t.Failed() {
			t.Logf("%s log (end):\n%s", s.Name(), s.Log())
		}
	})
}

// RepoRoot returns the directory of the go.mod that encloses the working
// directory (a test's package directory), walking up.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// BinDir returns <repo>/bin/storage, where hack/storage/install.sh puts the
// servers.
func BinDir() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "bin", "storage"), nil
}

// program returns the path of an installed program under BinDir.
func program(name, rel string) (string, error) {
	dir, err := BinDir()
	if err != nil {
		return "", fmt.Errorf("find %s: %w", name, err)
	}
	p := filepath.Join(dir, filepath.FromSlash(rel))
	st, err := os.Stat(p)
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return "", &NotInstalledError{Program: name, Path: p}
	}
	return p, nil
}

// freeAddr returns a loopback address with a port that was free a moment
// ago. Another process may take it before the server binds it; start
// retries with a new port when the server exits early.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

func portOf(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// proc is one running server process.
type proc struct {
	name    string
	addr    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	waitErr error
	stopped bool
}

// spec says how to run a server on addr: its command line and environment,
// and the text its log shows once it listens (nil: the port alone tells).
type spec struct {
	name  string
	bin   string
	args  func(addr string) []string
	env   []string // added to os.Environ()
	ready func(addr string) string
}

// startTimeout bounds how long a server may take to listen. Azurite (node)
// needs a few seconds on a loaded two-core machine.
const startTimeout = 60 * time.Second

// start runs sp in dir and waits until it is ready, retrying with another
// port (up to three times) if the process exits before it listens, which
// is what a port taken in the meantime looks like.
func start(sp spec, dir string) (*proc, error) {
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		addr, err := freeAddr()
		if err != nil {
			return nil, fmt.Errorf("%s: find a free port: %w", sp.name, err)
		}
		p, err := startOnce(sp, dir, addr, attempt)
		if err == nil {
			return p, nil
		}
		lastErr = err
		if !errors.Is(err, errExited) {
			break
		}
	}
	return nil, lastErr
}

var errExited = errors.New("exited before it was ready")

func startOnce(sp spec, dir, addr string, attempt int) (*proc, error) {
	logPath := filepath.Join(dir, fmt.Sprintf("%s-%d.log", sp.name, attempt))
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sp.name, err)
	}
	cmd := exec.Command(sp.bin, sp.args(addr)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), sp.env...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("%s: start %s: %w", sp.name, sp.bin, err)
	}
	p := &proc{name: sp.name, addr: addr, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()

	var want string
	if sp.ready != nil {
		want = sp.ready(addr)
	}
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s on %s %w (%v); log:\n%s", sp.name, addr, errExited, p.waitErr, p.Log())
		default:
		}
		// The log line proves that our process bound the port (not
		// another that took it meanwhile); the dial, that it accepts.
		if data, _ := os.ReadFile(logPath); want == "" || bytes.Contains(data, []byte(want)) {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				if want != "" {
					return p, nil
				}
				// Without a log line to go by, a server that lost the port
				// to another process shows itself by exiting right away.
				select {
				case <-p.done:
					return nil, fmt.Errorf("%s on %s %w (%v); log:\n%s", sp.name, addr, errExited, p.waitErr, p.Log())
				case <-time.After(200 * time.Millisecond):
					return p, nil
				}
			}
		}
		if time.Now().After(deadline) {
			_ = p.Stop()
			return nil, fmt.Errorf("%s on %s not ready after %s (waiting for %q in its log); log:\n%s", sp.name, addr, startTimeout, want, p.Log())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Stop sends SIGTERM to the process, and SIGKILL if it has not exited
// after five seconds. A server stopped this way is expected to end with
// that signal; only a process that cannot be signalled is an error.
func (p *proc) Stop() error {
	if p == nil || p.stopped {
		return nil
	}
	p.stopped = true
	select {
	case <-p.done:
		return nil // already exited
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s (pid %d): %w", p.name, p.cmd.Process.Pid, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(5 * time.Second):
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s (pid %d): %w", p.name, p.cmd.Process.Pid, err)
	}
	<-p.done
	return nil
}

// PID returns the server's process id.
func (p *proc) PID() int { return p.cmd.Process.Pid }

// Log returns the last 8 KiB of the server's output.
func (p *proc) Log() string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	const max = 8 << 10
	if len(data) > max {
		data = append([]byte("…"), data[len(data)-max:]...)
	}
	return string(data)
}

// run executes a helper command (a server's admin client) and returns its
// combined output in the error.
func run(ctx context.Context, env []string, bin string, args ...string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}
