package worker

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/format"
)

// Limits are the input limits a run reads with, every field set: the
// resource's spec.limits under the operator's ceilings, resolved by the
// controller (ResolveLimits) and handed to the Job in the Task.
type Limits struct {
	MaxColumns     int   `json:"maxColumns"`
	MaxRecordBytes int   `json:"maxRecordBytes"`
	MaxFileBytes   int64 `json:"maxFileBytes"`
	MaxChunkBytes  int64 `json:"maxChunkBytes"`
}

// Format returns the limits as the readers take them.
func (l *Limits) Format() format.Limits {
	return format.Limits{MaxColumns: l.MaxColumns, MaxRecordBytes: l.MaxRecordBytes, MaxFileBytes: l.MaxFileBytes, MaxChunkBytes: l.MaxChunkBytes}
}

// LimitError is a spec limit above the operator's ceiling. Its message
// names the field, the ceiling and the flag that sets it.
type LimitError struct {
	Field          string // e.g. spec.limits.maxChunkBytes
	Flag           string // e.g. --max-chunk-bytes
	Value, Ceiling string
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s %s is above the operator's ceiling of %s (flag %s): lower it, or have the operator's administrators raise %s",
		e.Field, e.Value, e.Ceiling, e.Flag, e.Flag)
}

// ResolveLimits returns the limits a run of a resource with spec limits s
// reads with, under the ceilings c (the manager's --max-* flags; zero
// fields are format's defaults). An omitted field takes the ceiling; a
// field above it is a *LimitError: a resource may lower a limit or raise it
// up to what the operator allows, never beyond.
func ResolveLimits(s *v1alpha1.InputLimits, c format.Limits) (*Limits, error) {
	c = c.Resolved()
	l := &Limits{MaxColumns: c.MaxColumns, MaxRecordBytes: c.MaxRecordBytes, MaxFileBytes: c.MaxFileBytes, MaxChunkBytes: c.MaxChunkBytes}
	if s == nil {
		return l, nil
	}
	if s.MaxColumns != nil {
		if v := int(*s.MaxColumns); v > c.MaxColumns {
			return nil, &LimitError{Field: "spec.limits.maxColumns", Flag: "--max-columns", Value: fmt.Sprint(v), Ceiling: fmt.Sprint(c.MaxColumns)}
		} else if v > 0 {
			l.MaxColumns = v
		}
	}
	for _, q := range []struct {
		field, flag string
		v           *resource.Quantity
		ceiling     int64
		set         func(int64)
	}{
		{"maxRecordBytes", "--max-record-bytes", s.MaxRecordBytes, int64(c.MaxRecordBytes), func(v int64) { l.MaxRecordBytes = int(v) }},
		{"maxFileBytes", "--max-file-bytes", s.MaxFileBytes, c.MaxFileBytes, func(v int64) { l.MaxFileBytes = v }},
		{"maxChunkBytes", "--max-chunk-bytes", s.MaxChunkBytes, c.MaxChunkBytes, func(v int64) { l.MaxChunkBytes = v }},
	} {
		if q.v == nil {
			continue
		}
		v := q.v.Value()
		if v > q.ceiling {
			return nil, &LimitError{Field: "spec.limits." + q.field, Flag: q.flag, Value: q.v.String(),
				Ceiling: resource.NewQuantity(q.ceiling, resource.BinarySI).String()}
		}
		if v > 0 {
			q.set(v)
		}
	}
	return l, nil
}

// limitOptions is opt with the limits of a spec applied under opt's limits
// as ceilings. A Task's resolved limits (Run sets them as opt's) resolve to
// themselves, so a Job reads with exactly what the controller resolved.
func limitOptions(s *v1alpha1.InputLimits, opt Options) (Options, error) {
	l, err := ResolveLimits(s, opt.Limits)
	if err != nil {
		return opt, &Failure{Reason: v1alpha1.ReasonInvalidSpec, Err: err}
	}
	opt.Limits = l.Format()
	return opt, nil
}
