package controllers

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/worker"
	"github.com/mldata-io/mldata/pkg/storage"
)

// setReach sets the Reach of a world's reconciler.
func setReach(w *world, reach Reach) {
	switch r := w.r.(type) {
	case *DatasetBuildReconciler:
		r.Reach = reach
	case *DatasetProfileReconciler:
		r.Reach = reach
	case *DriftCheckReconciler:
		r.Reach = reach
	}
}

// setServiceAccount sets spec.serviceAccountName of any kind.
func setServiceAccount(o client.Object, sa string) {
	switch o := o.(type) {
	case *v1alpha1.DatasetBuild:
		o.Spec.ServiceAccountName = sa
	case *v1alpha1.DatasetProfile:
		o.Spec.ServiceAccountName = sa
	case *v1alpha1.DriftCheck:
		o.Spec.ServiceAccountName = sa
	}
}

// TestEveryKindRefusedByDefault: with the operator's defaults, a
// DatasetBuild, a DatasetProfile and a DriftCheck whose URIs are on the
// manager's filesystem (file://), or that name a service account outside
// the allow-list, are Stalled with a message naming the field and the flag,
// and get no Job. The same resources with the URIs allowed get their Job.
func TestEveryKindRefusedByDefault(t *testing.T) {
	firstField := map[string]string{
		worker.KindDatasetBuild:   "spec.source.uri",
		worker.KindDatasetProfile: "spec.source.uri",
		worker.KindDriftCheck:     "spec.baseline.uri",
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			for _, tc := range []struct {
				name   string
				reach  Reach
				sa     string
				reason string
				want   []string
			}{
				{"file URIs", Reach{}, "", ReasonURIRefused, []string{firstField[k.name], "file URIs are not allowed", storage.FlagAllowedSchemes}},
				{"another service account", Reach{Policy: testReach.Policy}, "ci-deployer", ReasonServiceAccountNotAllowed,
					[]string{"spec.serviceAccountName", `"ci-deployer"`, DefaultWorkerServiceAccount, FlagAllowedServiceAccounts}},
				{"allowed", Reach{Policy: testReach.Policy}, DefaultWorkerServiceAccount, "", nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					w := newWorld(t, k, func(o client.Object) { setServiceAccount(o, tc.sa) })
					setReach(w, tc.reach)
					w.reconcile()
					if w.lastE != nil {
						t.Fatalf("reconcile: %v", w.lastE)
					}
					conds, _, _ := w.conds()
					all, _ := w.jobs()
					if tc.reason == "" {
						if s := condition(conds, v1alpha1.ConditionStalled); strings.HasPrefix(s, "True") || len(all) != 1 {
							t.Fatalf("allowed resource: Stalled %s, %d Jobs (conditions %+v)", s, len(all), conds)
						}
						if sa := all[0].Spec.Template.Spec.ServiceAccountName; sa != DefaultWorkerServiceAccount {
							t.Errorf("Job runs as %q", sa)
						}
						return
					}
					if s := condition(conds, v1alpha1.ConditionStalled); s != "True/"+tc.reason {
						t.Fatalf("Stalled %s, want True/%s (conditions %+v)", s, tc.reason, conds)
					}
					msg := conditionMessage(conds, v1alpha1.ConditionStalled)
					for _, want := range tc.want {
						if !strings.Contains(msg, want) {
							t.Errorf("message %q lacks %q", msg, want)
						}
					}
					if len(all) != 0 {
						t.Errorf("%d Jobs created for a refused resource", len(all))
					}
				})
			}
		})
	}
}

// TestOversizedManifestIsAWarning: a build whose manifest is larger than
// the manager reads (--max-manifest-bytes) is recorded as published, and
// its status says, first among its warnings and in Ready's message, that
// the manifest was not read and which flag to raise.
func TestOversizedManifestIsAWarning(t *testing.T) {
	w := newWorld(t, kinds[0], nil)
	reach := testReach
	reach.MaxManifestBytes = 1024
	setReach(w, reach)
	w.reconcile()
	if w.lastE != nil {
		t.Fatal(w.lastE)
	}
	out := string(w.obj.(*v1alpha1.DatasetBuild).Spec.Output.URI)
	loc, err := storage.OpenOutput(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	if err := loc.WriteFile(ctx, "builds/b1/manifest.json", []byte(`{"buildID":"b1","padding":"`+strings.Repeat("x", 4096)+`"}`)); err != nil {
		t.Fatal(err)
	}
	ok := kinds[0].ok
	ok.ManifestURI = strings.TrimSuffix(out, "/") + "/builds/b1/manifest.json"
	ok.Warnings = []string{"a warning of the build"}
	w.finish(ok)
	w.reconcile()
	if w.lastE != nil {
		t.Fatal(w.lastE)
	}
	var got v1alpha1.DatasetBuild
	if err := w.c.Get(ctx, client.ObjectKeyFromObject(w.obj), &got); err != nil {
		t.Fatal(err)
	}
	if s := condition(got.Status.Conditions, v1alpha1.ConditionReady); s != "True/"+v1alpha1.ReasonSucceeded || got.Status.BuildID != "b1" {
		t.Fatalf("Ready %s, build %q; want the build recorded", s, got.Status.BuildID)
	}
	if len(got.Status.Warnings) != 2 || got.Status.Warnings[1] != "a warning of the build" {
		t.Fatalf("warnings %q", got.Status.Warnings)
	}
	for _, where := range []string{got.Status.Warnings[0], conditionMessage(got.Status.Conditions, v1alpha1.ConditionReady)} {
		for _, want := range []string{"did not read the build's manifest", "larger than 1024 bytes", "--max-manifest-bytes"} {
			if !strings.Contains(where, want) {
				t.Errorf("%q lacks %q", where, want)
			}
		}
	}
}

// TestDriftInputSecretEndpointRefused: a DriftCheck input whose Secret
// points the store at an endpoint the policy refuses (loopback here) is
// Stalled by the manager, naming the Secret, the key and the flag, and no
// Job is started for what its worker would refuse anyway.
func TestDriftInputSecretEndpointRefused(t *testing.T) {
	w := newWorld(t, kinds[2], func(o client.Object) {
		d := o.(*v1alpha1.DriftCheck)
		d.Spec.Baseline.URI = "s3://bucket/baseline/"
		d.Spec.Baseline.SecretRef = &v1alpha1.SecretRef{Name: "creds-endpoint"}
	})
	if err := w.c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.obj.GetNamespace(), Name: "creds-endpoint"}, Data: map[string][]byte{
		storage.AWSAccessKeyID: []byte("test-access-key"), storage.AWSSecretAccessKey: []byte("test-secret-key"),
		storage.AWSRegion: []byte("us-east-1"), storage.AWSEndpointURL: []byte("http://127.0.0.1:9")}}); err != nil {
		t.Fatal(err)
	}
	// The other input and the output are local folders, which this
	// operator allows; endpoints are left at the default (none internal).
	p, err := storage.NewPolicy([]string{"s3", "file"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	setReach(w, Reach{Policy: p})
	w.reconcile()
	if w.lastE != nil {
		t.Fatalf("reconcile: %v", w.lastE)
	}
	conds, _, _ := w.conds()
	if s := condition(conds, v1alpha1.ConditionStalled); s != "True/"+ReasonURIRefused {
		t.Fatalf("Stalled %s, want True/%s (conditions %+v)", s, ReasonURIRefused, conds)
	}
	msg := conditionMessage(conds, v1alpha1.ConditionStalled)
	for _, want := range []string{"Secret creds-endpoint", "AWS_ENDPOINT_URL", "loopback", storage.FlagAllowedEndpoints} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if all, _ := w.jobs(); len(all) != 0 {
		t.Errorf("%d Jobs created for a refused input", len(all))
	}
}
