package metrics_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/yaml"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/metrics"
	"github.com/mldata-io/mldata/internal/worker"
)

// family is a metric family the manager registers: its label names and,
// for the labels whose values are constants, those values.
type family struct {
	labels []string
	values map[string][]string
}

// registered reads the name and label names of every collector in
// metrics.Collectors from its descriptor (a histogram adds its _bucket,
// _sum and _count series, the first with le).
func registered(t *testing.T) map[string]family {
	t.Helper()
	re := regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)
	values := map[string][]string{
		metrics.LabelKind:   {worker.KindDatasetBuild, worker.KindDatasetProfile, worker.KindDriftCheck},
		metrics.LabelResult: {metrics.ResultSucceeded, metrics.ResultUpToDate, metrics.ResultFailed, metrics.ResultDrift, metrics.ResultNoDrift},
		metrics.LabelType: {v1alpha1.ConditionReady, v1alpha1.ConditionReconciling, v1alpha1.ConditionStalled,
			v1alpha1.ConditionValidated, v1alpha1.ConditionSchemaCompatible, v1alpha1.ConditionDriftDetected},
	}
	out := map[string]family{}
	for _, c := range metrics.Collectors {
		ch := make(chan *prometheus.Desc, 4)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			m := re.FindStringSubmatch(d.String())
			if m == nil {
				t.Fatalf("cannot read the descriptor %s", d)
			}
			labels := strings.Split(m[2], ",")
			f := family{labels: labels, values: values}
			if _, ok := c.(*prometheus.HistogramVec); ok {
				out[m[1]+"_bucket"] = family{labels: append(slices.Clone(labels), "le"), values: values}
				out[m[1]+"_sum"] = f
				out[m[1]+"_count"] = f
				continue
			}
			out[m[1]] = f
		}
	}
	// Series Prometheus itself makes for each scrape target.
	out["up"] = family{labels: []string{"job", "instance"}}
	return out
}

func TestRegisteredFamilies(t *testing.T) {
	fams := registered(t)
	// Known answers: the reader of the descriptors is right.
	for name, want := range map[string]string{
		"mldata_datasetbuild_builds_total":            "namespace,name,result",
		"mldata_datasetbuild_duration_seconds_bucket": "namespace,name,result,le",
		"mldata_driftcheck_last_psi":                  "namespace,name,column",
		"mldata_condition":                            "kind,namespace,name,type",
	} {
		if got := strings.Join(fams[name].labels, ","); got != want {
			t.Errorf("%s labels %q, want %q", name, got, want)
		}
	}
	if n := len(metrics.Collectors); n != 13 {
		t.Errorf("%d collectors; update this test's expectations", n)
	}
}

var (
	selectorsOnce sync.Once
	selectorsBin  string
	selectorsErr  error
)

// promqlSelectors builds hack/promql (Prometheus's parser, its own module)
// once and runs it on exprs.
func promqlSelectors(t *testing.T, exprs []string) []parsed {
	t.Helper()
	selectorsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "promql-selectors")
		if err != nil {
			selectorsErr = err
			return
		}
		selectorsBin = filepath.Join(dir, "promql-selectors")
		cmd := exec.Command("go", "build", "-o", selectorsBin, ".")
		cmd.Dir = filepath.Join("..", "..", "hack", "promql")
		if out, err := cmd.CombinedOutput(); err != nil {
			selectorsErr = &buildError{out: string(out), err: err}
		}
	})
	if selectorsErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("building hack/promql: %v", selectorsErr)
		}
		t.Skipf("cannot build hack/promql (the Prometheus parser, through the Go module proxy): %v", selectorsErr)
	}
	in, _ := json.Marshal(exprs)
	cmd := exec.Command(selectorsBin)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("promql-selectors: %v", err)
	}
	var res []parsed
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

type parsed struct {
	Expr      string `json:"expr"`
	Error     string `json:"error"`
	Selectors []struct {
		Metric   string `json:"metric"`
		Matchers []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Value string `json:"value"`
		} `json:"matchers"`
	} `json:"selectors"`
	Labels []string `json:"labels"`
}

// checkQueries reports every query (named by where) that does not parse,
// selects a metric the manager does not register, uses a label the
// metric does not have (in a matcher, by, on, ignoring or group_left), or
// matches a constant-valued label (kind, result, type) with a value the
// manager never sets. It returns the problems and the metrics the queries
// use.
func checkQueries(t *testing.T, where []string, exprs []string) (problems []string, used map[string]bool) {
	t.Helper()
	fams := registered(t)
	used = map[string]bool{}
	errorf := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for i, p := range promqlSelectors(t, exprs) {
		if p.Error != "" {
			errorf("%s: %s\n  %s", where[i], p.Error, exprs[i])
			continue
		}
		all := map[string]bool{}
		for _, s := range p.Selectors {
			f, ok := fams[s.Metric]
			if !ok {
				errorf("%s: metric %s is not one the manager exports\n  %s", where[i], s.Metric, exprs[i])
				continue
			}
			used[s.Metric] = true
			for _, l := range f.labels {
				all[l] = true
			}
			for _, m := range s.Matchers {
				if !slices.Contains(f.labels, m.Name) {
					errorf("%s: %s has no label %s (it has %v)", where[i], s.Metric, m.Name, f.labels)
					continue
				}
				if vals, ok := f.values[m.Name]; ok && m.Type == "=" && !slices.Contains(vals, m.Value) {
					errorf("%s: %s{%s=%q}: the manager sets %s to one of %v", where[i], s.Metric, m.Name, m.Value, m.Name, vals)
				}
			}
		}
		for _, l := range p.Labels {
			if !all[l] {
				errorf("%s: groups or matches by %s, a label none of its metrics has\n  %s", where[i], l, exprs[i])
			}
		}
	}
	return problems, used
}

// grafanaVars replaces the dashboard's variables by values PromQL parses.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__range", "1d", "$namespace", ".*", "$build", ".*", "$driftcheck", ".*")

// labelValues is a Grafana variable query: label_values(selector, label).
var labelValues = regexp.MustCompile(`^label_values\((.*),\s*([a-zA-Z_]+)\)$`)

func TestDashboardQueries(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "grafana", "mldata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("config/grafana/mldata.json: %v", err)
	}
	var where, exprs []string
	for _, p := range dash.Panels {
		for i, tg := range p.Targets {
			where = append(where, "panel "+strconvQuote(p.Title)+" query "+string(rune('A'+i)))
			exprs = append(exprs, grafanaVars.Replace(tg.Expr))
		}
	}
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(map[string]any)
		s, _ := q["query"].(string)
		m := labelValues.FindStringSubmatch(s)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, s)
			continue
		}
		// The label must be one the selector's metric has: group by it.
		where = append(where, "variable "+v.Name)
		exprs = append(exprs, "count by ("+m[2]+") ("+grafanaVars.Replace(m[1])+")")
	}
	if len(exprs) < 15 {
		t.Fatalf("only %d queries found in the dashboard", len(exprs))
	}
	problems, used := checkQueries(t, where, exprs)
	for _, p := range problems {
		t.Error(p)
	}
	// The panels the dashboard promises.
	for _, m := range []string{
		"mldata_datasetbuild_builds_total", "mldata_datasetbuild_duration_seconds_bucket", "mldata_datasetbuild_rows",
		"mldata_datasetbuild_files_reused_total", "mldata_datasetbuild_files_processed_total", "mldata_driftcheck_last_psi",
	} {
		if !used[m] {
			t.Errorf("the dashboard has no panel on %s", m)
		}
	}
}

// TestAlertQueries checks the alerting rules (config/prometheus/alerts.yaml,
// rendered from the chart) the same way; config/prometheus/alerts_test.yaml
// tests what they fire on.
func TestAlertQueries(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "prometheus", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rule struct {
		Spec struct {
			Groups []struct {
				Rules []struct {
					Alert string `json:"alert"`
					Expr  string `json:"expr"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &rule); err != nil {
		t.Fatalf("config/prometheus/alerts.yaml: %v", err)
	}
	var where, exprs, alerts []string
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			where = append(where, "alert "+r.Alert)
			exprs = append(exprs, r.Expr)
			alerts = append(alerts, r.Alert)
		}
	}
	sort.Strings(alerts)
	want := "MLDataBuildFailed MLDataBuildNotSucceeding MLDataDriftCheckMissedSchedule MLDataDriftDetected MLDataManagerDown MLDataStalled"
	if got := strings.Join(alerts, " "); got != want {
		t.Errorf("alerts %s, want %s", got, want)
	}
	problems, _ := checkQueries(t, where, exprs)
	for _, p := range problems {
		t.Error(p)
	}
}

// TestQueryChecksCatch: the checks report a misspelt metric, a label the
// metric lacks, a label value the manager never sets and a parse error.
func TestQueryChecksCatch(t *testing.T) {
	exprs := []string{
		`mldata_datasetbuild_build_total`,
		`sum by (split) (mldata_datasetbuild_builds_total)`,
		`mldata_condition{kind="Dataset"}`,
		`rate(mldata_datasetbuild_rows[5m]`,
		`mldata_datasetbuild_rows{column="x"}`,
	}
	problems, _ := checkQueries(t, []string{"a", "b", "c", "d", "e"}, exprs)
	got := strings.Join(problems, "\n")
	for _, want := range []string{
		"a: metric mldata_datasetbuild_build_total is not one the manager exports",
		"b: groups or matches by split, a label none of its metrics has",
		`c: mldata_condition{kind="Dataset"}: the manager sets kind to one of`,
		"d: 1:",
		"e: mldata_datasetbuild_rows has no label column",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
	if len(problems) != 5 {
		t.Errorf("%d problems, want 5:\n%s", len(problems), got)
	}
}

func strconvQuote(s string) string { return `"` + s + `"` }
