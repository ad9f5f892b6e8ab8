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

// permit checks what a resource's spec asks of the operator before
// anything is listed or started: its limits under the manager's ceilings,
// its URIs under the policy and its service account. A refusal is a
// stalling error naming the field and the flag.
func (r Reach) permit(l *v1alpha1.InputLimits, uris []worker.URIField, serviceAccount string) error {
	if _, err := r.taskLimits(l); err != nil {
		return err
	}
	return refusal(r.admit(uris, serviceAccount))
}
