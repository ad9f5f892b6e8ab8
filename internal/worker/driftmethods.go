package worker

import (
	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/drift"
)

// DriftVerdictOptions sets the verdict methods and drift share of a
// resource's DriftVerdict in opt; nil leaves the defaults (the thresholds
// rule, drift when any column drifts). Compare validates them.
func DriftVerdictOptions(v *v1alpha1.DriftVerdict, opt *drift.Options) {
	if v == nil {
		return
	}
	opt.Methods = nil
	for _, r := range v.Methods {
		rule := drift.MethodRule{Columns: r.Columns, Type: drift.ColumnType(r.Type), Method: drift.Method(r.Method)}
		if r.Threshold != nil {
			rule.Threshold = *r.Threshold
		}
		opt.Methods = append(opt.Methods, rule)
	}
	opt.Thresholds.DriftShare = v.DriftShare
}
