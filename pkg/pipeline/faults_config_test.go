package pipeline

import (
	"time"

	"github.com/mldata-io/mldata/pkg/storage"
)

// quickRetries makes publish retries immediate, for tests that inject
// thousands of faults.
func quickRetries(cfg *Config) {
	cfg.storeRetry = storage.Retry{Attempts: 6, Delay: time.Microsecond, MaxDelay: time.Microsecond}
}
