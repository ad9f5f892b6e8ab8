package testservers

import (
	"errors"
	"os"
	"sync"
	"testing"
)

// Kind names one of the servers.
type Kind string

// The servers this package runs.
const (
	KindS3      Kind = "s3"
	KindAzurite Kind = "azurite"
	KindGCS     Kind = "gcs"
)

// Kinds lists every server, in a fixed order.
var Kinds = []Kind{KindS3, KindAzurite, KindGCS}

// Start starts a server of kind k in dir; the caller stops it.
func Start(k Kind, dir string) (Server, error) {
	switch k {
	case KindS3:
		return StartS3(dir)
	case KindAzurite:
		return StartAzurite(dir)
	case KindGCS:
		return StartFakeGCS(dir)
	}
	return nil, errors.New("testservers: unknown kind " + string(k))
}

// shared holds the servers that Shared started, one per kind per process.
var shared = struct {
	sync.Mutex
	servers map[Kind]Server
	errs    map[Kind]error
	dirs    []string
}{servers: map[Kind]Server{}, errs: map[Kind]error{}}

// Shared returns the process's server of kind k, starting it on first use,
// for test tables that run many small tests against every store: one
// server for all of them instead of one per test (Azurite takes seconds to
// start). Tests share it, so each must work in its own bucket or prefix.
// The package's TestMain must call StopShared after m.Run; should it not,
// the servers still die with the test process (on Linux).
//
// A server that failed to start is not retried: every later call skips or
// fails the same way.
func Shared(t testing.TB, k Kind) Server {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if s, ok := shared.servers[k]; ok {
		return s
	}
	err := shared.errs[k]
	if err == nil {
		var dir string
		dir, err = os.MkdirTemp("", "mldata-"+string(k)+"-")
		if err == nil {
			shared.dirs = append(shared.dirs, dir)
			var s Server
			if s, err = Start(k, dir); err == nil {
				shared.servers[k] = s
				return s
			}
		}
		shared.errs[k] = err
	}
	handleStartError(t, err)
	return nil
}

// StopShared stops the servers Shared started and removes their
// directories.
func StopShared() error {
	shared.Lock()
	defer shared.Unlock()
	var errs []error
	for k, s := range shared.servers {
		errs = append(errs, s.Stop())
		delete(shared.servers, k)
	}
	for _, d := range shared.dirs {
		errs = append(errs, os.RemoveAll(d))
	}
	shared.dirs = nil
	return errors.Join(errs...)
}
