package v1alpha1_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mldata-io/mldata/api/v1alpha1"
)

// everyType has a value of each type with generated deepcopy functions.
var everyType = []any{
	&v1alpha1.ArtifactStatus{}, &v1alpha1.CSVOptions{}, &v1alpha1.ColumnPSI{}, &v1alpha1.ColumnSchema{}, &v1alpha1.ColumnSelector{}, &v1alpha1.ColumnSummary{},
	&v1alpha1.DatasetBuild{}, &v1alpha1.DatasetBuildList{}, &v1alpha1.DatasetBuildRef{}, &v1alpha1.DatasetBuildSpec{},
	&v1alpha1.DatasetBuildStatus{}, &v1alpha1.DatasetProfile{}, &v1alpha1.DatasetProfileList{}, &v1alpha1.DatasetProfileRef{},
	&v1alpha1.DatasetProfileSpec{}, &v1alpha1.DatasetProfileStatus{}, &v1alpha1.DriftCheck{}, &v1alpha1.DriftCheckList{},
	&v1alpha1.DriftCheckSpec{}, &v1alpha1.DriftCheckStatus{}, &v1alpha1.DriftInput{}, &v1alpha1.DriftMetrics{},
	&v1alpha1.DriftRun{}, &v1alpha1.DriftRunSummary{}, &v1alpha1.DriftThresholds{}, &v1alpha1.DriftedColumn{},
	&v1alpha1.HistoryLimits{}, &v1alpha1.InputLimits{}, &v1alpha1.OutputSpec{}, &v1alpha1.ParallelismSpec{}, &v1alpha1.ProfileOptions{},
	&v1alpha1.ProfileSource{}, &v1alpha1.ReportOutputSpec{}, &v1alpha1.RetrySpec{}, &v1alpha1.RetryStatus{}, &v1alpha1.RunPolicy{}, &v1alpha1.SchemaChanges{}, &v1alpha1.SchemaStatus{},
	&v1alpha1.SchemaVersion{}, &v1alpha1.SecretRef{}, &v1alpha1.ShardStatus{}, &v1alpha1.SourceFile{}, &v1alpha1.SourceSpec{},
	&v1alpha1.GateBaseline{}, &v1alpha1.PublishGateSpec{}, &v1alpha1.SplitCheckSpec{},
	&v1alpha1.SplitRatio{}, &v1alpha1.SplitRows{}, &v1alpha1.SplitSpec{}, &v1alpha1.TypeChange{},
	&v1alpha1.ValidationRule{}, &v1alpha1.ValidationSpec{},
	&v1alpha1.DriftMethodRule{}, &v1alpha1.DriftVerdict{},
}

// TestDeepCopyEveryType calls each type's DeepCopy directly (parents use
// DeepCopyInto, so TestDeepCopy does not reach them), on filled and on nil
// values. The list is checked against the generated file, so a new type
// cannot be left out.
func TestDeepCopyEveryType(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "zz_generated.deepcopy.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	generated := map[string]bool{}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "DeepCopy" || fn.Recv == nil {
			continue
		}
		generated[fn.Recv.List[0].Type.(*ast.StarExpr).X.(*ast.Ident).Name] = true
	}
	listed := map[string]bool{}
	for _, v := range everyType {
		listed[reflect.TypeOf(v).Elem().Name()] = true
	}
	if d := cmp.Diff(generated, listed); d != "" {
		t.Fatalf("everyType is out of date with zz_generated.deepcopy.go (-generated +listed):\n%s", d)
	}

	for seed := int64(0); seed < 5; seed++ {
		for _, v := range everyType {
			filler(seed).Fill(v)
			out := reflect.ValueOf(v).MethodByName("DeepCopy").Call(nil)[0].Interface()
			if d := cmp.Diff(v, out); d != "" {
				t.Errorf("%T.DeepCopy differs (-orig +copy):\n%s", v, d)
			}
		}
	}
	for _, v := range everyType {
		nilPtr := reflect.Zero(reflect.TypeOf(v))
		if out := nilPtr.MethodByName("DeepCopy").Call(nil)[0]; !out.IsNil() {
			t.Errorf("(%T)(nil).DeepCopy() = %v, want nil", v, out)
		}
	}
}
