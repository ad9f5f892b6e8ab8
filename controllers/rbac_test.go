package controllers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/storage"
)

// TestManagerRunsWithItsRole runs the controllers as a user that holds
// exactly config/rbac/role.yaml: the metadata-only Secret watch, the
// Secret reads for listing and the Job writes must all be allowed by it,
// and the role must stay free of wildcards and of writes to Secrets.
func TestManagerRunsWithItsRole(t *testing.T) {
	needEnv(t)
	data, err := os.ReadFile(filepath.Join("..", "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(data, &role); err != nil {
		t.Fatal(err)
	}
	for _, r := range role.Rules {
		all := strings.Join(append(append(append([]string{}, r.APIGroups...), r.Resources...), r.Verbs...), ",")
		if strings.Contains(all, "*") {
			t.Errorf("wildcard in rule %v", r)
		}
		for _, res := range r.Resources {
			if res == "pods/exec" {
				t.Errorf("pods/exec in rule %v", r)
			}
			if res == "secrets" && strings.Join(r.Verbs, ",") != "get,list,watch" {
				t.Errorf("secrets verbs %v, want get, list, watch", r.Verbs)
			}
		}
	}
	const user = "mldata-test-manager"
	role.ObjectMeta = metav1.ObjectMeta{Name: "mldata-test-manager-role"}
	if err := k8s.Create(ctx, &role); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "mldata-test-manager"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}
	if err := k8s.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx, binding); _ = k8s.Delete(ctx, &role) })

	as := rest.CopyConfig(cfg)
	as.Impersonate = rest.ImpersonationConfig{UserName: user}
	tm := startManagerAs(t, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), "0", as)
	ns := newNamespace(t)
	src, _ := copySample(t, "sample")
	b := newBuild(ns, "rbac", src, "file://"+t.TempDir())
	b.Spec.Source.SecretRef = &v1alpha1.SecretRef{Name: "creds"}
	if err := k8s.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	eventually(t, "SecretNotFound", func() error {
		if c := condition(getBuild(t, b).Status.Conditions, v1alpha1.ConditionStalled); c != "True/SecretNotFound" {
			return fmt.Errorf("Stalled %s", c)
		}
		return nil
	})
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds"}, StringData: map[string]string{storage.AWSRegion: "eu-west-1"}}
	if err := k8s.Create(ctx, sec); err != nil {
		t.Fatal(err)
	}
	j := waitJobs(t, ns, 1)[0]
	// The Secret was read (through the API, as the role allows) for
	// listing: a local source ignores its keys and is listed.
	if got := tm.lister.credsFor(src); got[storage.AWSRegion] != "eu-west-1" {
		t.Errorf("listed with %v", got)
	}
	finishJob(t, &j, true, runWorker(t, &j), time.Now(), time.Now())
	eventually(t, "Ready", func() error {
		if c := condition(getBuild(t, b).Status.Conditions, v1alpha1.ConditionReady); c != "True/Succeeded" {
			return fmt.Errorf("Ready %s", c)
		}
		return nil
	})
}
