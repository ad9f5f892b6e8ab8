package controllers

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mldata-io/mldata/api/v1alpha1"
)

// liveStep is one action on the live resource and what the API server
// must then hold: kstatus, conditions ("Type=Status/Reason") and the
// number of Jobs.
type liveStep struct {
	do    string
	want  status.Status
	conds []string
	jobs  int
}

// TestKstatusPathsEnvtest is TestKstatusPaths against a real API server:
// the three kinds, each in its own namespace, reconciled by a running
// manager; the test plays the kubelet and the Job controller. After each
// step kstatus Compute over the stored object (unstructured, as GitOps
// tools read it) must give the table's verdict, with observedGeneration
// current and the conditions the verdict rests on.
func TestKstatusPathsEnvtest(t *testing.T) {
	needEnv(t)
	const (
		current    = status.CurrentStatus
		inProgress = status.InProgressStatus
		failedS    = status.FailedStatus
	)
	progressing := []string{"Reconciling=True/" + v1alpha1.ReasonProgressing, "Stalled=False/" + v1alpha1.ReasonProgressing}
	paths := []struct {
		name  string
		setup func(k kind, o client.Object)
		steps []liveStep
	}{
		{"created, running, succeeded", nil, []liveStep{{"create", inProgress, progressing, 1}, {"hold", inProgress, progressing, 1},
			{"succeed", current, []string{"Ready=True/" + v1alpha1.ReasonSucceeded, "Reconciling=False/" + v1alpha1.ReasonSucceeded, "Stalled=False/" + v1alpha1.ReasonSucceeded}, 1}}},
		{"failed transient, retried, succeeded", nil, []liveStep{{"create", inProgress, progressing, 1},
			{"fail transient", inProgress, []string{"Reconciling=True/" + v1alpha1.ReasonRetryScheduled, "Stalled=False/" + v1alpha1.ReasonRetryScheduled, "Ready=False/" + v1alpha1.ReasonJobFailed}, 1},
			{"wait", inProgress, progressing, 2},
			{"succeed", current, []string{"Ready=True/" + v1alpha1.ReasonSucceeded}, 2}}},
		{"failed transient, attempts exhausted", nil, []liveStep{{"create", inProgress, progressing, 1},
			{"fail transient", inProgress, []string{"Reconciling=True/" + v1alpha1.ReasonRetryScheduled}, 1},
			{"wait", inProgress, progressing, 2},
			{"fail transient", failedS, []string{"Stalled=True/" + v1alpha1.ReasonRetriesExhausted, "Reconciling=False/" + v1alpha1.ReasonRetriesExhausted, "Ready=False/" + v1alpha1.ReasonRetriesExhausted}, 2},
			{"hold", failedS, nil, 2}}},
		{"failed permanent", nil, []liveStep{{"create", inProgress, progressing, 1},
			{"fail permanent", failedS, []string{"Stalled=True/" + v1alpha1.ReasonInvalidInput, "Reconciling=False/" + v1alpha1.ReasonInvalidInput, "Ready=False/" + v1alpha1.ReasonInvalidInput}, 1},
			{"hold", failedS, nil, 1}}},
		{"missing Secret", func(k kind, o client.Object) { k.secretRef(o, "s3-creds") }, []liveStep{
			{"create", failedS, []string{"Stalled=True/" + v1alpha1.ReasonSecretNotFound, "Ready=False/" + v1alpha1.ReasonSecretNotFound}, 0},
			{"hold", failedS, nil, 0},
			{"create Secret", inProgress, progressing, 1}}},
		{"suspended", func(k kind, o client.Object) { k.suspend(o, true) }, []liveStep{
			{"create", current, []string{"Ready=none", "Reconciling=False/" + v1alpha1.ReasonSuspended, "Stalled=False/" + v1alpha1.ReasonSuspended}, 0},
			{"hold", current, nil, 0},
			{"resume", inProgress, progressing, 1}}},
		{"suspended while running", nil, []liveStep{{"create", inProgress, progressing, 1},
			{"suspend", inProgress, []string{"Reconciling=True/" + v1alpha1.ReasonSuspended}, 1},
			{"succeed", current, []string{"Ready=True/" + v1alpha1.ReasonSucceeded}, 1}}},
	}
	t0 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	// Retries wait 1 s, 2 s, … on the manager's fake clock ("wait" steps
	// it).
	tm := startManagerOpts(t, t0, managerOpts{retryBase: time.Second})
	var table []string
	for _, k := range kinds {
		for _, p := range paths {
			t.Run(k.name+"/"+p.name, func(t *testing.T) {
				ns := newNamespace(t)
				src, out := copySample(t, "sample")
				obj := k.new(ns, src+"/customers-2024a.csv", "file://"+out+"/out")
				obj.SetUID("")
				obj.SetGeneration(0)
				if p.setup != nil {
					p.setup(k, obj)
				}
				gvk := obj.GetObjectKind().GroupVersionKind()
				var verdicts []string
				for i, s := range p.steps {
					liveDo(t, tm, k, obj, s.do)
					check := func() error {
						st := live(t, obj, gvk)
						if err := st.is(s.want, s.conds...); err != nil {
							return err
						}
						if n := len(listJobs(t, ns)); n != s.jobs {
							return fmt.Errorf("%d Jobs, want %d", n, s.jobs)
						}
						checkConsistent(t, st.conds, st.kstatus)
						return nil
					}
					if s.do == "hold" {
						consistently(t, fmt.Sprintf("step %d %s", i, s.do), check)
					} else {
						eventually(t, fmt.Sprintf("step %d %s", i, s.do), check)
					}
					verdicts = append(verdicts, s.do+" → "+string(s.want))
				}
				table = append(table, fmt.Sprintf("%-14s | %-38s | %s", k.name, p.name, strings.Join(verdicts, ", ")))
				drainEvents(tm)
			})
		}
	}
	sort.Strings(table)
	t.Logf("paths × kstatus on the API server:\n%s", strings.Join(table, "\n"))
}

// liveDo runs one step on the live resource.
func liveDo(t *testing.T, tm *testManager, k kind, obj client.Object, action string) {
	t.Helper()
	ns := obj.GetNamespace()
	finish := func(ok bool, permanent bool) {
		active := activeJobs(listJobs(t, ns))
		if len(active) != 1 {
			t.Fatalf("%s: %d running Jobs, want 1", action, len(active))
		}
		s := k.ok
		if !ok {
			s = failed(k.name, permanent)
		}
		msg, err := s.Encode()
		if err != nil {
			t.Fatal(err)
		}
		now := tm.clock.Now()
		finishJob(t, &active[0], ok, string(msg), now, now)
	}
	switch action {
	case "create":
		if err := k8s.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	case "hold":
	case "succeed":
		finish(true, false)
	case "fail transient":
		finish(false, false)
	case "fail permanent":
		finish(false, true)
	case "wait":
		// Past the next attempt's time (1 s after the first failure).
		tm.clock.Step(2 * time.Second)
	case "create Secret":
		if err := k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s3-creds", Namespace: ns}}); err != nil {
			t.Fatal(err)
		}
	case "suspend", "resume":
		cur := obj.DeepCopyObject().(client.Object)
		update(t, cur, func(o client.Object) { k.suspend(o, action == "suspend") })
	default:
		t.Fatalf("unknown step %q", action)
	}
}
