package jobs

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/worker"
)

var gvk = v1alpha1.GroupVersion.WithKind("DatasetBuild")

func owner(name string) *v1alpha1.DatasetBuild {
	return &v1alpha1.DatasetBuild{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ml", UID: "uid-1"}}
}

var task = &worker.Task{Kind: worker.KindDatasetBuild, Name: "churn", Build: &v1alpha1.DatasetBuildSpec{
	Source: v1alpha1.SourceSpec{URI: "s3://b/raw"}, Output: v1alpha1.OutputSpec{URI: "s3://b/out"}}}

// wantJob is the Job of the base case, written out field by field.
func wantJob() *batchv1.Job {
	taskJSON, _ := json.Marshal(task)
	labels := map[string]string{
		"mldata.io/kind": "DatasetBuild", "mldata.io/name": "churn", "mldata.io/uid": "uid-1", "mldata.io/run-id": "abc123",
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: "churn-abc123-" + ShortID("churn", "abc123")[:6], Namespace: "ml", Labels: labels,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "mldata.io/v1alpha1", Kind: "DatasetBuild", Name: "churn", UID: "uid-1",
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr.To[int32](2),
			TTLSecondsAfterFinished: ptr.To[int32](3600),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy:                "Never",
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						SeccompProfile: &corev1.SeccompProfile{Type: "RuntimeDefault"},
					},
					Containers: []corev1.Container{{
						Name: "worker", Image: "mldata:test",
						Args: []string{"worker", "datasetbuild", "--scratch", "/scratch"},
						Env: []corev1.EnvVar{
							{Name: "MLDATA_TASK", Value: string(taskJSON)},
							{Name: "TMPDIR", Value: "/scratch"},
							{Name: "HOME", Value: "/scratch"},
						},
						VolumeMounts:             []corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}},
						TerminationMessagePath:   "/dev/termination-log",
						TerminationMessagePolicy: "FallbackToLogsOnError",
						SecurityContext: &corev1.SecurityContext{
							RunAsNonRoot:             ptr.To(true),
							ReadOnlyRootFilesystem:   ptr.To(true),
							AllowPrivilegeEscalation: ptr.To(false),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
							SeccompProfile:           &corev1.SeccompProfile{Type: "RuntimeDefault"},
						},
					}},
					Volumes: []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				},
			},
		},
	}
}

func TestBuild(t *testing.T) {
	settings := Settings{Image: "mldata:test", BackoffLimit: 2, TTLSecondsAfterFinished: ptr.To[int32](3600)}
	base := func() Run { return Run{Owner: owner("churn"), GVK: gvk, ID: "abc123", Task: task} }
	at := time.Date(2026, 11, 27, 3, 0, 0, 0, time.FixedZone("CET", 3600))
	res := &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}

	tests := []struct {
		name     string
		settings Settings
		run      func() Run
		want     func() *batchv1.Job
	}{
		{"base", settings, base, wantJob},
		{"secrets deduplicated, in order", settings,
			func() Run { r := base(); r.SecretNames = []string{"s3", "", "gcs", "s3"}; return r },
			func() *batchv1.Job {
				j := wantJob()
				j.Spec.Template.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{
					{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "s3"}}},
					{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "gcs"}}},
				}
				return j
			}},
		{"resources, service account, schedule, no TTL", Settings{Image: "mldata:test", BackoffLimit: 0, ImagePullPolicy: corev1.PullIfNotPresent},
			func() Run {
				r := base()
				r.Resources, r.ServiceAccountName, r.ScheduledTime = res, "reader", &at
				return r
			},
			func() *batchv1.Job {
				j := wantJob()
				j.Spec.BackoffLimit, j.Spec.TTLSecondsAfterFinished = ptr.To[int32](0), nil
				a := map[string]string{"mldata.io/scheduled-time": "2026-11-27T02:00:00Z"}
				j.Annotations, j.Spec.Template.Annotations = a, a
				j.Spec.Template.Spec.ServiceAccountName = "reader"
				j.Spec.Template.Spec.Containers[0].Resources = *res
				j.Spec.Template.Spec.Containers[0].ImagePullPolicy = corev1.PullIfNotPresent
				return j
			}},
		{"active deadline", settings,
			func() Run { r := base(); r.ActiveDeadlineSeconds = ptr.To[int64](600); return r },
			func() *batchv1.Job { j := wantJob(); j.Spec.ActiveDeadlineSeconds = ptr.To[int64](600); return j }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Build(tt.settings, tt.run())
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want(), got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}

	if _, err := Build(Settings{}, base()); err == nil {
		t.Error("no image accepted")
	}
	if _, err := Build(settings, Run{Owner: owner("x"), GVK: gvk}); err == nil {
		t.Error("run without task accepted")
	}
}

func TestNameAndLabels(t *testing.T) {
	long := strings.Repeat("a", 60) + ".b-c"
	tests := []struct{ resource, id, want string }{
		{"churn", "0123456789", "churn-0123456789-" + ShortID("churn", "0123456789")[:6]},
		{"a.b", "1", "a-b-1-" + ShortID("a.b", "1")[:6]},
		{long, "0123456789", strings.Repeat("a", 45) + "-0123456789-" + ShortID(long, "0123456789")[:6]},
		{strings.Repeat("a", 44) + "-" + strings.Repeat("b", 20), "0123456789", strings.Repeat("a", 44) + "-0123456789-" + ShortID(strings.Repeat("a", 44)+"-"+strings.Repeat("b", 20), "0123456789")[:6]},
	}
	for _, tt := range tests {
		got := Name(tt.resource, tt.id)
		if got != tt.want {
			t.Errorf("Name(%q) = %q, want %q", tt.resource, got, tt.want)
		}
		if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
			t.Errorf("Name(%q) = %q: %v", tt.resource, got, errs)
		}
	}
	// Names that the dot replacement or the cut would merge stay apart.
	for _, pair := range [][2]string{{"sales.v1", "sales-v1"}, {long, long + "x"}, {strings.Repeat("a", 253), strings.Repeat("a", 252) + "b"}} {
		if a, b := Name(pair[0], "1700000000"), Name(pair[1], "1700000000"); a == b || len(a) > MaxNameLength || len(b) > MaxNameLength {
			t.Errorf("Name(%q) = %q, Name(%q) = %q", pair[0], a, pair[1], b)
		}
	}
	if Name("sales", "1") == Name("sales", "2") {
		t.Error("run ids collide")
	}
	l := Labels("DriftCheck", owner(strings.Repeat("x", 200)), "r")
	if v := l[v1alpha1.LabelName]; len(v) > 63 || len(validation.IsValidLabelValue(v)) > 0 {
		t.Errorf("label value %q", v)
	}
	if Labels("DriftCheck", owner(strings.Repeat("x", 200)), "r")[v1alpha1.LabelName] == Labels("DriftCheck", owner(strings.Repeat("x", 201)), "r")[v1alpha1.LabelName] {
		t.Error("long names collide")
	}
	if ShortID("a", "bc") == ShortID("ab", "c") || len(ShortID("x")) != 10 || ShortID("x") != ShortID(strings.ToLower("X")) {
		t.Error("ShortID is not a separator-aware deterministic 10-digit hash")
	}
}

func TestFinishedAndMessages(t *testing.T) {
	cond := func(typ batchv1.JobConditionType, s corev1.ConditionStatus) *batchv1.Job {
		return &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: typ, Status: s, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"}}}}
	}
	tests := []struct {
		job        *batchv1.Job
		done, ok   bool
		failureMsg string
	}{
		{&batchv1.Job{}, false, false, ""},
		{cond(batchv1.JobComplete, corev1.ConditionTrue), true, true, ""},
		{cond(batchv1.JobFailed, corev1.ConditionTrue), true, false, "BackoffLimitExceeded: Job has reached the specified backoff limit"},
		{cond(batchv1.JobFailed, corev1.ConditionFalse), false, false, ""},
	}
	for i, tt := range tests {
		done, ok := Finished(tt.job)
		if done != tt.done || ok != tt.ok || FailureMessage(tt.job) != tt.failureMsg {
			t.Errorf("%d: Finished = %v %v, message %q", i, done, ok, FailureMessage(tt.job))
		}
	}
	term := func(name, msg string, at time.Time) corev1.Pod {
		return corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Message: msg, FinishedAt: metav1.NewTime(at)}}}}}}
	}
	t0 := time.Unix(1000, 0)
	pods := []corev1.Pod{term("worker", "first", t0), term("worker", "second", t0.Add(time.Minute)), term("sidecar", "other", t0.Add(time.Hour)), {}}
	if got := TerminationMessage(pods); got != "second" {
		t.Errorf("TerminationMessage = %q", got)
	}
	if got := TerminationMessage(nil); got != "" {
		t.Errorf("TerminationMessage(nil) = %q", got)
	}
}
