package storage

import (
	"fmt"
	"os"
	"testing"

	"github.com/mldata-io/mldata/internal/testservers"
)

// TestMain stops the storage servers that the store table started.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := testservers.StopShared(); err != nil {
		fmt.Fprintln(os.Stderr, "stop storage servers:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}
