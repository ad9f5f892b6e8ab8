package controllers

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/worker"
	"github.com/mldata-io/mldata/pkg/format"
)

// setLimits sets spec.limits of any kind.
func setLimits(o client.Object, l *v1alpha1.InputLimits) {
	switch o := o.(type) {
	case *v1alpha1.DatasetBuild:
		o.Spec.Limits = l
	case *v1alpha1.DatasetProfile:
		o.Spec.Limits = l
	case *v1alpha1.DriftCheck:
		o.Spec.Limits = l
	}
}

// setCeilings sets the manager's limit flags of a world's reconciler.
func setCeilings(w *world, c format.Limits) {
	switch r := w.r.(type) {
	case *DatasetBuildReconciler:
		r.Reach.Limits = c
	case *DatasetProfileReconciler:
		r.Reach.Limits = c
	case *DriftCheckReconciler:
		r.Reach.Limits = c
	}
}

// TestJobsGetTheLimits: each kind's Job hands its worker spec.limits
// resolved under the manager's ceilings (omitted fields take the ceiling),
// and a field above its ceiling stalls the resource with a message naming
// the field and the flag, creating no Job.
func TestJobsGetTheLimits(t *testing.T) {
	ceilings := format.Limits{MaxColumns: 100, MaxRecordBytes: 1 << 20, MaxFileBytes: 1 << 30, MaxChunkBytes: 128 << 20}
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Run("within", func(t *testing.T) {
				w := newWorld(t, k, func(o client.Object) {
					setLimits(o, &v1alpha1.InputLimits{MaxColumns: ptr.To[int32](50), MaxChunkBytes: q("64Mi")})
				})
				setCeilings(w, ceilings)
				w.reconcile()
				if w.lastE != nil {
					t.Fatal(w.lastE)
				}
				_, active := w.jobs()
				if len(active) != 1 {
					t.Fatalf("%d active Jobs, want 1", len(active))
				}
				got := taskOf(t, &active[0]).Limits
				want := worker.Limits{MaxColumns: 50, MaxRecordBytes: 1 << 20, MaxFileBytes: 1 << 30, MaxChunkBytes: 64 << 20}
				if got == nil || *got != want {
					t.Fatalf("task limits %+v, want %+v", got, want)
				}
			})
			t.Run("defaults", func(t *testing.T) {
				w := newWorld(t, k, nil)
				w.reconcile()
				_, active := w.jobs()
				if len(active) != 1 {
					t.Fatalf("%d active Jobs, want 1 (%v)", len(active), w.lastE)
				}
				got := taskOf(t, &active[0]).Limits
				want := worker.Limits{MaxColumns: format.DefaultMaxColumns, MaxRecordBytes: format.DefaultMaxRecordBytes, MaxFileBytes: format.DefaultMaxFileBytes, MaxChunkBytes: format.DefaultMaxChunkBytes}
				if got == nil || *got != want {
					t.Fatalf("task limits %+v, want the defaults %+v", got, want)
				}
			})
			t.Run("above the ceiling", func(t *testing.T) {
				w := newWorld(t, k, func(o client.Object) {
					setLimits(o, &v1alpha1.InputLimits{MaxChunkBytes: q("256Mi")})
				})
				setCeilings(w, ceilings)
				w.reconcile()
				conds, _, _ := w.conds()
				if s := condition(conds, v1alpha1.ConditionStalled); s != "True/"+ReasonLimitAboveCeiling {
					t.Fatalf("Stalled %s, want True/%s (conditions %+v)", s, ReasonLimitAboveCeiling, conds)
				}
				msg := conditionMessage(conds, v1alpha1.ConditionStalled)
				for _, want := range []string{"spec.limits.maxChunkBytes 256Mi", "ceiling of 128Mi", "--max-chunk-bytes"} {
					if !strings.Contains(msg, want) {
						t.Errorf("message %q lacks %q", msg, want)
					}
				}
				if all, _ := w.jobs(); len(all) != 0 {
					t.Errorf("%d Jobs created", len(all))
				}
			})
		})
	}
}
