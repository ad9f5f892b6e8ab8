// Package jobs builds the batch/v1 Jobs that run the worker for a resource.
// The functions are pure — resource in, Job out — so that every field of the
// Job is table-tested without a cluster, and the controllers only decide
// when to create one.
//
// Decisions:
//   - The task goes to the worker as JSON in the MLDATA_TASK env var (see
//     package worker); credentials only through envFrom of the referenced
//     Secrets, never in args or the task.
//   - Pods meet the restricted Pod Security Standard: non-root, read-only
//     root filesystem, no privilege escalation, all capabilities dropped,
//     RuntimeDefault seccomp. Scratch space is an emptyDir at /scratch, also
//     TMPDIR and HOME, since cloud SDKs write caches there.
//   - Every worker pod gets the operator's PodDefaults (defaults.go):
//     requests and limits for what spec.resources leaves unset, a sizeLimit
//     on the scratch emptyDir, and the URI policy in its environment, which
//     the worker enforces as the manager does.
//   - The service account token is not mounted: the worker never calls the
//     API server. Cloud identity (IRSA, workload identity) uses its own
//     projected token or the metadata server.
//   - Names are <resource>-<run id>-<hash of both>, at most 63 characters,
//     so that the same run always has the same Job and a restarted
//     controller finds it instead of creating a second one, and two
//     resources never share a Job name.
//   - A sharded build (parallelism.shards > 1) runs a plan Job, an Indexed
//     Job of its shards (Shards) and a commit Job; see shards.go.
package jobs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/worker"
)

// Paths inside the worker's container.
const (
	ScratchPath   = "/scratch"
	ScratchVolume = "scratch"
	ContainerName = "worker"
)

// MaxNameLength is the longest Job name: Job names become a label value
// (batch.kubernetes.io/job-name) on their pods, limited to 63 characters.
const MaxNameLength = 63

// Settings are the operator-wide settings of every Job.
type Settings struct {
	// Image is the mldata image that runs `mldata worker`.
	Image string
	// ImagePullPolicy; "" leaves the cluster default.
	ImagePullPolicy corev1.PullPolicy
	// BackoffLimit is the number of retries of a failed pod.
	BackoffLimit int32
	// TTLSecondsAfterFinished deletes finished Jobs after this long; nil
	// keeps them (scheduled resources prune by history limits instead).
	TTLSecondsAfterFinished *int32
	// Pod are the defaults of every worker pod (resources, scratch limit,
	// environment); see PodDefaults.
	Pod PodDefaults
}

// Run is what one Job runs, for whom.
type Run struct {
	// Owner is the resource; GVK its kind.
	Owner metav1.Object
	GVK   schema.GroupVersionKind
	// ID is the run id: a hash of what the run depends on, or a
	// scheduled time.
	ID   string
	Task *worker.Task
	// SecretNames are the Secrets whose keys become env vars (envFrom).
	SecretNames []string
	Resources   *corev1.ResourceRequirements
	// ServiceAccountName runs the pod as this service account.
	ServiceAccountName string
	// ScheduledTime, when set, is recorded in an annotation.
	ScheduledTime *time.Time
	// ActiveDeadlineSeconds, when set, stops the Job after this long.
	ActiveDeadlineSeconds *int64
}

// ShortID is a 10-hex-digit hash of parts: deterministic run ids from what
// a run depends on.
func ShortID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:10]
}

// Name is the Job name of a resource's run: <name>-<id>-<hash>, where
// hash is a short hash of the full resource name and run id, and the name
// is cut so that the whole is at most 63 characters and a DNS label. The
// hash keeps names apart that the cut or the dot replacement would merge:
// sales.v1 and sales-v1, or two long names with the same beginning.
func Name(resource, id string) string {
	h := ShortID(resource, id)[:nameHashLen]
	max := MaxNameLength - len(id) - len(h) - 2
	prefix := strings.ReplaceAll(resource, ".", "-")
	if len(prefix) > max {
		prefix = strings.TrimRight(prefix[:max], "-")
	}
	return prefix + "-" + id + "-" + h
}

// nameHashLen is the length of the hash in Job names.
const nameHashLen = 6

// labelValue makes s a valid label value: names longer than 63 characters
// are cut and suffixed with a hash so that they stay unique.
func labelValue(s string) string {
	if len(s) <= 63 {
		return s
	}
	h := ShortID(s)
	return strings.TrimRight(s[:63-1-len(h)], "-._") + "-" + h
}

// Labels are the labels of a resource's Jobs and their pods.
func Labels(kind string, owner metav1.Object, runID string) map[string]string {
	return map[string]string{
		v1alpha1.LabelKind:  kind,
		v1alpha1.LabelName:  labelValue(owner.GetName()),
		v1alpha1.LabelUID:   string(owner.GetUID()),
		v1alpha1.LabelRunID: runID,
	}
}

// Build returns the Job for run.
func Build(s Settings, r Run) (*batchv1.Job, error) {
	if s.Image == "" {
		return nil, fmt.Errorf("no worker image configured")
	}
	if r.Task == nil || r.ID == "" {
		return nil, fmt.Errorf("run of %s/%s: task and id are required", r.Owner.GetNamespace(), r.Owner.GetName())
	}
	task, err := json.Marshal(r.Task)
	if err != nil {
		return nil, fmt.Errorf("encoding task: %w", err)
	}
	labels := Labels(r.GVK.Kind, r.Owner, r.ID)
	var annotations map[string]string
	if r.ScheduledTime != nil {
		annotations = map[string]string{v1alpha1.AnnotationScheduledTime: r.ScheduledTime.UTC().Format(time.RFC3339)}
	}
	var envFrom []corev1.EnvFromSource
	seen := map[string]bool{}
	for _, n := range r.SecretNames {
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		envFrom = append(envFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: n}}})
	}
	var res corev1.ResourceRequirements
	if r.Resources != nil {
		res = *r.Resources.DeepCopy()
	}
	container := corev1.Container{
		Name:            ContainerName,
		Image:           s.Image,
		ImagePullPolicy: s.ImagePullPolicy,
		Args:            []string{"worker", strings.ToLower(r.GVK.Kind), "--scratch", ScratchPath},
		Env: []corev1.EnvVar{
			{Name: worker.TaskEnv, Value: string(task)},
			{Name: "TMPDIR", Value: ScratchPath},
			{Name: "HOME", Value: ScratchPath},
		},
		EnvFrom:                  envFrom,
		Resources:                res,
		VolumeMounts:             []corev1.VolumeMount{{Name: ScratchVolume, MountPath: ScratchPath}},
		TerminationMessagePath:   corev1.TerminationMessagePathDefault,
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             ptr.To(true),
			ReadOnlyRootFilesystem:   ptr.To(true),
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:            Name(r.Owner.GetName(), r.ID),
			Namespace:       r.Owner.GetNamespace(),
			Labels:          labels,
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(r.Owner, r.GVK)},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr.To(s.BackoffLimit),
			ActiveDeadlineSeconds:   r.ActiveDeadlineSeconds,
			TTLSecondsAfterFinished: s.TTLSecondsAfterFinished,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					ServiceAccountName:           r.ServiceAccountName,
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{container},
					Volumes: []corev1.Volume{{
						Name:         ScratchVolume,
						VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
					}},
				},
			},
		},
	}
	applyPodDefaults(s.Pod, &job.Spec.Template.Spec)
	return job, nil
}

// Finished reports whether the Job completed or failed, and which.
func Finished(j *batchv1.Job) (done, succeeded bool) {
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, true
		case batchv1.JobFailed:
			return true, false
		}
	}
	return false, false
}

// FailureMessage is the message of a failed Job's Failed condition.
func FailureMessage(j *batchv1.Job) string {
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			return strings.TrimSpace(c.Reason + ": " + c.Message)
		}
	}
	return ""
}

// TerminationMessage returns the worker container's termination message of
// the newest terminated pod among pods, or "" when there is none.
func TerminationMessage(pods []corev1.Pod) string {
	var best string
	var bestTime time.Time
	for _, p := range pods {
		for _, cs := range p.Status.ContainerStatuses {
			t := cs.State.Terminated
			if cs.Name != ContainerName || t == nil || t.Message == "" {
				continue
			}
			if best == "" || t.FinishedAt.After(bestTime) {
				best, bestTime = t.Message, t.FinishedAt.Time
			}
		}
	}
	return best
}
