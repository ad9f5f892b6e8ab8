package v1alpha1_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/mldata-io/mldata/api/v1alpha1"
)

// Minimal valid manifests; each admission case patches one of them into a
// mistake a user makes.
var bases = map[string]string{
	"build": `
apiVersion: mldata.io/v1alpha1
kind: DatasetBuild
spec:
  source: {uri: "s3://raw/customers/"}
  output: {uri: "s3://ml/churn/"}
`,
	"profile": `
apiVersion: mldata.io/v1alpha1
kind: DatasetProfile
spec:
  source: {datasetBuildRef: {name: churn, split: train}}
  output: {uri: "s3://ml/profiles/churn-train/"}
`,
	"drift": `
apiVersion: mldata.io/v1alpha1
kind: DriftCheck
spec:
  baseline: {datasetBuildRef: {name: churn, split: train, buildID: "20261126T233000123Z-1a2b3c"}}
  current: {uri: "s3://raw/customers-new/", format: csv}
  output: {uri: "s3://ml/drift/churn/"}
  schedule: "0 * * * *"
`,
}

// manifest returns base patched with a JSON merge patch (RFC 7386) given as
// YAML: maps merge, everything else replaces, null deletes.
func manifest(t *testing.T, base, patch, name string) *unstructured.Unstructured {
	t.Helper()
	var doc, p map[string]any
	if err := yaml.Unmarshal([]byte(bases[base]), &doc); err != nil {
		t.Fatalf("base %s: %v", base, err)
	}
	if err := yaml.Unmarshal([]byte(patch), &p); err != nil {
		t.Fatalf("patch: %v", err)
	}
	doc = mergePatch(doc, p)
	doc["metadata"] = map[string]any{"name": name, "namespace": "default"}
	return &unstructured.Unstructured{Object: doc}
}

func mergePatch(doc, patch map[string]any) map[string]any {
	if doc == nil {
		doc = map[string]any{}
	}
	for k, v := range patch {
		switch v := v.(type) {
		case nil:
			delete(doc, k)
		case map[string]any:
			sub, _ := doc[k].(map[string]any)
			doc[k] = mergePatch(sub, v)
		default:
			doc[k] = v
		}
	}
	return doc
}

// wantInvalid fails t unless err is the API server's Invalid error with a
// cause on field whose message contains msg.
func wantInvalid(t *testing.T, err error, field, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want rejected at %s with %q", field, msg)
	}
	t.Log(err)
	var se *apierrors.StatusError
	if !errors.As(err, &se) || se.ErrStatus.Reason != metav1.StatusReasonInvalid || se.ErrStatus.Details == nil {
		t.Fatalf("got %v; want an Invalid error at %s", err, field)
	}
	for _, c := range se.ErrStatus.Details.Causes {
		if c.Field == field && strings.Contains(c.Message, msg) {
			// What kubectl prints must name the field too.
			if !strings.Contains(err.Error(), field+": ") {
				t.Errorf("error text %q does not name %s", err, field)
			}
			return
		}
	}
	t.Errorf("no cause at %s containing %q; got:\n%s", field, msg, err)
}

var nameSeq int

func uniqueName(prefix string) string {
	nameSeq++
	return fmt.Sprintf("%s-%d", prefix, nameSeq)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestAdmissionRejectsBadManifests(t *testing.T) {
	needEnv(t)
	cases := []struct {
		name, base, patch string
		field, msg        string
	}{
		// Splits.
		{"ratios sum below 1", "build",
			`spec: {split: {ratios: [{name: train, ratio: 0.7}, {name: test, ratio: 0.2}]}}`,
			"spec.split.ratios", "split.ratios must sum to 1"},
		{"ratios sum above 1", "build",
			`spec: {split: {ratios: [{name: train, ratio: 0.8}, {name: validation, ratio: 0.2}, {name: test, ratio: 0.2}]}}`,
			"spec.split.ratios", "split.ratios must sum to 1"},
		{"zero ratio", "build",
			`spec: {split: {ratios: [{name: train, ratio: 1}, {name: test, ratio: 0}]}}`,
			"spec.split.ratios[1].ratio", "should be greater than 0"},
		{"ratio above 1", "build",
			`spec: {split: {ratios: [{name: train, ratio: 1.5}]}}`,
			"spec.split.ratios[0].ratio", "should be less than or equal to 1"},
		{"split given twice", "build",
			`spec: {split: {ratios: [{name: train, ratio: 0.5}, {name: train, ratio: 0.5}]}}`,
			"spec.split.ratios[1]", "Duplicate value"},
		{"split name with a slash", "build",
			`spec: {split: {ratios: [{name: "train/2024", ratio: 1}]}}`,
			"spec.split.ratios[0].name", "split names use letters, digits"},
		{"no splits", "build",
			`spec: {split: {ratios: []}}`,
			"spec.split.ratios", "should have at least 1 items"},
		{"negative seed", "build",
			`spec: {split: {ratios: [{name: all, ratio: 1}], seed: -1}}`,
			"spec.split.seed", "should be greater than or equal to 0"},
		// Source and output.
		{"unknown source format", "build",
			`spec: {source: {format: xlsx}}`,
			"spec.source.format", `Unsupported value: "xlsx"`},
		{"http source", "build",
			`spec: {source: {uri: "https://example.com/data.csv"}}`,
			"spec.source.uri", "must be a bucket URL"},
		{"memory bucket output", "build",
			`spec: {output: {uri: "mem://churn/"}}`,
			"spec.output.uri", "mem:// cannot carry data between Jobs"},
		{"snappy csv output", "build",
			`spec: {output: {format: csv, compression: snappy}}`,
			"spec.output.compression", "snappy is a parquet codec"},
		{"unknown output compression", "build",
			`spec: {output: {compression: lz4}}`,
			"spec.output.compression", `Unsupported value: "lz4"`},
		{"csv options for parquet", "build",
			`spec: {source: {format: parquet, csv: {delimiter: ";"}}}`,
			"spec.source.csv", "csv options apply only to format csv or auto"},
		{"gzip parquet source", "build",
			`spec: {source: {format: parquet, compression: gzip}}`,
			"spec.source.compression", "parquet files carry their own compression"},
		{"two-character delimiter", "build",
			`spec: {source: {csv: {delimiter: "ab"}}}`,
			"spec.source.csv.delimiter", "may not be more than 1"},
		// Include patterns are bounded as the matcher bounds them
		// (storage.MaxPatternBytes), so matching time stays small.
		{"include pattern over 256 bytes", "build",
			`spec: {source: {include: ["**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/a.csv"]}}`,
			"spec.source.include[0]", "may not be more than 256"},
		{"more than 64 include patterns", "build",
			`spec: {source: {include: ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10", "p11", "p12", "p13", "p14", "p15", "p16", "p17", "p18", "p19", "p20", "p21", "p22", "p23", "p24", "p25", "p26", "p27", "p28", "p29", "p30", "p31", "p32", "p33", "p34", "p35", "p36", "p37", "p38", "p39", "p40", "p41", "p42", "p43", "p44", "p45", "p46", "p47", "p48", "p49", "p50", "p51", "p52", "p53", "p54", "p55", "p56", "p57", "p58", "p59", "p60", "p61", "p62", "p63", "p64"]}}`,
			"spec.source.include", "must have at most 64 items"},
		{"drift include pattern over 256 bytes", "drift",
			`spec: {current: {include: ["**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/a.csv"]}}`,
			"spec.current.include[0]", "may not be more than 256"},
		{"quote delimiter", "build",
			`spec: {source: {csv: {delimiter: "\""}}}`,
			"spec.source.csv.delimiter", "csv.delimiter must be one ASCII character"},
		{"secret name not a DNS name", "build",
			`spec: {source: {secretRef: {name: "S3_Creds"}}}`,
			"spec.source.secretRef.name", "must be a lower-case DNS-1123 name"},
		{"no output", "build",
			`spec: {output: null}`,
			"spec.output", "Required value"},
		// Policies and validation rules.
		{"unknown schema policy", "build",
			`spec: {schemaPolicy: Loose}`,
			"spec.schemaPolicy", `Unsupported value: "Loose"`},
		{"unknown onFailure", "build",
			`spec: {validation: {onFailure: Ignore}}`,
			"spec.validation.onFailure", `Unsupported value: "Ignore"`},
		{"unknown rule type", "build",
			`spec: {validation: {rules: [{type: positive, column: nps}]}}`,
			"spec.validation.rules[0].type", `Unsupported value: "positive"`},
		{"min rule without min", "build",
			`spec: {validation: {rules: [{type: notNull, column: id}, {type: min, column: tenure_months}]}}`,
			"spec.validation.rules[1].min", "a min rule needs min"},
		{"notNull rule without column", "build",
			`spec: {validation: {rules: [{type: notNull}]}}`,
			"spec.validation.rules[0].column", "a notNull rule needs column"},
		{"type rule without dtype", "build",
			`spec: {validation: {rules: [{type: type, column: nps}]}}`,
			"spec.validation.rules[0].dtype", "a type rule needs dtype"},
		{"empty allowedValues", "build",
			`spec: {validation: {rules: [{type: allowedValues, column: plan, values: []}]}}`,
			"spec.validation.rules[0].values", "an allowedValues rule needs values"},
		{"null fraction above 1", "build",
			`spec: {validation: {rules: [{type: maxNullFraction, column: nps, fraction: 1.5}]}}`,
			"spec.validation.rules[0].fraction", "should be less than or equal to 1"},
		{"minRows without rows", "build",
			`spec: {validation: {rules: [{type: minRows}]}}`,
			"spec.validation.rules[0].rows", "a minRows rule needs rows"},
		// Scale and timing.
		{"zero shards", "build",
			`spec: {parallelism: {shards: 0}}`,
			"spec.parallelism.shards", "should be greater than or equal to 1"},
		{"too many shards", "build",
			`spec: {parallelism: {shards: 1025}}`,
			"spec.parallelism.shards", "should be less than or equal to 1024"},
		{"zero maxParallel", "build",
			`spec: {parallelism: {shards: 4, maxParallel: 0}}`,
			"spec.parallelism.maxParallel", "should be greater than or equal to 1"},
		{"interval too short", "build",
			`spec: {intervalSeconds: 10}`,
			"spec.intervalSeconds", "should be greater than or equal to 60"},
		{"interval and schedule", "build",
			`spec: {intervalSeconds: 3600, schedule: "@hourly"}`,
			"spec", "set either intervalSeconds or schedule, not both"},
		{"schedule in words", "build",
			`spec: {schedule: "every day at 3"}`,
			"spec.schedule", "must be a cron expression"},
		{"negative history limit", "build",
			`spec: {historyLimit: -1}`,
			"spec.historyLimit", "should be greater than or equal to 0"},
		// DatasetProfile.
		{"profile of uri and build", "profile",
			`spec: {source: {uri: "s3://raw/x/"}}`,
			"spec.source", "set exactly one of uri or datasetBuildRef"},
		{"profile of nothing", "profile",
			`spec: {source: {datasetBuildRef: null}}`,
			"spec.source", "set exactly one of uri or datasetBuildRef"},
		{"profile format with a build", "profile",
			`spec: {source: {format: csv}}`,
			"spec.source", "format, include and split apply to uri only"},
		{"one histogram bin", "profile",
			`spec: {options: {histogramBins: 1}}`,
			"spec.options.histogramBins", "should be greater than or equal to 2"},
		{"bad memory bound", "profile",
			`spec: {options: {maxMemory: "2 gigs"}}`,
			"spec.options.maxMemory", "should match"},
		{"profile ref without name", "profile",
			`spec: {source: {datasetBuildRef: {name: null}}}`,
			"spec.source.datasetBuildRef.name", "Required value"},
		// DriftCheck.
		{"one bin", "drift",
			`spec: {metrics: {bins: 1}}`,
			"spec.metrics.bins", "should be greater than or equal to 2"},
		{"negative bins", "drift",
			`spec: {metrics: {bins: -3}}`,
			"spec.metrics.bins", "should be greater than or equal to 2"},
		{"unknown binning", "drift",
			`spec: {metrics: {binning: log}}`,
			"spec.metrics.binning", `Unsupported value: "log"`},
		{"zero psi threshold", "drift",
			`spec: {metrics: {thresholds: {psi: 0}}}`,
			"spec.metrics.thresholds.psi", "should be greater than 0"},
		{"negative psi threshold", "drift",
			`spec: {metrics: {thresholds: {psi: -0.1}}}`,
			"spec.metrics.thresholds.psi", "should be greater than 0"},
		{"ks p-value of 1", "drift",
			`spec: {metrics: {thresholds: {ksPValue: 1}}}`,
			"spec.metrics.thresholds.ksPValue", "should be less than 1"},
		{"zero epsilon", "drift",
			`spec: {metrics: {epsilon: 0}}`,
			"spec.metrics.epsilon", "should be greater than 0"},
		{"minute 61", "drift",
			`spec: {schedule: "61 * * * *"}`,
			"spec.schedule", "must be a cron expression"},
		{"four cron fields", "drift",
			`spec: {schedule: "0 * * *"}`,
			"spec.schedule", "must be a cron expression"},
		{"time zone twice", "drift",
			`spec: {schedule: "CRON_TZ=Europe/Berlin 0 6 * * *", timeZone: Europe/Berlin}`,
			"spec.timeZone", "give the time zone once"},
		{"time zone without schedule", "drift",
			`spec: {schedule: null, timeZone: UTC}`,
			"spec.timeZone", "timeZone applies to schedule"},
		{"time zone with a space", "drift",
			`spec: {timeZone: "Europe Berlin"}`,
			"spec.timeZone", "must be an IANA time zone name"},
		{"profile as current", "drift",
			`spec: {current: {uri: null, format: null, datasetProfileRef: {name: churn-train}}}`,
			"spec.current", "a profile can only be the baseline"},
		{"baseline with uri and build", "drift",
			`spec: {baseline: {uri: "s3://raw/old/"}}`,
			"spec.baseline", "set exactly one of uri, datasetBuildRef or datasetProfileRef"},
		{"column included and excluded", "drift",
			`spec: {columns: {include: [nps, plan], exclude: [plan]}}`,
			"spec.columns", "a column is both included and excluded"},
		{"unknown concurrency policy", "drift",
			`spec: {concurrencyPolicy: Sometimes}`,
			"spec.concurrencyPolicy", `Unsupported value: "Sometimes"`},
		{"deadline without schedule", "drift",
			`spec: {schedule: null, startingDeadlineSeconds: 60}`,
			"spec.startingDeadlineSeconds", "startingDeadlineSeconds applies to schedule"},
		{"upper-case reference", "drift",
			`spec: {baseline: {datasetBuildRef: {name: Churn_Build}}}`,
			"spec.baseline.datasetBuildRef.name", "must be a lower-case DNS-1123 name"},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		if seen[tc.name] {
			t.Fatalf("case %q twice", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			obj := manifest(t, tc.base, tc.patch, uniqueName("bad"))
			err := k8s.Create(ctx(t), obj)
			wantInvalid(t, err, tc.field, tc.msg)
		})
	}
}

// TestAdmissionAcceptsGoodManifests guards the bad cases — each must fail
// because of its patch, not because its base is invalid — and checks that
// the rules do not refuse what users legitimately write.
func TestAdmissionAcceptsGoodManifests(t *testing.T) {
	needEnv(t)
	cases := []struct{ name, base, patch string }{
		{"build base", "build", `{}`},
		{"profile base", "profile", `{}`},
		{"drift base", "drift", `{}`},
		{"ratios summing to 1 in float64 only approximately", "build",
			`spec: {split: {ratios: [{name: a, ratio: 0.7}, {name: b, ratio: 0.2}, {name: c, ratio: 0.1}]}}`},
		{"integer ratio", "build", `spec: {split: {ratios: [{name: all, ratio: 1}]}}`},
		{"tab delimiter", "build", `spec: {source: {format: csv, csv: {delimiter: "\t"}}}`},
		{"gzip csv output", "build", `spec: {output: {format: csv, compression: gzip}}`},
		{"file URIs", "build", `spec: {source: {uri: "file:///data/raw/"}, output: {uri: "file:///data/out/"}}`},
		{"every rule", "build", `spec: {validation: {onFailure: Warn, rules: [
			{type: required, column: id}, {type: type, column: nps, dtype: numeric},
			{type: notNull, column: id}, {type: unique, column: id},
			{type: min, column: nps, min: 0}, {type: max, column: nps, max: 10},
			{type: allowedValues, column: plan, values: [basic, premium]},
			{type: maxNullFraction, column: nps, fraction: 0.2}, {type: minRows, rows: 1}]}}`},
		{"sharded build", "build", `spec: {parallelism: {shards: 1024, maxParallel: 16}}`},
		{"macro schedule", "build", `spec: {schedule: "@daily", timeZone: Europe/Berlin}`},
		{"profile of a uri", "profile",
			`spec: {source: {datasetBuildRef: null, uri: "gs://raw/x/", format: parquet, split: train}, schedule: "CRON_TZ=UTC 30 2 * * MON-FRI"}`},
		{"profile baseline", "drift",
			`spec: {baseline: {datasetBuildRef: null, datasetProfileRef: {name: churn-train}}}`},
		{"once, no schedule", "drift", `spec: {schedule: null}`},
		{"all thresholds", "drift",
			`spec: {metrics: {binning: quantile, bins: 20, epsilon: 0.0001, thresholds: {psi: 0.2, ksPValue: 0.05, jsDistance: 0.1, chi2PValue: 0.01}}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := manifest(t, tc.base, tc.patch, uniqueName("good"))
			if err := k8s.Create(ctx(t), obj); err != nil {
				t.Fatalf("rejected: %v", err)
			}
		})
	}
}

func TestAdmissionImmutableFields(t *testing.T) {
	needEnv(t)
	cases := []struct {
		name, patch string
		field, msg  string // "" field: the update must be accepted
	}{
		{"output uri", `spec: {output: {uri: "s3://ml/elsewhere/"}}`,
			"spec.output.uri", "output.uri is immutable"},
		{"split seed", `spec: {split: {seed: 7}}`,
			"spec.split", "split is immutable"},
		{"split ratios", `spec: {split: {ratios: [{name: train, ratio: 0.9}, {name: test, ratio: 0.1}]}}`,
			"spec.split", "split is immutable"},
		// Positive controls: the rules must not freeze the rest.
		{"output format", `spec: {output: {format: csv}}`, "", ""},
		{"source uri", `spec: {source: {uri: "s3://raw/customers-v2/"}}`, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := uniqueName("immutable")
			orig := manifest(t, "build", `spec: {split: {ratios: [{name: train, ratio: 0.8}, {name: test, ratio: 0.2}], seed: 1}}`, name)
			if err := k8s.Create(ctx(t), orig); err != nil {
				t.Fatal(err)
			}
			upd := manifest(t, "build", `spec: {split: {ratios: [{name: train, ratio: 0.8}, {name: test, ratio: 0.2}], seed: 1}}`, name)
			upd.Object = mergePatch(upd.Object, mustYAML(t, tc.patch))
			upd.SetResourceVersion(orig.GetResourceVersion())
			err := k8s.Update(ctx(t), upd)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("update rejected: %v", err)
				}
				return
			}
			wantInvalid(t, err, tc.field, tc.msg)
		})
	}
}

func mustYAML(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDefaults checks what the API server fills in for a minimal manifest:
// the values the worker and `mldata run` rely on.
func TestDefaults(t *testing.T) {
	needEnv(t)
	c := ctx(t)
	t.Run("DatasetBuild", func(t *testing.T) {
		obj := manifest(t, "build", `{}`, uniqueName("defaults"))
		if err := k8s.Create(c, obj); err != nil {
			t.Fatal(err)
		}
		var got v1alpha1.DatasetBuild
		if err := k8s.Get(c, client.ObjectKeyFromObject(obj), &got); err != nil {
			t.Fatal(err)
		}
		want := v1alpha1.DatasetBuildSpec{
			Source: v1alpha1.SourceSpec{
				URI: "s3://raw/customers/", Format: v1alpha1.SourceFormatAuto,
				Compression: v1alpha1.InputCompressionAuto, InferTimestamps: ptr.To(true),
			},
			Output: v1alpha1.OutputSpec{URI: "s3://ml/churn/", Format: v1alpha1.OutputFormatParquet},
			Split: &v1alpha1.SplitSpec{
				Ratios: []v1alpha1.SplitRatio{{Name: "train", Ratio: 0.8}, {Name: "validation", Ratio: 0.1}, {Name: "test", Ratio: 0.1}},
				Seed:   ptr.To[int64](42),
			},
			SchemaPolicy:        v1alpha1.SchemaPolicyAllowAdditive,
			Incremental:         ptr.To(true),
			HistoryLimit:        ptr.To[int32](10),
			HistoryGraceSeconds: ptr.To[int64](3600),
			RunPolicy:           v1alpha1.RunPolicy{ActiveDeadlineSeconds: ptr.To[int64](21600), Retry: &v1alpha1.RetrySpec{MaxAttempts: ptr.To[int32](5)}},
		}
		if d := cmp.Diff(want, got.Spec); d != "" {
			t.Errorf("spec after defaulting (-want +got):\n%s", d)
		}
	})
	t.Run("DatasetProfile", func(t *testing.T) {
		obj := manifest(t, "profile", `{}`, uniqueName("defaults"))
		if err := k8s.Create(c, obj); err != nil {
			t.Fatal(err)
		}
		var got v1alpha1.DatasetProfile
		if err := k8s.Get(c, client.ObjectKeyFromObject(obj), &got); err != nil {
			t.Fatal(err)
		}
		want := v1alpha1.DatasetProfileSpec{
			Source:  v1alpha1.ProfileSource{DatasetBuildRef: &v1alpha1.DatasetBuildRef{Name: "churn", Split: "train"}},
			Output:  v1alpha1.ReportOutputSpec{URI: "s3://ml/profiles/churn-train/", HTML: ptr.To(true)},
			Options: &v1alpha1.ProfileOptions{TopK: ptr.To[int32](20), HistogramBins: ptr.To[int32](10)},
			HistoryLimits: v1alpha1.HistoryLimits{
				SuccessfulRunsHistoryLimit: ptr.To[int32](3), FailedRunsHistoryLimit: ptr.To[int32](1),
			},
			RunPolicy: v1alpha1.RunPolicy{ActiveDeadlineSeconds: ptr.To[int64](21600), Retry: &v1alpha1.RetrySpec{MaxAttempts: ptr.To[int32](5)}},
		}
		if d := cmp.Diff(want, got.Spec); d != "" {
			t.Errorf("spec after defaulting (-want +got):\n%s", d)
		}
	})
	t.Run("DriftCheck", func(t *testing.T) {
		obj := manifest(t, "drift", `{}`, uniqueName("defaults"))
		if err := k8s.Create(c, obj); err != nil {
			t.Fatal(err)
		}
		var got v1alpha1.DriftCheck
		if err := k8s.Get(c, client.ObjectKeyFromObject(obj), &got); err != nil {
			t.Fatal(err)
		}
		want := v1alpha1.DriftCheckSpec{
			Baseline: v1alpha1.DriftInput{DatasetBuildRef: &v1alpha1.DatasetBuildRef{
				Name: "churn", Split: "train", BuildID: "20261126T233000123Z-1a2b3c"}},
			Current: v1alpha1.DriftInput{URI: "s3://raw/customers-new/", Format: v1alpha1.SourceFormatCSV},
			Metrics: &v1alpha1.DriftMetrics{
				Bins: ptr.To[int32](10), Binning: v1alpha1.BinningUniform, Epsilon: ptr.To(0.001),
				Thresholds: &v1alpha1.DriftThresholds{PSI: ptr.To(0.1)},
			},
			Output:            v1alpha1.ReportOutputSpec{URI: "s3://ml/drift/churn/", HTML: ptr.To(true)},
			Schedule:          "0 * * * *",
			ConcurrencyPolicy: v1alpha1.ConcurrencyForbid,
			HistoryLimits: v1alpha1.HistoryLimits{
				SuccessfulRunsHistoryLimit: ptr.To[int32](3), FailedRunsHistoryLimit: ptr.To[int32](1),
			},
			RunPolicy: v1alpha1.RunPolicy{ActiveDeadlineSeconds: ptr.To[int64](21600), Retry: &v1alpha1.RetrySpec{MaxAttempts: ptr.To[int32](5)}},
		}
		if d := cmp.Diff(want, got.Spec); d != "" {
			t.Errorf("spec after defaulting (-want +got):\n%s", d)
		}
	})
}

// TestServerVersion checks that the control plane reports the Kubernetes
// release it was built from (hack/controlplane sets the version ldflags);
// a source build without them reports v0.0.0-master.
func TestServerVersion(t *testing.T) {
	needEnv(t)
	dc, err := discovery.NewDiscoveryClientForConfig(testEnv.Config)
	if err != nil {
		t.Fatal(err)
	}
	v, err := dc.ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.Major != "1" || v.Minor != "37" || !strings.HasPrefix(v.GitVersion, "v1.37.") {
		t.Errorf("server version %+v, want v1.37.x (the release matching client-go v0.37)", v)
	}
}

// TestStatus writes status through the status subresource as the
// controller will, and checks the bounds that keep it small.
func TestStatus(t *testing.T) {
	needEnv(t)
	c := ctx(t)
	obj := manifest(t, "build", `{}`, uniqueName("status"))
	if err := k8s.Create(c, obj); err != nil {
		t.Fatal(err)
	}
	var b v1alpha1.DatasetBuild
	if err := k8s.Get(c, client.ObjectKeyFromObject(obj), &b); err != nil {
		t.Fatal(err)
	}
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	b.Status = v1alpha1.DatasetBuildStatus{
		ObservedGeneration: b.Generation,
		Conditions: []metav1.Condition{{
			Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonSucceeded,
			Message: "published 1000 rows", LastTransitionTime: now, ObservedGeneration: b.Generation,
		}},
		BuildID:     "20261126T233000123Z-1a2b3c",
		TotalRows:   1000,
		Rows:        []v1alpha1.SplitRows{{Name: "train", Rows: 797}, {Name: "validation", Rows: 102}, {Name: "test", Rows: 101}},
		Schema:      &v1alpha1.SchemaStatus{Version: 1, Fingerprint: strings.Repeat("ab", 32), ColumnCount: 1, Columns: []v1alpha1.ColumnSchema{{Name: "id", Type: "int64"}}},
		SourceCount: 2,
		Artifact: &v1alpha1.ArtifactStatus{BuildID: "20261126T233000123Z-1a2b3c", Digest: "sha256:" + strings.Repeat("0f", 32),
			ManifestURI: "s3://ml/datasets/churn/builds/20261126T233000123Z-1a2b3c/manifest.json"},
	}
	want := b.Status.DeepCopy()
	if err := k8s.Status().Update(c, &b); err != nil {
		t.Fatalf("status update: %v", err)
	}
	var got v1alpha1.DatasetBuild
	if err := k8s.Get(c, client.ObjectKeyFromObject(obj), &got); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(*want, got.Status); d != "" {
		t.Errorf("status round trip (-want +got):\n%s", d)
	}

	t.Run("status stays bounded", func(t *testing.T) {
		over := got.DeepCopy()
		over.Status.Sources = make([]v1alpha1.SourceFile, v1alpha1.MaxStatusSources+1)
		for i := range over.Status.Sources {
			over.Status.Sources[i] = v1alpha1.SourceFile{Key: fmt.Sprintf("part-%05d.csv", i), Size: 1}
		}
		wantInvalid(t, k8s.Status().Update(c, over), "status.sources", "must have at most 256 items")
	})
	t.Run("artifact digest is a sha256 digest", func(t *testing.T) {
		for digest, msg := range map[string]string{
			strings.Repeat("0f", 32):                    "should be at least 71 chars long",
			"sha256:" + strings.Repeat("0f", 31):        "should be at least 71 chars long",
			"sha256:" + strings.Repeat("0F", 32):        "should match '^sha256:[0-9a-f]{64}$'",
			"sha256:" + strings.Repeat("0f", 31) + "0g": "should match '^sha256:[0-9a-f]{64}$'",
		} {
			bad := got.DeepCopy()
			bad.Status.Artifact.Digest = digest
			wantInvalid(t, k8s.Status().Update(c, bad), "status.artifact.digest", msg)
		}
		bad := got.DeepCopy()
		bad.Status.Artifact.ManifestURI = ""
		wantInvalid(t, k8s.Status().Update(c, bad), "status.artifact.manifestURI", "Required value")
	})
	t.Run("spec is not written through status", func(t *testing.T) {
		sneaky := got.DeepCopy()
		sneaky.Spec.SchemaPolicy = v1alpha1.SchemaPolicyStrict
		if err := k8s.Status().Update(c, sneaky); err != nil {
			t.Fatal(err)
		}
		var after v1alpha1.DatasetBuild
		if err := k8s.Get(c, client.ObjectKeyFromObject(obj), &after); err != nil {
			t.Fatal(err)
		}
		if after.Spec.SchemaPolicy != v1alpha1.SchemaPolicyAllowAdditive {
			t.Errorf("schemaPolicy = %s after a status update; the status subresource must ignore spec", after.Spec.SchemaPolicy)
		}
	})
}

// TestSamples creates config/samples as they are and reads them back typed.
func TestSamples(t *testing.T) {
	needEnv(t)
	c := ctx(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "samples"}}
	if err := k8s.Create(c, ns); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("../../config/samples/*.yaml")
	if err != nil || len(files) != 3 {
		t.Fatalf("samples: %v %v; want 3 files", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var obj unstructured.Unstructured
		if err := yaml.Unmarshal(data, &obj.Object); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		obj.SetNamespace(ns.Name)
		if err := k8s.Create(c, &obj); err != nil {
			t.Errorf("%s rejected: %v", f, err)
		}
	}
	var b v1alpha1.DatasetBuild
	if err := k8s.Get(c, client.ObjectKey{Namespace: ns.Name, Name: "churn"}, &b); err != nil {
		t.Fatal(err)
	}
	if b.Spec.Split.Key != "customer_id" || len(b.Spec.Validation.Rules) != 6 || *b.Spec.IntervalSeconds != 3600 {
		t.Errorf("churn sample read back as %+v", b.Spec)
	}
	var p v1alpha1.DatasetProfile
	if err := k8s.Get(c, client.ObjectKey{Namespace: ns.Name, Name: "churn-train"}, &p); err != nil {
		t.Fatal(err)
	}
	if p.Spec.Source.DatasetBuildRef == nil || string(p.Spec.Source.DatasetBuildRef.Name) != b.Name || p.Spec.Source.DatasetBuildRef.Split != "train" {
		t.Errorf("profile sample does not profile the build's train split: %+v", p.Spec.Source)
	}
	var d v1alpha1.DriftCheck
	if err := k8s.Get(c, client.ObjectKey{Namespace: ns.Name, Name: "churn-drift"}, &d); err != nil {
		t.Fatal(err)
	}
	if d.Spec.Schedule == "" || d.Spec.Baseline.DatasetBuildRef == nil || string(d.Spec.Baseline.DatasetBuildRef.Name) != b.Name ||
		!strings.Contains(string(d.Spec.Current.URI), "drifted") {
		t.Errorf("drift sample is not a scheduled check of the build against the drifted copy: %+v", d.Spec)
	}
}
