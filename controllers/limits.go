package controllers

import (
	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/worker"
)

// ReasonLimitAboveCeiling: a field of spec.limits is above the operator's
// ceiling (a manager --max-* flag); the message names both.
const ReasonLimitAboveCeiling = "LimitAboveCeiling"

// taskLimits resolves a resource's spec.limits under the operator's
// ceilings into the limits its Job reads with. A field above its ceiling
// stalls the resource until the spec or the manager's flag changes.
func (r Reach) taskLimits(s *v1alpha1.InputLimits) (*worker.Limits, error) {
	l, err := worker.ResolveLimits(s, r.Limits)
	if err != nil {
		return nil, &stallingError{reason: ReasonLimitAboveCeiling, err: err}
	}
	return l, nil
}
