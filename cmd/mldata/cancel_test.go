package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mldata-io/mldata/pkg/manifest"
)

// tarpit accepts connections on loopback and never answers, like a store
// that hangs. started is closed at the first connection.
func tarpit(t *testing.T) (addr string, started <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			once.Do(func() { close(ch) })
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String(), ch
}

// stalledFile makes a named pipe called name in a new folder that yields
// text and then nothing more, like a file on a mount that hangs: readers
// block in read(2), which no context can interrupt. started is closed once
// a reader has opened it and text has been written.
func stalledFile(t *testing.T, name, text string) (path string, started <-chan struct{}) {
	t.Helper()
	path = filepath.Join(t.TempDir(), name)
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	ch := make(chan struct{})
	var w *os.File
	var mu sync.Mutex
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0) // blocks until a reader opens it
		if err != nil {
			return
		}
		mu.Lock()
		w = f
		mu.Unlock()
		if _, err := f.WriteString(text); err == nil {
			close(ch)
		}
	}()
	t.Cleanup(func() {
		// Unblock the writer's open if no reader ever came, then close.
		if r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			defer r.Close()
		}
		mu.Lock()
		defer mu.Unlock()
		if w != nil {
			w.Close()
		}
	})
	return path, ch
}

// stopWith sends sig to the running command and waits for it to exit. It
// returns how long the exit took; the test fails only when the process is
// still alive after 10 s (it is then killed), so a loaded machine does not
// make it flaky, and the time is reported for people to read.
func stopWith(t *testing.T, cmd *exec.Cmd, sig syscall.Signal) (time.Duration, int) {
	t.Helper()
	done := make(chan error, 1)
	start := time.Now()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("still running 10s after %v", sig)
	}
	return time.Since(start), cmd.ProcessState.ExitCode()
}

// SIGTERM and SIGINT stop build, profile and drift promptly at any stage —
// while a store hangs on the listing, while a read hangs in the kernel, and
// in the middle of reading and writing a build — and the published build
// stays as it was.
func TestSignalStopsCommandsPromptly(t *testing.T) {
	src, out := publishedBigBuild(t)
	pointer := filepath.Join(out, manifest.PointerKey)
	before, err := os.ReadFile(pointer)
	if err != nil {
		t.Fatal(err)
	}
	unchanged := func(t *testing.T) {
		t.Helper()
		after, err := os.ReadFile(pointer)
		if err != nil || !bytes.Equal(after, before) {
			t.Fatalf("latest.json changed:\nbefore %s\nafter  %s (%v)", before, after, err)
		}
	}

	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		args func(t *testing.T) ([]string, <-chan struct{})
	}{
		{"build listing a hanging store", syscall.SIGTERM, func(t *testing.T) ([]string, <-chan struct{}) {
			addr, started := tarpit(t)
			uri := "s3://bkt/data/?endpoint=http://" + addr + "&use_path_style=true&region=us-east-1&anonymous=true"
			return []string{"build", "--source", uri, "--output", out, "--split-key", "id"}, started
		}},
		{"profile listing a hanging store", syscall.SIGINT, func(t *testing.T) ([]string, <-chan struct{}) {
			addr, started := tarpit(t)
			return []string{"profile", "s3://bkt/data/?endpoint=http://" + addr + "&use_path_style=true&region=us-east-1&anonymous=true"}, started
		}},
		{"drift listing a hanging store", syscall.SIGTERM, func(t *testing.T) ([]string, <-chan struct{}) {
			addr, started := tarpit(t)
			return []string{"drift", out, "s3://bkt/data/?endpoint=http://" + addr + "&use_path_style=true&region=us-east-1&anonymous=true"}, started
		}},
		// A read that hangs in the kernel cannot see the cancelled
		// context; the process still ends within stopGrace.
		{"profile reading a file that stops mid-way", syscall.SIGTERM, func(t *testing.T) ([]string, <-chan struct{}) {
			path, started := stalledFile(t, "hanging.csv", "id,v,name\n1,2.25,a\n")
			return []string{"profile", path}, started
		}},
		{"drift reading a file that stops mid-way", syscall.SIGINT, func(t *testing.T) ([]string, <-chan struct{}) {
			path, started := stalledFile(t, "hanging.csv", "id,v,name\n1,2.25,a\n")
			return []string{"drift", out, path}, started
		}},
		{"build writing parts", syscall.SIGTERM, func(t *testing.T) ([]string, <-chan struct{}) {
			started := make(chan struct{})
			go func() {
				defer close(started)
				deadline := time.Now().Add(20 * time.Second)
				for time.Now().Before(deadline) {
					if entries, _ := os.ReadDir(filepath.Join(out, "builds")); len(entries) > 1 {
						return
					}
					time.Sleep(2 * time.Millisecond)
				}
			}()
			return []string{"build", "--source", src, "--output", out, "--split-key", "id", "--full", "--chunk-rows", "1000", "--workers", "1"}, started
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args, started := tc.args(t)
			cmd := cliCommand(args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-started:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("the command never reached the stage to interrupt\n%s", stderr.String())
			}
			took, code := stopWith(t, cmd, tc.sig)
			t.Logf("%s: exited %v after %v with code %d: %s", tc.name, tc.sig, took.Round(time.Millisecond), code, strings.TrimSpace(stderr.String()))
			if code == exitOK {
				t.Fatalf("the command finished before the signal; make its input bigger")
			}
			if code != exitInterrupted {
				t.Errorf("exit code %d, want %d", code, exitInterrupted)
			}
			unchanged(t)
		})
	}
}
