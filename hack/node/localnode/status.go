package localnode

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Reasons and messages as the kubelet reports them.
const (
	reasonContainerCreating   = "ContainerCreating"
	reasonPodInitializing     = "PodInitializing"
	reasonConfigError         = "CreateContainerConfigError"
	reasonCrashLoop           = "CrashLoopBackOff"
	reasonCompleted           = "Completed"
	reasonError               = "Error"
	reasonStartError          = "StartError"
	reasonErrImagePull        = "ErrImagePull"
	reasonStatusUnknown       = "ContainerStatusUnknown"
	reasonContainersNotReady  = "ContainersNotReady"
	reasonContainersNotInit   = "ContainersNotInitialized"
	reasonPodCompleted        = "PodCompleted"
	reasonPodFailed           = "PodFailed"
	reasonDeadlineExceeded    = "DeadlineExceeded"
	reasonReadinessGates      = "ReadinessGatesNotReady"
	messageDeadlineExceeded   = "Pod was active on the node longer than the specified deadline"
	messageContainerNotFound  = "The container could not be located when the pod was terminated"
	conditionReadyToStart     = corev1.PodReadyToStartContainers
	exitCodeNotStarted        = 128
	exitCodeKilled            = 137
	maxTerminationMessage     = 4096
	maxFallbackMessageLines   = 80
	maxFallbackMessageLength  = 2048
	defaultGracePeriodSeconds = 30
)

// podState is what the node knows about a pod at one moment; podStatus turns
// it into the API status.
type podState struct {
	Pod *corev1.Pod
	// Previous is the status last reported, whose condition transition times
	// are kept while a condition does not change.
	Previous       *corev1.PodStatus
	HostIP, PodIP  string
	StartTime      *metav1.Time
	InitStatuses   []corev1.ContainerStatus
	Statuses       []corev1.ContainerStatus
	SandboxReady   bool
	Terminal       bool   // nothing more will run: deleted, past its deadline, or rejected
	Reason         string // pod-level reason (rejection, DeadlineExceeded)
	Message        string
	ForceFailed    bool
	Now            time.Time
	ObservedGen    int64
	ReadinessGates map[corev1.PodConditionType]bool
}

// podStatus builds the pod's status the way the kubelet's
// generateAPIPodStatus does for the parts this node has.
func podStatus(s podState) corev1.PodStatus {
	st := corev1.PodStatus{
		HostIP:                s.HostIP,
		PodIP:                 s.PodIP,
		StartTime:             s.StartTime,
		QOSClass:              s.Pod.Status.QOSClass,
		InitContainerStatuses: withReadiness(s.InitStatuses),
		ContainerStatuses:     withReadiness(s.Statuses),
		Reason:                s.Reason,
		Message:               s.Message,
		ObservedGeneration:    s.ObservedGen,
	}
	if s.HostIP != "" {
		st.HostIPs = []corev1.HostIP{{IP: s.HostIP}}
	}
	if s.PodIP != "" {
		st.PodIPs = []corev1.PodIP{{IP: s.PodIP}}
	}
	st.Phase = podPhase(&s.Pod.Spec, st.InitContainerStatuses, st.ContainerStatuses, s.Terminal)
	if s.ForceFailed {
		st.Phase = corev1.PodFailed
	}
	// A pod that reached a terminal phase stays there.
	if p := s.Pod.Status.Phase; p == corev1.PodSucceeded || p == corev1.PodFailed {
		st.Phase = p
	}

	conds := []corev1.PodCondition{
		{Type: conditionReadyToStart, Status: boolCondition(s.SandboxReady && !isTerminalPhase(st.Phase))},
		initializedCondition(&s.Pod.Spec, st.InitContainerStatuses, st.ContainerStatuses, st.Phase),
	}
	containersReady := containersReadyCondition(&s.Pod.Spec, st.ContainerStatuses, st.Phase)
	ready := containersReady
	ready.Type = corev1.PodReady
	if containersReady.Status == corev1.ConditionTrue {
		var missing []string
		for _, g := range s.Pod.Spec.ReadinessGates {
			if !s.ReadinessGates[g.ConditionType] {
				missing = append(missing, string(g.ConditionType))
			}
		}
		if len(missing) > 0 {
			ready = corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: reasonReadinessGates,
				Message: fmt.Sprintf("the status of pod readiness gates %s is not \"True\"", missing)}
		}
	}
	conds = append(conds, ready, containersReady, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue})

	// Conditions that others own (DisruptionTarget, readiness gates) stay.
	owned := map[corev1.PodConditionType]bool{}
	for _, c := range conds {
		owned[c.Type] = true
	}
	prev := map[corev1.PodConditionType]corev1.PodCondition{}
	for _, c := range s.Pod.Status.Conditions {
		prev[c.Type] = c
	}
	if s.Previous != nil {
		for _, c := range s.Previous.Conditions {
			prev[c.Type] = c
		}
	}
	now := metav1.NewTime(s.Now.Truncate(time.Second))
	for i := range conds {
		c := &conds[i]
		c.ObservedGeneration = s.ObservedGen
		if p, ok := prev[c.Type]; ok && p.Status == c.Status && !p.LastTransitionTime.IsZero() {
			c.LastTransitionTime = p.LastTransitionTime
		} else {
			c.LastTransitionTime = now
		}
	}
	for _, c := range s.Pod.Status.Conditions {
		if !owned[c.Type] {
			conds = append(conds, c)
		}
	}
	st.Conditions = conds
	return st
}

func boolCondition(b bool) corev1.ConditionStatus {
	if b {
		return corev1.ConditionTrue
	}
	return corev1.ConditionFalse
}

func isTerminalPhase(p corev1.PodPhase) bool {
	return p == corev1.PodSucceeded || p == corev1.PodFailed
}

// withReadiness fills Ready and Started: without probes, a running container
// is started and ready.
func withReadiness(in []corev1.ContainerStatus) []corev1.ContainerStatus {
	out := make([]corev1.ContainerStatus, len(in))
	for i, cs := range in {
		running := cs.State.Running != nil
		cs.Ready = running
		cs.Started = &running
		out[i] = cs
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func findStatus(statuses []corev1.ContainerStatus, name string) (corev1.ContainerStatus, bool) {
	for _, s := range statuses {
		if s.Name == name {
			return s, true
		}
	}
	return corev1.ContainerStatus{}, false
}

func anyRegularStarted(spec *corev1.PodSpec, statuses []corev1.ContainerStatus) bool {
	for _, c := range spec.Containers {
		if s, ok := findStatus(statuses, c.Name); ok && (s.State.Running != nil || s.State.Terminated != nil || s.LastTerminationState.Terminated != nil) {
			return true
		}
	}
	return false
}

// podPhase is the kubelet's getPhase for pods without restartable init
// containers (which this node rejects).
func podPhase(spec *corev1.PodSpec, initStatuses, statuses []corev1.ContainerStatus, podIsTerminal bool) corev1.PodPhase {
	pendingInit, failedInit := 0, 0
	for _, c := range spec.InitContainers {
		s, ok := findStatus(initStatuses, c.Name)
		switch {
		case !ok:
			pendingInit++
		case s.State.Running != nil:
			pendingInit++
		case s.State.Terminated != nil:
			if s.State.Terminated.ExitCode != 0 {
				failedInit++
			}
		case s.State.Waiting != nil:
			if t := s.LastTerminationState.Terminated; t != nil {
				if t.ExitCode != 0 {
					failedInit++
				}
			} else {
				pendingInit++
			}
		default:
			pendingInit++
		}
	}
	unknown, running, waiting, stopped, succeeded := 0, 0, 0, 0, 0
	for _, c := range spec.Containers {
		s, ok := findStatus(statuses, c.Name)
		switch {
		case !ok:
			unknown++
		case s.State.Running != nil:
			running++
		case s.State.Terminated != nil:
			stopped++
			if s.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case s.State.Waiting != nil:
			if s.LastTerminationState.Terminated != nil {
				stopped++
			} else {
				waiting++
			}
		default:
			unknown++
		}
	}
	if failedInit > 0 && spec.RestartPolicy == corev1.RestartPolicyNever {
		return corev1.PodFailed
	}
	switch {
	case pendingInit > 0 && !anyRegularStarted(spec, statuses), waiting > 0:
		return corev1.PodPending
	case running > 0 && unknown == 0:
		return corev1.PodRunning
	case running == 0 && stopped > 0 && unknown == 0:
		if podIsTerminal {
			if stopped == succeeded {
				return corev1.PodSucceeded
			}
			return corev1.PodFailed
		}
		if spec.RestartPolicy == corev1.RestartPolicyAlways {
			return corev1.PodRunning
		}
		if stopped == succeeded {
			return corev1.PodSucceeded
		}
		if spec.RestartPolicy == corev1.RestartPolicyNever {
			return corev1.PodFailed
		}
		return corev1.PodRunning
	}
	return corev1.PodPending
}

func initializedCondition(spec *corev1.PodSpec, initStatuses, statuses []corev1.ContainerStatus, phase corev1.PodPhase) corev1.PodCondition {
	cond := corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
	if len(spec.InitContainers) == 0 {
		return cond
	}
	var unknown, incomplete []string
	for _, c := range spec.InitContainers {
		s, ok := findStatus(initStatuses, c.Name)
		if !ok {
			unknown = append(unknown, c.Name)
		}
		if !ok || s.State.Terminated == nil || s.State.Terminated.ExitCode != 0 {
			incomplete = append(incomplete, c.Name)
		}
	}
	if phase == corev1.PodSucceeded && len(unknown) == 0 {
		cond.Reason = reasonPodCompleted
		return cond
	}
	if anyRegularStarted(spec, statuses) {
		return cond
	}
	var msgs []string
	if len(unknown) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unknown status: %s", unknown))
	}
	if len(incomplete) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with incomplete status: %s", incomplete))
	}
	if len(msgs) > 0 {
		return corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionFalse, Reason: reasonContainersNotInit, Message: strings.Join(msgs, ", ")}
	}
	return cond
}

func containersReadyCondition(spec *corev1.PodSpec, statuses []corev1.ContainerStatus, phase corev1.PodPhase) corev1.PodCondition {
	var unknown, unready []string
	for _, c := range spec.Containers {
		s, ok := findStatus(statuses, c.Name)
		switch {
		case !ok:
			unknown = append(unknown, c.Name)
		case !s.Ready:
			unready = append(unready, c.Name)
		}
	}
	if phase == corev1.PodSucceeded && len(unknown) == 0 {
		return corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: reasonPodCompleted}
	}
	if phase == corev1.PodFailed {
		return corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: reasonPodFailed}
	}
	var msgs []string
	if len(unknown) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unknown status: %s", unknown))
	}
	if len(unready) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unready status: %s", unready))
	}
	if len(msgs) > 0 {
		return corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: reasonContainersNotReady, Message: strings.Join(msgs, ", ")}
	}
	return corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}
}

// terminatedState is a finished container's state; reason Completed for exit
// code 0, else Error (never OOMKilled: the node sets no memory limits).
func terminatedState(exitCode int32, startedAt, finishedAt time.Time, message, containerID string) *corev1.ContainerStateTerminated {
	reason := reasonError
	if exitCode == 0 {
		reason = reasonCompleted
	}
	return &corev1.ContainerStateTerminated{
		ExitCode:    exitCode,
		Reason:      reason,
		Message:     message,
		StartedAt:   metav1.NewTime(startedAt),
		FinishedAt:  metav1.NewTime(finishedAt),
		ContainerID: containerID,
	}
}
