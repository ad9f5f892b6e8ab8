package v1alpha1_test

import (
	"archive/zip"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/robfig/cron/v3"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The CRD's CEL rules check strings with RE2 patterns (CEL's matches). These
// tests take the patterns from the generated CRDs, so they test what is
// shipped, and compare them with independent references: the cron parser
// Kubernetes CronJobs use, apimachinery's DNS-1123 check, and Go's time
// zone database.

// celPattern returns the pattern of the first `self.matches('...')` rule of
// the schema at path.
func celPattern(t testing.TB, crd *apiextensionsv1.CustomResourceDefinition, path string) *regexp.Regexp {
	t.Helper()
	s := *crd.Spec.Versions[0].Schema.OpenAPIV3Schema
	for _, p := range strings.Split(path, ".") {
		s = s.Properties[p]
	}
	for _, v := range s.XValidations {
		if rest, ok := strings.CutPrefix(v.Rule, "self.matches('"); ok {
			pat, ok := strings.CutSuffix(rest, "')")
			if !ok {
				t.Fatalf("%s: rule %q", path, v.Rule)
			}
			return regexp.MustCompile(pat)
		}
	}
	t.Fatalf("%s: no matches() rule", path)
	return nil
}

func cronPattern(t testing.TB) *regexp.Regexp {
	t.Helper()
	crds := loadCRDs(t)
	re := celPattern(t, crds["driftchecks"], "spec.schedule")
	// Every kind must use the same rule.
	for _, plural := range []string{"datasetbuilds", "datasetprofiles"} {
		if other := celPattern(t, crds[plural], "spec.schedule"); other.String() != re.String() {
			t.Fatalf("%s schedule rule differs from driftchecks'", plural)
		}
	}
	return re
}

// cronKnownGaps are robfig/cron errors the pattern cannot see: ordering
// of range bounds and time zone names need more than a regular expression.
// The controller reports these as Stalled with reason InvalidSpec.
var cronKnownGaps = []string{"beyond end of range", "provided bad location"}

func TestCronPattern(t *testing.T) {
	re := cronPattern(t)
	cases := []struct {
		expr string
		ok   bool // the pattern accepts it
		// parses: robfig/cron, which CronJobs use, accepts it.
		parses bool
	}{
		{"*/5 * * * *", true, true},
		{"0 3 * * 1-5", true, true},
		{"0 6 * * *", true, true},
		{"CRON_TZ=Europe/Berlin 0 6 * * *", true, true},
		{"TZ=UTC 0 0 * * 0", true, true},
		{"@daily", true, true},
		{"@hourly", true, true},
		{"@every 1h30m", true, true},
		{"0 0 1 jan,jul *", true, true},
		{"15,45 8-18/2 ? * MON-FRI", true, true},
		{"0 0 31 12 6", true, true},
		{"5/15 * * * *", true, true},
		{"0  0  *  *  *", true, true},
		{"every day", false, false},
		{"60 * * * *", false, false},
		{"* * * *", false, false},
		{"* * * * * *", false, false}, // seconds field: not a CronJob schedule
		{"0 25 * * *", false, false},
		{"0 0 32 * *", false, false},
		{"0 0 0 * *", false, false},
		{"0 0 * 13 *", false, false},
		{"0 0 * * 7", false, false}, // robfig/cron has no 7 for Sunday
		{"*/0 * * * *", false, false},
		{"@weekly2", false, false},
		{"CRON_TZ= 0 * * * *", false, true}, // stricter than the parser, deliberately
		{"*/x * * * *", false, false},
		{" 0 * * * *", false, true}, // stricter than the parser, deliberately
		{"", false, false},
	}
	for _, tc := range cases {
		_, err := cron.ParseStandard(tc.expr)
		if got := re.MatchString(tc.expr); got != tc.ok {
			t.Errorf("pattern(%q) = %v, want %v", tc.expr, got, tc.ok)
		}
		// The table's claims about the reference parser hold.
		if (err == nil) != tc.parses {
			t.Errorf("cron.ParseStandard(%q) = %v, table says parses=%v", tc.expr, err, tc.parses)
		}
	}
}

// FuzzCronPattern: whatever the pattern accepts, the cron parser accepts
// too, but for the documented gaps. An expression that passes admission
// must not fail in the controller for a reason the pattern could check.
func FuzzCronPattern(f *testing.F) {
	re := cronPattern(f)
	for _, s := range []string{"*/5 * * * *", "0 3 * * 1-5", "CRON_TZ=UTC 0 6 * * *", "@every 2h",
		"15,45 8-18/2 ? * MON-FRI", "0 0 1 jan,jul *", "5-1 * * * *", "59 23 31 12 6"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !re.MatchString(s) {
			return
		}
		_, err := cron.ParseStandard(s)
		if err == nil {
			return
		}
		for _, gap := range cronKnownGaps {
			if strings.Contains(err.Error(), gap) {
				return
			}
		}
		t.Errorf("admission accepts %q but the cron parser says: %v", s, err)
	})
}

// TestObjectNamePattern compares the reference-name rule with apimachinery's
// DNS-1123 subdomain check, which the API server applies to names.
func TestObjectNamePattern(t *testing.T) {
	re := celPattern(t, loadCRDs(t)["driftchecks"], "spec.baseline.datasetBuildRef.name")
	for _, name := range []string{"churn", "churn-train", "a", "a.b-c.d", "0abc", "churn.", "-churn", "Churn", "churn_build",
		"a..b", "churn-", "x.y", strings.Repeat("a", 63), "a-" + strings.Repeat("b", 200)} {
		want := len(validation.IsDNS1123Subdomain(name)) == 0
		if got := re.MatchString(name); got != want {
			t.Errorf("pattern(%q) = %v, IsDNS1123Subdomain says %v", name, got, want)
		}
	}
}

// TestTimeZonePattern checks that every zone in Go's time zone database is
// accepted, so the pattern refuses only what cannot be a zone name.
func TestTimeZonePattern(t *testing.T) {
	re := celPattern(t, loadCRDs(t)["driftchecks"], "spec.timeZone")
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skipf("no Go installation to take the zone database from: %v", err)
	}
	zr, err := zip.OpenReader(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "time", "zoneinfo.zip"))
	if err != nil {
		t.Skipf("no zone database to compare with: %v", err)
	}
	defer zr.Close()
	n := 0
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		n++
		if !re.MatchString(f.Name) {
			t.Errorf("zone %q refused", f.Name)
		}
	}
	if n < 300 {
		t.Fatalf("only %d zones in the database", n)
	}
	for _, bad := range []string{"Europe Berlin", "/UTC", "Europe/", "Europe//Berlin", "UTC+1:00", ""} {
		if re.MatchString(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestURIPattern documents which URLs are buckets.
func TestURIPattern(t *testing.T) {
	re := celPattern(t, loadCRDs(t)["datasetbuilds"], "spec.output.uri")
	for uri, want := range map[string]bool{
		"s3://bucket/prefix/":                  true,
		"s3://bucket?region=eu-west-1":         true,
		"gs://bucket/data/part-0.parquet":      true,
		"azblob://container/prefix/":           true,
		"file:///data/out/":                    true,
		"mem://bucket/":                        false,
		"https://bucket.s3.amazonaws.com/x":    false,
		"/data/out":                            false,
		"s3://":                                false,
		"s3://bucket/with space":               false,
		"S3://bucket/":                         false,
		"s3://bucket/a?endpoint=http://h:9000": true,
	} {
		if got := re.MatchString(uri); got != want {
			t.Errorf("pattern(%q) = %v, want %v", uri, got, want)
		}
	}
}
