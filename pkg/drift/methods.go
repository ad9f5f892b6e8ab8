package drift

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Method is the metric whose threshold decides whether a column drifted
// (its verdict). Every metric is reported whatever the method.
type Method string

// Methods. ColumnTypes says which columns each applies to.
const (
	// MethodPSI: PSI ≥ threshold.
	MethodPSI Method = "psi"
	// MethodKS: Kolmogorov–Smirnov p-value < threshold (numeric).
	MethodKS Method = "ks"
	// MethodJS: Jensen–Shannon distance ≥ threshold.
	MethodJS Method = "js"
	// MethodWasserstein: wasserstein_normed ≥ threshold (numeric).
	MethodWasserstein Method = "wasserstein"
	// MethodLInf: L-infinity distance ≥ threshold (categorical).
	MethodLInf Method = "linf"
	// MethodHellinger: Hellinger distance ≥ threshold.
	MethodHellinger Method = "hellinger"
	// MethodChiSquare: chi-square p-value < threshold (categorical).
	MethodChiSquare Method = "chisquare"
	// MethodThresholds is the rule of a column no method is chosen for,
	// reported when an optional threshold is set: PSI ≥ Thresholds.PSI or
	// any optional threshold crossed. Without optional thresholds such a
	// column reports MethodPSI. It cannot be chosen.
	MethodThresholds Method = "thresholds"
)

// ColumnType selects columns by kind in a MethodRule.
type ColumnType string

// Column types.
const (
	// Numeric columns: integers and floats.
	Numeric ColumnType = "numeric"
	// Categorical columns: every other column.
	Categorical ColumnType = "categorical"
)

// methodInfo is what a method needs: the column types it applies to, its
// default threshold, whether it is a p-value (drift below the threshold)
// and whether it needs the baseline's raw values.
type methodInfo struct {
	numeric, categorical bool
	threshold            float64
	pvalue               bool
	raw                  bool
	// max is the largest meaningful threshold (0: none).
	max float64
}

var methods = map[Method]methodInfo{
	MethodPSI:         {numeric: true, categorical: true, threshold: 0.1},
	MethodKS:          {numeric: true, threshold: 0.05, pvalue: true, raw: true, max: 1},
	MethodJS:          {numeric: true, categorical: true, threshold: 0.1, max: 1},
	MethodWasserstein: {numeric: true, threshold: 0.1, raw: true},
	MethodLInf:        {categorical: true, threshold: 0.1, max: 1},
	MethodHellinger:   {numeric: true, categorical: true, threshold: 0.1, max: 1},
	MethodChiSquare:   {categorical: true, threshold: 0.05, pvalue: true, max: 1},
}

// MethodNames lists the methods that can be chosen, in documentation order.
var MethodNames = []Method{MethodPSI, MethodKS, MethodJS, MethodWasserstein, MethodLInf, MethodHellinger, MethodChiSquare}

// DefaultThreshold returns a method's default threshold; for MethodPSI it
// is Options.Thresholds.PSI when set.
func DefaultThreshold(m Method) float64 { return methods[m].threshold }

// Applies reports whether method m can decide columns of type t.
func (m Method) Applies(t ColumnType) bool {
	info, ok := methods[m]
	return ok && ((t == Numeric && info.numeric) || (t == Categorical && info.categorical))
}

// MethodRule chooses the verdict method of some columns: those named in
// Columns, or every column of Type. A named column's rule wins over its
// type's; columns no rule selects keep the default rule (Thresholds).
type MethodRule struct {
	Columns []string   `json:"columns,omitempty"`
	Type    ColumnType `json:"type,omitempty"`
	Method  Method     `json:"method"`
	// Threshold of the method; 0 means its default.
	Threshold float64 `json:"threshold"`
	// Source names where the rule was given (a flag, a file) in errors.
	Source string `json:"-"`
}

// where names rule i for error messages: by Source when set.
func (r MethodRule) where(i int) string {
	if r.Source != "" {
		return "drift: " + r.Source
	}
	if r.Type != "" {
		return fmt.Sprintf("drift: methods[%d] (%s columns: %s)", i, r.Type, r.Method)
	}
	if len(r.Columns) == 0 {
		return fmt.Sprintf("drift: methods[%d] (%s)", i, r.Method)
	}
	return fmt.Sprintf("drift: methods[%d] (%s: %s)", i, strings.Join(r.Columns, ", "), r.Method)
}

// checkMethods validates the rules and the drift share and fills in
// default thresholds.
func (o *Options) checkMethods() error {
	if s := o.Thresholds.DriftShare; s != nil && !(*s > 0 && *s <= 1) {
		return optionErr("drift: drift share must be in (0, 1], got %v", *s)
	}
	seen := map[string]int{}
	name := func(j int) string {
		if src := o.Methods[j].Source; src != "" {
			return src
		}
		return fmt.Sprintf("methods[%d]", j)
	}
	types := map[ColumnType]int{}
	rules := make([]MethodRule, len(o.Methods))
	for i, r := range o.Methods {
		r.Columns = slices.Clone(r.Columns)
		info, ok := methods[r.Method]
		if !ok {
			return optionErr("%s: unknown method %q: use one of %s", r.where(i), r.Method, methodList())
		}
		switch {
		case len(r.Columns) > 0 && r.Type != "":
			return optionErr("%s: set columns or type, not both", r.where(i))
		case len(r.Columns) == 0 && r.Type == "":
			return optionErr("%s: set the columns or the type (numeric or categorical) it applies to", r.where(i))
		case r.Type != "":
			if r.Type != Numeric && r.Type != Categorical {
				return optionErr("%s: type %q: use numeric or categorical", r.where(i), r.Type)
			}
			if !r.Method.Applies(r.Type) {
				return optionErr("%s: %s does not apply to %s columns; it applies to %s", r.where(i), r.Method, r.Type, info.kinds())
			}
			if j, dup := types[r.Type]; dup {
				return optionErr("%s: %s already sets the method of %s columns", r.where(i), name(j), r.Type)
			}
			types[r.Type] = i
		}
		for _, c := range r.Columns {
			if j, dup := seen[c]; dup {
				return optionErr("%s: %s already sets the method of column %q", r.where(i), name(j), c)
			}
			seen[c] = i
		}
		switch {
		case r.Threshold == 0 && r.Method == MethodPSI && o.Thresholds.PSI > 0:
			r.Threshold = o.Thresholds.PSI
		case r.Threshold == 0:
			r.Threshold = info.threshold
		case !(r.Threshold > 0):
			return optionErr("%s: threshold must be > 0, got %v", r.where(i), r.Threshold)
		case info.pvalue && r.Threshold >= 1:
			return optionErr("%s: threshold is a p-value and must be in (0, 1), got %v", r.where(i), r.Threshold)
		case info.max > 0 && r.Threshold > info.max:
			return optionErr("%s: %s is at most %v, so threshold %v never flags a column", r.where(i), r.Method, info.max, r.Threshold)
		}
		rules[i] = r
	}
	o.Methods = rules
	return nil
}

func (info methodInfo) kinds() string {
	switch {
	case info.numeric && info.categorical:
		return "numeric and categorical columns"
	case info.numeric:
		return "numeric columns only"
	}
	return "categorical columns only"
}

func methodList() string {
	s := make([]string, len(MethodNames))
	for i, m := range MethodNames {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}

// verdict is the chosen method and threshold of one planned column; a zero
// method means the default rule.
type verdict struct {
	method    Method
	threshold float64
}

// resolveMethods returns each planned column's verdict. A rule naming a
// column in neither dataset, or a method that does not apply to a named
// column's type or needs raw baseline values a stored profile does not
// have, is an error.
func resolveMethods(plans []columnPlan, baseline, current Input, opt Options) ([]verdict, error) {
	out := make([]verdict, len(plans))
	if len(opt.Methods) == 0 {
		return out, nil
	}
	known := map[string]bool{}
	if baseline.Profile != nil {
		for _, c := range baseline.Profile.Schema.Columns {
			known[c.Name] = true
		}
	} else if baseline.Schema != nil {
		for _, f := range baseline.Schema.Fields() {
			known[f.Name] = true
		}
	}
	for _, f := range current.Schema.Fields() {
		known[f.Name] = true
	}
	byName := map[string]int{}
	for i, r := range opt.Methods {
		for _, c := range r.Columns {
			if !known[c] {
				return nil, optionErr("%s: column %q is in neither dataset", r.where(i), c)
			}
			byName[c] = i
		}
	}
	pinned := baseline.Profile != nil
	for k, pl := range plans {
		t := Categorical
		if pl.numeric {
			t = Numeric
		}
		i, named := byName[pl.name]
		if !named {
			i = slices.IndexFunc(opt.Methods, func(r MethodRule) bool { return r.Type == t })
			if i < 0 {
				continue
			}
		}
		r := opt.Methods[i]
		if !r.Method.Applies(t) {
			return nil, optionErr("%s: column %q is %s; %s applies to %s", r.where(i), pl.name, t, r.Method, methods[r.Method].kinds())
		}
		if pinned && methods[r.Method].raw {
			return nil, optionErr("%s: %s needs the baseline's raw values, and the baseline is a stored profile (use the dataset itself as baseline, or another method)", r.where(i), r.Method)
		}
		out[k] = verdict{r.Method, r.Threshold}
	}
	return out, nil
}

// decideNumeric sets a numeric result's drift_detected, method and
// threshold by its verdict; the default rule's drift_detected is already
// set.
func (v verdict) decideNumeric(r *NumericDrift, opt Options) {
	if v.method == "" {
		r.Method, r.Threshold = defaultRule(opt)
		return
	}
	r.Method, r.Threshold = v.method, &v.threshold
	switch v.method {
	case MethodPSI:
		r.DriftDetected = r.PSI >= v.threshold
	case MethodKS:
		r.DriftDetected = r.KSPValue != nil && *r.KSPValue < v.threshold
	case MethodJS:
		r.DriftDetected = r.JSDistance >= v.threshold
	case MethodWasserstein:
		r.DriftDetected = r.WassersteinNormed != nil && *r.WassersteinNormed >= v.threshold
	case MethodHellinger:
		r.DriftDetected = r.HellingerDistance >= v.threshold
	}
}

// decideCategorical is decideNumeric for a categorical result.
func (v verdict) decideCategorical(r *CategoricalDrift, opt Options) {
	if v.method == "" {
		r.Method, r.Threshold = defaultRule(opt)
		return
	}
	r.Method, r.Threshold = v.method, &v.threshold
	switch v.method {
	case MethodPSI:
		r.DriftDetected = r.PSI >= v.threshold
	case MethodJS:
		r.DriftDetected = r.JSDistance >= v.threshold
	case MethodLInf:
		r.DriftDetected = r.LInfDistance >= v.threshold
	case MethodHellinger:
		r.DriftDetected = r.HellingerDistance >= v.threshold
	case MethodChiSquare:
		r.DriftDetected = r.Chi2PValue < v.threshold
	}
}

// defaultRule is the method and threshold reported for a column no rule
// selects.
func defaultRule(opt Options) (Method, *float64) {
	t := opt.Thresholds
	if t.KSPValue != nil || t.JS != nil || t.Chi2PValue != nil {
		return MethodThresholds, nil
	}
	psi := t.PSI
	return MethodPSI, &psi
}

// setDriftShare sets drift_share, the drifted share of the compared
// columns, and has_drift: at least one column drifted and, with a drift
// share threshold, the share reaches it.
func (r *Report) setDriftShare(threshold *float64) {
	compared := len(r.NumericDrift) + len(r.CategoricalDrift)
	drifted := len(r.Drifted())
	r.DriftShare = 0
	if compared > 0 {
		r.DriftShare = float64(drifted) / float64(compared)
	}
	r.HasDrift = drifted > 0 && (threshold == nil || r.DriftShare >= *threshold)
}

// methodConventions states the verdict rules in a report's conventions.
func methodConventions(c *Conventions, opt Options) {
	c.Methods = opt.Methods
	c.Verdict = map[string]string{
		string(MethodPSI):         "psi >= threshold",
		string(MethodKS):          "ks_pvalue < threshold",
		string(MethodJS):          "js_distance >= threshold",
		string(MethodWasserstein): "wasserstein_normed >= threshold",
		string(MethodLInf):        "linf_distance >= threshold",
		string(MethodHellinger):   "hellinger_distance >= threshold",
		string(MethodChiSquare):   "chi2_pvalue < threshold",
		string(MethodThresholds):  "psi >= thresholds.psi, or any optional threshold in thresholds crossed",
	}
	c.Wasserstein = "scipy.stats.wasserstein_distance on the raw non-null values; wasserstein_normed divides it by max(baseline population std (ddof=0), 0.001)"
	c.Hellinger = "sqrt(sum((sqrt(p) - sqrt(q))^2) / 2) over the same bins or categories and raw shares as js_distance"
	c.LInf = "max |p - q| over the union of categories, raw shares"
	c.DriftShare = "drift_share = drifted / compared columns; has_drift when at least one column drifted"
	if s := opt.Thresholds.DriftShare; s != nil {
		c.DriftShare += fmt.Sprintf(" and drift_share >= %v", *s)
	}
}

// OptionError is an error in Options, such as a method rule that cannot
// apply: the request must change, not the data.
type OptionError struct{ msg string }

func (e *OptionError) Error() string { return e.msg }

func optionErr(format string, args ...any) error {
	return &OptionError{msg: fmt.Sprintf(format, args...)}
}

// Decision is the comparison behind a column's drift_detected: the metric
// (a field of the column's result) its method compares, the metric's value
// and the threshold. For MethodThresholds it is the first of psi,
// ks_pvalue, js_distance and chi2_pvalue that crossed its threshold (psi
// when none did).
type Decision struct {
	Method Method `json:"method"`
	// Metric is the result field compared: psi, ks_pvalue, js_distance,
	// wasserstein_normed, linf_distance, hellinger_distance or chi2_pvalue.
	Metric string `json:"metric"`
	// Value is NaN when the metric could not be computed (see
	// unavailable), which never drifts.
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	// PValue is true for p-values, which drift below the threshold; other
	// metrics drift at or above it.
	PValue bool `json:"pvalue,omitempty"`
}

// Crossed reports whether the value crossed the threshold.
func (d Decision) Crossed() bool {
	if math.IsNaN(d.Value) {
		return false
	}
	if d.PValue {
		return d.Value < d.Threshold
	}
	return d.Value >= d.Threshold
}

// String states the comparison, e.g. "wasserstein_normed 0.3102 >= 0.1"
// or "ks_pvalue 0.0012 < 0.05" (the operator is the one that holds).
func (d Decision) String() string {
	if math.IsNaN(d.Value) {
		return fmt.Sprintf("%s unavailable (threshold %.4g)", d.Metric, d.Threshold)
	}
	op := ">="
	switch {
	case d.PValue && !d.Crossed():
		op = ">="
	case d.PValue:
		op = "<"
	case !d.Crossed():
		op = "<"
	}
	return fmt.Sprintf("%s %.4g %s %.4g", d.Metric, d.Value, op, d.Threshold)
}

// metricOf names the result field each method compares.
var metricOf = map[Method]string{
	MethodPSI:         "psi",
	MethodKS:          "ks_pvalue",
	MethodJS:          "js_distance",
	MethodWasserstein: "wasserstein_normed",
	MethodLInf:        "linf_distance",
	MethodHellinger:   "hellinger_distance",
	MethodChiSquare:   "chi2_pvalue",
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// decision builds the Decision of method m from the values of the metrics
// by name; for MethodThresholds it tries the default rule's metrics in
// order with the thresholds t.
func decision(m Method, threshold *float64, values map[string]float64, t Thresholds) Decision {
	if m == "" { // a result built by hand: the default rule
		m, threshold = MethodPSI, &t.PSI
	}
	if m != MethodThresholds {
		name := metricOf[m]
		d := Decision{Method: m, Metric: name, Value: math.NaN(), PValue: methods[m].pvalue}
		if v, ok := values[name]; ok {
			d.Value = v
		}
		if threshold != nil {
			d.Threshold = *threshold
		}
		return d
	}
	first := Decision{Method: m, Metric: "psi", Value: values["psi"], Threshold: t.PSI}
	if first.Crossed() {
		return first
	}
	for _, o := range []struct {
		name   string
		th     *float64
		pvalue bool
	}{{"ks_pvalue", t.KSPValue, true}, {"js_distance", t.JS, false}, {"chi2_pvalue", t.Chi2PValue, true}} {
		v, ok := values[o.name]
		if o.th == nil || !ok {
			continue
		}
		if d := (Decision{Method: m, Metric: o.name, Value: v, Threshold: *o.th, PValue: o.pvalue}); d.Crossed() {
			return d
		}
	}
	return first
}

// Decision returns the comparison behind the column's drift_detected, with
// the report's thresholds t (its conventions.thresholds).
func (r *NumericDrift) Decision(t Thresholds) Decision {
	return decision(r.Method, r.Threshold, map[string]float64{
		"psi": r.PSI, "ks_pvalue": orNaN(r.KSPValue), "js_distance": r.JSDistance,
		"wasserstein_normed": orNaN(r.WassersteinNormed), "hellinger_distance": r.HellingerDistance,
	}, t)
}

// Decision returns the comparison behind the column's drift_detected, with
// the report's thresholds t (its conventions.thresholds).
func (r *CategoricalDrift) Decision(t Thresholds) Decision {
	return decision(r.Method, r.Threshold, map[string]float64{
		"psi": r.PSI, "js_distance": r.JSDistance, "chi2_pvalue": r.Chi2PValue,
		"linf_distance": r.LInfDistance, "hellinger_distance": r.HellingerDistance,
	}, t)
}

// RecordedDecision rebuilds a Decision kept as its fields (in a manifest
// or a status); whether it is a p-value follows from the metric.
func RecordedDecision(method, metric string, value, threshold float64) Decision {
	return Decision{Method: Method(method), Metric: metric, Value: value, Threshold: threshold,
		PValue: metric == "ks_pvalue" || metric == "chi2_pvalue"}
}
