package jobs

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/mldata-io/mldata/api/v1alpha1"
)

// ExitUsage is the worker's exit code for a task it can never run (a bad
// task or shard index): retrying such a shard cannot help.
const ExitUsage = 2

// Shards returns the Indexed Job that runs the shards of a sharded build:
// one completion per shard, each pod given its index in
// JOB_COMPLETION_INDEX by Kubernetes.
//
// Decisions:
//   - backoffLimitPerIndex (the operator's BackoffLimit): a failed or killed
//     shard is retried alone, never the others; the Job fails once an index
//     used up its retries, and its status names the failed indexes.
//   - podFailurePolicy: a pod disrupted by the cluster (preemption,
//     eviction, node drain: the DisruptionTarget condition) does not count
//     against the shard's retries; a worker that exits with ExitUsage fails
//     its index at once.
//   - a soft topology spread over nodes, so that the shards of one build
//     use the nodes there are before doubling up on one.
//   - parallelism is maxParallel (all shards when 0).
func Shards(s Settings, r Run, shards, maxParallel int32) (*batchv1.Job, error) {
	if shards < 1 {
		return nil, fmt.Errorf("shards %d: need at least 1", shards)
	}
	job, err := Build(s, r)
	if err != nil {
		return nil, err
	}
	par := shards
	if maxParallel > 0 && maxParallel < shards {
		par = maxParallel
	}
	spec := &job.Spec
	spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	spec.Completions = ptr.To(shards)
	spec.Parallelism = ptr.To(par)
	spec.BackoffLimit = nil // one limit per index instead
	spec.BackoffLimitPerIndex = ptr.To(s.BackoffLimit)
	spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
		{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
			{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
		{Action: batchv1.PodFailurePolicyActionFailIndex, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
			ContainerName: ptr.To(ContainerName), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{ExitUsage}}},
	}}
	spec.Template.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
		MaxSkew: 1, TopologyKey: corev1.LabelHostname, WhenUnsatisfiable: corev1.ScheduleAnyway,
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{
			v1alpha1.LabelUID: string(r.Owner.GetUID()), v1alpha1.LabelRunID: r.ID}},
	}}
	return job, nil
}
