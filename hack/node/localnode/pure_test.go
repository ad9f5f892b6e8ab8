package localnode

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestImageResolve(t *testing.T) {
	images := Images{"mldata": "/bin/mldata", "shell": "/bin/sh", "ghcr.io/acme/tool": "/opt/tool", "pinned:v2": "/opt/pinned-v2"}
	for _, tc := range []struct {
		ref, want, errPart string
	}{
		{ref: "mldata", want: "/bin/mldata"},
		{ref: "mldata:dev", want: "/bin/mldata"},
		{ref: "ghcr.io/x/mldata:v1", want: "/bin/mldata"},
		{ref: "localhost:5000/team/mldata", want: "/bin/mldata"},
		{ref: "localhost:5000/mldata:v1@sha256:0123abcd", want: "/bin/mldata"},
		{ref: "docker.io/library/shell@sha256:feed", want: "/bin/sh"},
		// The full repository wins over the last component.
		{ref: "ghcr.io/acme/tool:1.0", want: "/opt/tool"},
		// A key with a tag matches only that tag.
		{ref: "pinned:v2", want: "/opt/pinned-v2"},
		{ref: "pinned:v3", errPart: `image "pinned:v3" is not available on this node`},
		{ref: "busybox:1.36", errPart: "--image busybox=/path/to/executable (mapped images: ghcr.io/acme/tool, mldata, pinned:v2, shell)"},
		{ref: "", errPart: `image ""`},
	} {
		got, err := images.Resolve(tc.ref)
		if tc.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Errorf("Resolve(%q) = %q, %v; want error containing %q", tc.ref, got, err, tc.errPart)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tc.ref, got, err, tc.want)
		}
	}
}

func TestParseImage(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	name, path, err := ParseImage("tool=" + exe)
	if err != nil || name != "tool" || path != exe {
		t.Fatalf("ParseImage = %q, %q, %v", name, path, err)
	}
	for v, want := range map[string]string{
		"tool":                     "want NAME=PATH",
		"=" + exe:                  "want NAME=PATH",
		"tool=" + plain:            "is not an executable file",
		"tool=" + dir:              "is not an executable file",
		"tool=" + dir + "/missing": "no such file",
	} {
		if _, _, err := ParseImage(v); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseImage(%q) error = %v, want %q", v, err, want)
		}
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "alpha", "B": "beta", "EMPTY": "", "": "blank"}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	for in, want := range map[string]string{
		"":                 "",
		"plain":            "plain",
		"$(A)":             "alpha",
		"x-$(A)-$(B)-y":    "x-alpha-beta-y",
		"$(A)$(B)":         "alphabeta",
		"$(UNDEFINED)":     "$(UNDEFINED)",
		"$$(A)":            "$(A)",
		"$$$(A)":           "$alpha",
		"$$$$(A)":          "$$(A)",
		"$(A":              "$(A",
		"$A":               "$A",
		"a$":               "a$",
		"$":                "$",
		"$$":               "$",
		"$()":              "blank",
		"$(EMPTY)x":        "x",
		"($(A))":           "(alpha)",
		"$(A)$(UNDEF":      "alpha$(UNDEF",
		"100$ and $(B)!":   "100$ and beta!",
		"$(A)$":            "alpha$",
		"nested $($(A))":   "nested $($(A))",
		"$(A) $$(B) $(B)":  "alpha $(B) beta",
		"multi\n$(A)\nend": "multi\nalpha\nend",
	} {
		if got := expand(in, lookup); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

// staticObjects serves Secrets and ConfigMaps from memory with the API's
// not-found errors, for the resolution logic alone; the integration tests
// read them from a real API server.
type staticObjects struct {
	secrets    map[string]*corev1.Secret
	configMaps map[string]*corev1.ConfigMap
}

func (s staticObjects) secret(_ context.Context, _, name string) (*corev1.Secret, error) {
	if v, ok := s.secrets[name]; ok {
		return v, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("secret"), name)
}

func (s staticObjects) configMap(_ context.Context, _, name string) (*corev1.ConfigMap, error) {
	if v, ok := s.configMaps[name]; ok {
		return v, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("configmap"), name)
}

func TestResolveEnv(t *testing.T) {
	objs := staticObjects{
		secrets: map[string]*corev1.Secret{"creds": {Data: map[string][]byte{"KEY": []byte("k1"), "SECRET": []byte("s1"), "USER": []byte("bob")}}},
		configMaps: map[string]*corev1.ConfigMap{
			"settings": {Data: map[string]string{"LEVEL": "debug", "USER": "from-cm"}},
		},
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p1", Namespace: "ns1", UID: "uid-1",
			Labels: map[string]string{"app": "x", "tier": "db"}, Annotations: map[string]string{"note": `say "hi"`}},
		Spec: corev1.PodSpec{NodeName: "mldata-local", ServiceAccountName: "worker"},
	}
	f := podFields{HostIP: "127.0.0.1", PodIP: "127.0.0.1", Allocatable: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("8Gi")}}
	optTrue := true
	for _, tc := range []struct {
		name    string
		c       corev1.Container
		want    []envVar
		wantErr string
		config  bool // the error makes the container wait
	}{
		{
			name: "envFrom then env, later wins, order of first definition",
			c: corev1.Container{
				EnvFrom: []corev1.EnvFromSource{
					{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
					{Prefix: "CM_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}},
					{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}},
				},
				Env: []corev1.EnvVar{
					{Name: "GREETING", Value: "hello $(USER) at $(CM_LEVEL), $$(USER) stays, $(NOPE) too"},
					{Name: "KEY", Value: "override"},
				},
			},
			want: []envVar{{"KEY", "override"}, {"SECRET", "s1"}, {"USER", "from-cm"}, {"CM_LEVEL", "debug"}, {"CM_USER", "from-cm"},
				{"LEVEL", "debug"}, {"GREETING", "hello from-cm at debug, $(USER) stays, $(NOPE) too"}},
		},
		{
			name: "env refers only to variables defined before it",
			c: corev1.Container{Env: []corev1.EnvVar{
				{Name: "A", Value: "$(B)"}, {Name: "B", Value: "b"}, {Name: "C", Value: "$(B)$(A)"},
			}},
			want: []envVar{{"A", "$(B)"}, {"B", "b"}, {"C", "b$(B)"}},
		},
		{
			name: "valueFrom: secret, configMap, downward API; not expanded",
			c: corev1.Container{
				Name: "main",
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
				},
				Env: []corev1.EnvVar{
					{Name: "S", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "SECRET"}}},
					{Name: "L", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "LEVEL"}}},
					{Name: "NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
					{Name: "NS", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
					{Name: "UID", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.uid"}}},
					{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
					{Name: "HOST", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.hostIP"}}},
					{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
					{Name: "SA", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.serviceAccountName"}}},
					{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
					{Name: "LABELS", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}},
					{Name: "NOTES", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations"}}},
					{Name: "CPU_REQ_M", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "requests.cpu", Divisor: resource.MustParse("1m")}}},
					{Name: "CPU_REQ", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "requests.cpu"}}},
					{Name: "CPU_LIM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}},
					{Name: "MEM_LIM_MI", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
					{Name: "RAW", Value: "$(S)"},
				},
			},
			want: []envVar{{"S", "s1"}, {"L", "debug"}, {"NAME", "p1"}, {"NS", "ns1"}, {"UID", "uid-1"}, {"IP", "127.0.0.1"},
				{"HOST", "127.0.0.1"}, {"NODE", "mldata-local"}, {"SA", "worker"}, {"APP", "x"},
				{"LABELS", "app=\"x\"\ntier=\"db\""}, {"NOTES", `note="say \"hi\""`},
				{"CPU_REQ_M", "250"}, {"CPU_REQ", "1"}, {"CPU_LIM", "2"}, {"MEM_LIM_MI", "1024"}, {"RAW", "s1"}},
		},
		{
			name: "optional sources that are missing are left out",
			c: corev1.Container{
				EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: &optTrue}}},
				Env: []corev1.EnvVar{
					{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Key: "K", Optional: &optTrue}}},
					{Name: "Y", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "NOKEY", Optional: &optTrue}}},
					{Name: "Z", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "nocm"}, Key: "K", Optional: &optTrue}}},
					{Name: "KEPT", Value: "yes"},
				},
			},
			want: []envVar{{"KEPT", "yes"}},
		},
		{
			name:    "missing envFrom Secret",
			c:       corev1.Container{EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}}}}},
			wantErr: `secret "absent" not found`, config: true,
		},
		{
			name:    "missing envFrom ConfigMap",
			c:       corev1.Container{EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nocm"}}}}},
			wantErr: `configmap "nocm" not found`, config: true,
		},
		{
			name: "missing key in a Secret",
			c: corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "NOKEY"}}}}},
			wantErr: "couldn't find key NOKEY in Secret ns1/creds", config: true,
		},
		{
			name: "missing key in a ConfigMap",
			c: corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "NOKEY"}}}}},
			wantErr: "couldn't find key NOKEY in ConfigMap ns1/settings", config: true,
		},
		{
			name:    "unsupported field",
			c:       corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.schedulerName"}}}}},
			wantErr: `env X: fieldRef "spec.schedulerName" is not supported`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolveEnv(context.Background(), objs, pod, &tc.c, f)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				var ce *configError
				if isConfig := errors.As(err, &ce); isConfig != tc.config {
					t.Fatalf("config error = %v, want %v (%v)", isConfig, tc.config, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("env (-want +got):\n%s", d)
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	env := []envVar{{"MODE", "fast"}, {"OUT", "/data"}}
	for _, tc := range []struct {
		name     string
		c        corev1.Container
		wantPath string
		wantArgv []string
	}{
		{"entrypoint with args", corev1.Container{Args: []string{"worker", "build", "--mode=$(MODE)"}},
			"/opt/bin/mldata", []string{"/opt/bin/mldata", "worker", "build", "--mode=fast"}},
		{"no command, no args", corev1.Container{}, "/opt/bin/mldata", []string{"/opt/bin/mldata"}},
		{"command replaces the entrypoint", corev1.Container{Command: []string{"/bin/sh", "-c"}, Args: []string{"echo $(OUT) $$(OUT)"}},
			"/bin/sh", []string{"/bin/sh", "-c", "echo /data $(OUT)"}},
		{"command naming the image's program", corev1.Container{Command: []string{"/mldata", "worker"}, Args: []string{"profile"}},
			"/opt/bin/mldata", []string{"/mldata", "worker", "profile"}},
		{"command by the image name", corev1.Container{Command: []string{"mldata"}},
			"/opt/bin/mldata", []string{"mldata"}},
		{"bare command resolved by the exec step", corev1.Container{Command: []string{"env"}},
			"env", []string{"env"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, argv := commandLine(&tc.c, "/opt/bin/mldata", "mldata", env)
			if path != tc.wantPath || !cmp.Equal(argv, tc.wantArgv) {
				t.Errorf("commandLine = %q %q, want %q %q", path, argv, tc.wantPath, tc.wantArgv)
			}
		})
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
	got := processEnv(pod, []envVar{{"A", "1"}, {"PATH", "/custom"}})
	if want := []string{"PATH=/custom", "HOSTNAME=p", "A=1"}; !cmp.Equal(got, want) {
		t.Errorf("processEnv = %q, want %q", got, want)
	}
}

func running(name string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
}

func waiting(name, reason string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
}

func exited(name string, code int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}
}

func backingOff(name string, code int32) corev1.ContainerStatus {
	s := waiting(name, reasonCrashLoop)
	s.LastTerminationState = exited(name, code).State
	return s
}

func TestPodPhase(t *testing.T) {
	spec := func(policy corev1.RestartPolicy, init []string, regular ...string) *corev1.PodSpec {
		s := &corev1.PodSpec{RestartPolicy: policy}
		for _, n := range init {
			s.InitContainers = append(s.InitContainers, corev1.Container{Name: n})
		}
		for _, n := range regular {
			s.Containers = append(s.Containers, corev1.Container{Name: n})
		}
		return s
	}
	S := func(s ...corev1.ContainerStatus) []corev1.ContainerStatus { return s }
	never, onFailure, always := corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure, corev1.RestartPolicyAlways
	for _, tc := range []struct {
		name     string
		spec     *corev1.PodSpec
		init     []corev1.ContainerStatus
		regular  []corev1.ContainerStatus
		terminal bool
		want     corev1.PodPhase
	}{
		{"creating", spec(never, nil, "a"), nil, S(waiting("a", reasonContainerCreating)), false, corev1.PodPending},
		{"config error waits", spec(never, nil, "a"), nil, S(waiting("a", reasonConfigError)), false, corev1.PodPending},
		{"running", spec(never, nil, "a"), nil, S(running("a")), false, corev1.PodRunning},
		{"one running one waiting", spec(never, nil, "a", "b"), nil, S(running("a"), waiting("b", "")), false, corev1.PodPending},
		{"succeeded", spec(never, nil, "a"), nil, S(exited("a", 0)), false, corev1.PodSucceeded},
		{"failed", spec(never, nil, "a"), nil, S(exited("a", 137)), false, corev1.PodFailed},
		{"one of two still running", spec(never, nil, "a", "b"), nil, S(exited("a", 1), running("b")), false, corev1.PodRunning},
		{"both ended, one failed", spec(never, nil, "a", "b"), nil, S(exited("a", 0), exited("b", 2)), false, corev1.PodFailed},
		{"OnFailure: failed container restarts", spec(onFailure, nil, "a"), nil, S(exited("a", 1)), false, corev1.PodRunning},
		{"OnFailure: backing off", spec(onFailure, nil, "a"), nil, S(backingOff("a", 1)), false, corev1.PodRunning},
		{"OnFailure: succeeded", spec(onFailure, nil, "a"), nil, S(exited("a", 0)), false, corev1.PodSucceeded},
		{"OnFailure: deleted while backing off", spec(onFailure, nil, "a"), nil, S(exited("a", 1)), true, corev1.PodFailed},
		{"Always: exited is restarting", spec(always, nil, "a"), nil, S(exited("a", 0)), false, corev1.PodRunning},
		{"Always: deleted after exit 0", spec(always, nil, "a"), nil, S(exited("a", 0)), true, corev1.PodSucceeded},
		{"unknown container", spec(never, nil, "a", "b"), nil, S(exited("a", 0)), false, corev1.PodPending},
		{"init running", spec(never, []string{"i"}, "a"), S(running("i")), S(waiting("a", reasonPodInitializing)), false, corev1.PodPending},
		{"init failed, Never", spec(never, []string{"i"}, "a"), S(exited("i", 1)), S(waiting("a", reasonPodInitializing)), false, corev1.PodFailed},
		{"init failed, OnFailure", spec(onFailure, []string{"i"}, "a"), S(backingOff("i", 1)), S(waiting("a", reasonPodInitializing)), false, corev1.PodPending},
		{"init done, main running", spec(never, []string{"i"}, "a"), S(exited("i", 0)), S(running("a")), false, corev1.PodRunning},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := podPhase(tc.spec, tc.init, tc.regular, tc.terminal); got != tc.want {
				t.Errorf("phase = %s, want %s", got, tc.want)
			}
		})
	}
}

func condition(st corev1.PodStatus, t corev1.PodConditionType) corev1.PodCondition {
	for _, c := range st.Conditions {
		if c.Type == t {
			return c
		}
	}
	return corev1.PodCondition{}
}

func TestPodStatus(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	t1 := t0.Add(5 * time.Second)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Generation: 3},
		Spec:       corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "main"}}},
		Status: corev1.PodStatus{QOSClass: corev1.PodQOSBestEffort, Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(-time.Minute))},
			{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "EvictionByEvictionAPI"},
		}},
	}
	start := metav1.NewTime(t0)
	base := podState{Pod: pod, HostIP: "127.0.0.1", PodIP: "127.0.0.1", StartTime: &start, Now: t0, ObservedGen: 3}

	pending := base
	pending.Statuses = []corev1.ContainerStatus{waiting("main", reasonContainerCreating)}
	st := podStatus(pending)
	if st.Phase != corev1.PodPending || st.QOSClass != corev1.PodQOSBestEffort || st.PodIP != "127.0.0.1" ||
		len(st.PodIPs) != 1 || st.HostIPs[0].IP != "127.0.0.1" || !st.StartTime.Equal(&start) || st.ObservedGeneration != 3 {
		t.Fatalf("pending status = %+v", st)
	}
	wantConds := []corev1.PodCondition{
		{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionFalse},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue},
		{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: reasonContainersNotReady, Message: "containers with unready status: [main]"},
		{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: reasonContainersNotReady, Message: "containers with unready status: [main]"},
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
		{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "EvictionByEvictionAPI"},
	}
	ignoreTimes := func(cs []corev1.PodCondition) []corev1.PodCondition {
		out := make([]corev1.PodCondition, len(cs))
		for i, c := range cs {
			c.LastTransitionTime, c.ObservedGeneration = metav1.Time{}, 0
			out[i] = c
		}
		return out
	}
	if d := cmp.Diff(wantConds, ignoreTimes(st.Conditions)); d != "" {
		t.Errorf("pending conditions (-want +got):\n%s", d)
	}
	if got := condition(st, corev1.PodScheduled).LastTransitionTime; !got.Equal(&metav1.Time{Time: t0.Add(-time.Minute)}) {
		t.Errorf("PodScheduled transition time = %v, want it kept from the API", got)
	}
	if cs := st.ContainerStatuses[0]; cs.Ready || cs.Started == nil || *cs.Started {
		t.Errorf("waiting container ready=%v started=%v", cs.Ready, cs.Started)
	}

	run := base
	run.Previous = &st
	run.Now = t1
	run.SandboxReady = true
	run.Statuses = []corev1.ContainerStatus{running("main")}
	st2 := podStatus(run)
	if st2.Phase != corev1.PodRunning || !st2.ContainerStatuses[0].Ready || !*st2.ContainerStatuses[0].Started {
		t.Fatalf("running status = %+v", st2)
	}
	for _, ct := range []corev1.PodConditionType{corev1.PodReady, corev1.ContainersReady, corev1.PodReadyToStartContainers} {
		c := condition(st2, ct)
		if c.Status != corev1.ConditionTrue || !c.LastTransitionTime.Equal(&metav1.Time{Time: t1}) {
			t.Errorf("%s = %+v, want True since t1", ct, c)
		}
	}
	if c := condition(st2, corev1.PodInitialized); !c.LastTransitionTime.Equal(&metav1.Time{Time: t0}) {
		t.Errorf("Initialized transition time = %v, want t0 (unchanged)", c.LastTransitionTime)
	}

	done := run
	done.Statuses = []corev1.ContainerStatus{exited("main", 0)}
	st3 := podStatus(done)
	if st3.Phase != corev1.PodSucceeded {
		t.Fatalf("phase = %s", st3.Phase)
	}
	for _, ct := range []corev1.PodConditionType{corev1.PodReady, corev1.ContainersReady} {
		if c := condition(st3, ct); c.Status != corev1.ConditionFalse || c.Reason != reasonPodCompleted {
			t.Errorf("%s = %+v, want False/PodCompleted", ct, c)
		}
	}
	if c := condition(st3, corev1.PodReadyToStartContainers); c.Status != corev1.ConditionFalse {
		t.Errorf("PodReadyToStartContainers = %+v, want False once the pod is done", c)
	}

	failed := run
	failed.Statuses = []corev1.ContainerStatus{exited("main", 1)}
	if st := podStatus(failed); st.Phase != corev1.PodFailed || condition(st, corev1.PodReady).Reason != reasonPodFailed {
		t.Errorf("failed pod = %s %+v", st.Phase, condition(st, corev1.PodReady))
	}

	deadline := run
	deadline.ForceFailed, deadline.Reason, deadline.Message = true, reasonDeadlineExceeded, messageDeadlineExceeded
	if st := podStatus(deadline); st.Phase != corev1.PodFailed || st.Reason != reasonDeadlineExceeded {
		t.Errorf("deadline = %s %s", st.Phase, st.Reason)
	}

	// The API's terminal phase is final even if a later report disagrees.
	sticky := run
	sticky.Pod = pod.DeepCopy()
	sticky.Pod.Status.Phase = corev1.PodFailed
	if st := podStatus(sticky); st.Phase != corev1.PodFailed {
		t.Errorf("phase after Failed = %s", st.Phase)
	}

	gated := run
	gated.Pod = pod.DeepCopy()
	gated.Pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/ready"}}
	if c := condition(podStatus(gated), corev1.PodReady); c.Status != corev1.ConditionFalse || c.Reason != reasonReadinessGates {
		t.Errorf("Ready with an unmet gate = %+v", c)
	}
	gated.ReadinessGates = map[corev1.PodConditionType]bool{"example.com/ready": true}
	if c := condition(podStatus(gated), corev1.PodReady); c.Status != corev1.ConditionTrue {
		t.Errorf("Ready with a met gate = %+v", c)
	}

	withInit := base
	withInit.Pod = pod.DeepCopy()
	withInit.Pod.Spec.InitContainers = []corev1.Container{{Name: "setup"}}
	withInit.InitStatuses = []corev1.ContainerStatus{running("setup")}
	withInit.Statuses = []corev1.ContainerStatus{waiting("main", reasonPodInitializing)}
	c := condition(podStatus(withInit), corev1.PodInitialized)
	if c.Status != corev1.ConditionFalse || c.Reason != reasonContainersNotInit || c.Message != "containers with incomplete status: [setup]" {
		t.Errorf("Initialized during init = %+v", c)
	}
}

func TestTerminationMessage(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var long strings.Builder
	for i := 1; i <= 100; i++ {
		long.WriteString(strings.Repeat("x", 10) + " line " + strconv.Itoa(i) + "\n")
	}
	var wide strings.Builder
	for i := 1; i <= 30; i++ {
		wide.WriteString(strings.Repeat(string(rune('a'+i%26)), 99) + "\n")
	}
	msg := write("msg", "summary: ok\n")
	empty := write("empty", "")
	huge := write("huge", strings.Repeat("m", 5000))
	log := write("log", "starting\nboom: bucket not found\n")
	longLog := write("long.log", long.String())
	wideLog := write("wide.log", wide.String())
	fallback := corev1.TerminationMessageFallbackToLogsOnError
	file := corev1.TerminationMessageReadFile
	for _, tc := range []struct {
		name, msgFile, logFile string
		policy                 corev1.TerminationMessagePolicy
		exit                   int32
		want                   string
	}{
		{"file wins", msg, log, fallback, 1, "summary: ok\n"},
		{"file only policy", empty, log, file, 1, ""},
		{"fallback on error", empty, log, fallback, 1, "starting\nboom: bucket not found\n"},
		{"no fallback on success", empty, log, fallback, 0, ""},
		{"missing message file", filepath.Join(dir, "none"), log, fallback, 2, "starting\nboom: bucket not found\n"},
		{"message capped at 4096 bytes", huge, log, fallback, 1, strings.Repeat("m", 4096)},
		{"last 80 lines", empty, longLog, fallback, 1, lastLines(long.String(), 80)},
		{"last 2048 bytes of them", empty, wideLog, fallback, 1, wide.String()[len(wide.String())-2048:]},
		{"no log", empty, filepath.Join(dir, "nolog"), fallback, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := terminationMessage(tc.msgFile, tc.logFile, tc.policy, tc.exit); got != tc.want {
				t.Errorf("message = %q, want %q", got, tc.want)
			}
		})
	}
	if got := lastLines(long.String(), 80); !strings.HasPrefix(got, "xxxxxxxxxx line 21\n") || strings.Count(got, "\n") != 80 {
		t.Fatalf("test helper lastLines is wrong: %q", got[:40])
	}
}

func lastLines(s string, n int) string {
	lines := strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n")
	out := strings.Join(lines[len(lines)-n:], "")
	if strings.HasSuffix(s, "\n") {
		out += "\n"
	}
	return out
}

func TestTailOffset(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		content string
		n       int
		want    string
	}{
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc", 2, "b\nc"},
		{"a\nb\nc\n", 5, "a\nb\nc\n"},
		{"", 3, ""},
		{strings.Repeat("0123456789\n", 10000), 3, strings.Repeat("0123456789\n", 3)},
	} {
		p := filepath.Join(dir, "log")
		if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		off, err := tailOffset(f, int64(len(tc.content)), tc.n)
		f.Close()
		if err != nil || tc.content[off:] != tc.want {
			t.Errorf("tail %d of %q = %q, %v; want %q", tc.n, trunc(tc.content), trunc(tc.content[off:]), err, trunc(tc.want))
		}
	}
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// A pod whose containers an earlier run of the node started is reported as
// the kubelet reports containers it cannot find.
func TestLostPodsAfterRestart(t *testing.T) {
	started := metav1.NewTime(time.Now().Add(-time.Minute))
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1"},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "done"}, {Name: "busy"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &started, ContainerStatuses: []corev1.ContainerStatus{
			exited("done", 0),
			{Name: "busy", RestartCount: 0, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}},
		}},
	}
	p := &provider{root: t.TempDir(), logDir: t.TempDir(), log: slogDiscard(), hostIP: "127.0.0.1", podIP: "127.0.0.1"}
	r := newPodRun(p, pod)
	if !r.lostEarlier(pod) {
		t.Fatal("lostEarlier = false for a pod with a running container")
	}
	st := r.snapshot(false).Status
	if st.Phase != corev1.PodFailed || !st.StartTime.Equal(&started) {
		t.Errorf("phase %s, startTime %v", st.Phase, st.StartTime)
	}
	busy := st.ContainerStatuses[1].State.Terminated
	if busy == nil || busy.ExitCode != 137 || busy.Reason != reasonStatusUnknown || busy.Message != messageContainerNotFound {
		t.Errorf("busy = %+v", st.ContainerStatuses[1].State)
	}
	if done := st.ContainerStatuses[0].State.Terminated; done == nil || done.ExitCode != 0 {
		t.Errorf("done = %+v", st.ContainerStatuses[0].State)
	}

	fresh := pod.DeepCopy()
	fresh.Status = corev1.PodStatus{}
	if newPodRun(p, fresh).lostEarlier(fresh) {
		t.Error("lostEarlier = true for a new pod")
	}
	onFailure := pod.DeepCopy()
	onFailure.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	if newPodRun(p, onFailure).lostEarlier(onFailure) {
		t.Error("lostEarlier = true for a pod that may restart its containers")
	}
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }
