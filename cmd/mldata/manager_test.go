package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mldata-io/mldata/internal/metrics"
)

// TestManagerHelp: the help names the metrics address and every series the
// operator exports, so that it cannot fall behind package metrics.
func TestManagerHelp(t *testing.T) {
	stdout, stderr, code := pdRun(t, "manager", "--help")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"--metrics-bind-address string", "(default \":8443\")", "--metrics-secure", "--allowed-schemes", "--allowed-endpoints", "--allowed-service-accounts", "--storage-timeout", "--max-list-objects", "--max-chunk-bytes", "default and ceiling of spec.limits.maxColumns", "--worker-scratch-size-limit", "/metrics", "--health-probe-bind-address", "--leader-elect",
		"--max-concurrent-reconciles int", "reconciles in parallel per kind (default 4)", "--reconcile-timeout duration", "(default 2m0s)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	for _, c := range metrics.Collectors {
		ch := make(chan *prometheus.Desc, 1)
		c.Describe(ch)
		m := fqName.FindStringSubmatch((<-ch).String())
		if m == nil {
			t.Fatal("no name in a metric's description")
		}
		if !strings.Contains(stdout, m[1]+"{") {
			t.Errorf("help lacks the series %s", m[1])
		}
	}
}

// TestManagerShardRangeBytes: --shard-range-bytes defaults to the engine's
// 256 MiB and refuses a size below one byte before anything starts.
func TestManagerShardRangeBytes(t *testing.T) {
	stdout, _, _ := pdRun(t, "manager", "--help")
	if !strings.Contains(stdout, "--shard-range-bytes int") || !strings.Contains(stdout, "(default 268435456)") {
		t.Errorf("help lacks --shard-range-bytes with its default:\n%s", stdout)
	}
	_, stderr, code := pdRun(t, "manager", "--worker-image", "mldata:test", "--shard-range-bytes", "0")
	if code != exitUsage || !strings.Contains(stderr, "--shard-range-bytes 0: give a size in bytes of at least 1") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}
