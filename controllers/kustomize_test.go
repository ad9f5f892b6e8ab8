package controllers

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestKustomizeDryRun applies the default overlay to the test API server
// with server-side validation: CRDs, RBAC and the manager Deployment.
func TestKustomizeDryRun(t *testing.T) {
	needEnv(t)
	path, err := exec.LookPath("kubectl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	// A dry run does not create the Namespace that the namespaced
	// objects go in, so it must exist, as after a first real apply.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "mldata-system"}}
	if err := k8s.Create(ctx, ns); client.IgnoreAlreadyExists(err) != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, "--kubeconfig", kubeconf, "apply", "--dry-run=server", "-k", "../config/default").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl apply --dry-run=server -k config/default: %v\n%s", err, out)
	}
	for _, want := range []string{"deployment.apps/mldata-controller-manager", "clusterrole.rbac.authorization.k8s.io/mldata-manager-role"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
