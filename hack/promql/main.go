// Command promql-selectors parses PromQL expressions with Prometheus's own
// parser and prints, for each, the series selectors and the label names it
// groups or matches by, so that tests can check dashboards and alert rules
// against the metrics the manager registers (internal/metrics).
//
// Input on stdin: a JSON array of expressions. Output on stdout: a JSON
// array with one object per expression, in order:
//
//	{"expr": "...", "error": "parse error ...",
//	 "selectors": [{"metric": "m", "matchers": [{"name": "l", "type": "=", "value": "v"}]}],
//	 "labels": ["by/on/ignoring/group_left label", ...]}
//
// It is its own module (hack/promql/go.mod) so that the Prometheus server
// module never enters the project's go.mod.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

type matcher struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

type selector struct {
	Metric   string    `json:"metric"`
	Matchers []matcher `json:"matchers"`
}

type result struct {
	Expr      string     `json:"expr"`
	Error     string     `json:"error,omitempty"`
	Selectors []selector `json:"selectors"`
	Labels    []string   `json:"labels"`
}

func inspect(expr string) result {
	r := result{Expr: expr, Selectors: []selector{}, Labels: []string{}}
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			s := selector{Metric: n.Name, Matchers: []matcher{}}
			for _, m := range n.LabelMatchers {
				if m.Name == labels.MetricName {
					continue
				}
				s.Matchers = append(s.Matchers, matcher{Name: m.Name, Type: m.Type.String(), Value: m.Value})
			}
			r.Selectors = append(r.Selectors, s)
		case *parser.AggregateExpr:
			r.Labels = append(r.Labels, n.Grouping...)
		case *parser.BinaryExpr:
			if n.VectorMatching != nil {
				r.Labels = append(r.Labels, n.VectorMatching.MatchingLabels...)
				r.Labels = append(r.Labels, n.VectorMatching.Include...)
			}
		}
		return nil
	})
	return r
}

func main() {
	var exprs []string
	if err := json.NewDecoder(os.Stdin).Decode(&exprs); err != nil {
		fmt.Fprintln(os.Stderr, "promql-selectors: stdin must be a JSON array of strings:", err)
		os.Exit(2)
	}
	out := make([]result, 0, len(exprs))
	for _, e := range exprs {
		out = append(out, inspect(e))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "promql-selectors:", err)
		os.Exit(1)
	}
}
