package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/drift"
)

// verdictFlags choose the verdict method per column or type and the drift
// share, as a DriftCheck's spec.metrics methods and driftShare do.
type verdictFlags struct {
	methods     []string
	methodsFile string
	driftShare  float64
}

func addVerdictFlags(fl *pflag.FlagSet, f *verdictFlags) {
	fl.StringArrayVar(&f.methods, "method", nil, "verdict method of a column or type: COLUMN=METHOD[:THRESHOLD], numeric=… or categorical=… for every column of a type; methods: psi, ks, js, wasserstein, linf, hellinger, chisquare (repeatable)")
	fl.StringVar(&f.methodsFile, "methods-file", "", "YAML file with methods (and driftShare) as in a DriftCheck's spec.metrics; --method rules are added after its rules")
	fl.Float64Var(&f.driftShare, "drift-share", 0, "the dataset drifts when at least this share of the compared columns drift, in (0, 1] (default: any column)")
}

// verdict reads the methods file and the --method flags into a
// DriftVerdict; each rule keeps where it was given, for error messages.
func (f *verdictFlags) verdict(changed func(string) bool) (v1alpha1.DriftVerdict, []string, error) {
	var v v1alpha1.DriftVerdict
	var sources []string
	if f.methodsFile != "" {
		var err error
		if v, sources, err = readVerdictFile("--methods-file", f.methodsFile); err != nil {
			return v, nil, err
		}
	}
	for _, s := range f.methods {
		r, err := parseMethodFlag(s)
		if err != nil {
			return v, nil, err
		}
		v.Methods = append(v.Methods, r)
		sources = append(sources, "--method "+s)
	}
	if changed("drift-share") {
		if !(f.driftShare > 0 && f.driftShare <= 1) {
			return v, nil, usagef("--drift-share must be in (0, 1], got %v", f.driftShare)
		}
		share := f.driftShare
		v.DriftShare = &share
	}
	return v, sources, nil
}

// parseMethodFlag parses COLUMN=METHOD[:THRESHOLD]; the keys numeric and
// categorical select a type (a column of that name is chosen through
// --methods-file).
func parseMethodFlag(s string) (v1alpha1.DriftMethodRule, error) {
	var r v1alpha1.DriftMethodRule
	key, spec, ok := strings.Cut(s, "=")
	if !ok || key == "" || spec == "" {
		return r, usagef("--method %q: use COLUMN=METHOD[:THRESHOLD], e.g. age=wasserstein:0.1 or numeric=ks", s)
	}
	method, th, hasTh := strings.Cut(spec, ":")
	r.Method = v1alpha1.DriftMethod(strings.ToLower(method))
	if !slices.Contains(drift.MethodNames, drift.Method(r.Method)) {
		return r, usagef("--method %q: unknown method %q; use one of psi, ks, js, wasserstein, linf, hellinger, chisquare", s, method)
	}
	if hasTh {
		t, err := strconv.ParseFloat(th, 64)
		if err != nil || !(t > 0) {
			return r, usagef("--method %q: threshold %q must be a number > 0", s, th)
		}
		r.Threshold = &t
	}
	switch key {
	case string(v1alpha1.DriftColumnNumeric), string(v1alpha1.DriftColumnCategorical):
		r.Type = v1alpha1.DriftColumnType(key)
	default:
		r.Columns = []string{key}
	}
	return r, nil
}

// readVerdictFile reads a YAML file of verdict methods and drift share, in
// the shape of a DriftCheck's spec.metrics (methods, driftShare), and names
// each rule by file and index for error messages. flag names the option
// that gave the file.
func readVerdictFile(flag, path string) (v1alpha1.DriftVerdict, []string, error) {
	var v v1alpha1.DriftVerdict
	raw, err := os.ReadFile(path)
	if err != nil {
		return v, nil, usagef("%s: %v", flag, err)
	}
	if err := yaml.UnmarshalStrict(raw, &v); err != nil {
		return v, nil, usagef("%s %s: %v (expected methods: [{columns: [...] or type: numeric|categorical, method: ..., threshold: ...}] and driftShare)", flag, path, err)
	}
	sources := make([]string, len(v.Methods))
	for i := range v.Methods {
		sources[i] = fmt.Sprintf("%s: methods[%d]", path, i)
	}
	return v, sources, nil
}
