package localnode

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/mldata-io/mldata/hack/node/execstep"
)

func TestApplySecurityContextUser(t *testing.T) {
	for _, tc := range []struct {
		name     string
		psc      *corev1.PodSecurityContext
		csc      *corev1.SecurityContext
		uid, gid int64 // -1: unset (root)
	}{
		{"nothing set: root", nil, nil, -1, -1},
		{"runAsNonRoot on the pod: the image's user", &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)}, nil, ImageUser, ImageUser},
		{"runAsNonRoot on the container", nil, &corev1.SecurityContext{RunAsNonRoot: ptr.To(true)}, ImageUser, ImageUser},
		{"container turns it off", &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)}, &corev1.SecurityContext{RunAsNonRoot: ptr.To(false)}, -1, -1},
		{"runAsUser wins", &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](1000)}, nil, 1000, 0},
		{"runAsGroup kept", &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsGroup: ptr.To[int64](5)}, nil, ImageUser, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var spec execstep.Spec
			c := &corev1.Container{SecurityContext: tc.csc}
			applySecurityContext(&spec, &corev1.Pod{Spec: corev1.PodSpec{SecurityContext: tc.psc}}, c)
			got := func(p *int64) int64 {
				if p == nil {
					return -1
				}
				return *p
			}
			if got(spec.UID) != tc.uid || got(spec.GID) != tc.gid {
				t.Errorf("uid %d gid %d, want %d %d", got(spec.UID), got(spec.GID), tc.uid, tc.gid)
			}
		})
	}
}
