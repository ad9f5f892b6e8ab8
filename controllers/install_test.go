package controllers

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// TestNamespacedRoleMatchesGenerated: the namespaced install's Role holds
// exactly the rules generated from the controllers' RBAC markers.
func TestNamespacedRoleMatchesGenerated(t *testing.T) {
	var cluster rbacv1.ClusterRole
	var ns rbacv1.Role
	for path, into := range map[string]any{
		filepath.Join("..", "config", "rbac", "role.yaml"):                    &cluster,
		filepath.Join("..", "config", "namespaced", "workloads", "role.yaml"): &ns,
	} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(data, into); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if d := cmp.Diff(cluster.Rules, ns.Rules); d != "" {
		t.Errorf("config/namespaced/workloads/role.yaml differs from the generated role (-generated +namespaced):\n%s", d)
	}
}

// kustomizeRBAC renders an overlay with kubectl and returns its RBAC
// objects, service accounts and namespaces (what authorization depends on).
func kustomizeRBAC(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	out, err := exec.Command(kubectl, "kustomize", filepath.Join("..", "config", dir)).Output()
	if err != nil {
		t.Fatalf("kubectl kustomize config/%s: %v", dir, err)
	}
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	for {
		var u unstructured.Unstructured
		if err := dec.Decode(&u.Object); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		switch u.GetKind() {
		case "Namespace", "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding":
			objs = append(objs, &u)
		}
	}
	return objs
}

// access is one question of the matrix: may the subject do verb on
// group/resource (or the non-resource path) in namespace?
type access struct {
	verb, group, resource, subresource, namespace, path string
	want                                                bool
}

func canI(t *testing.T, user string, groups []string, a access) bool {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: groups}}
	if a.path != "" {
		sar.Spec.NonResourceAttributes = &authorizationv1.NonResourceAttributes{Path: a.path, Verb: a.verb}
	} else {
		sar.Spec.ResourceAttributes = &authorizationv1.ResourceAttributes{
			Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.subresource, Namespace: a.namespace}
	}
	if err := k8s.Create(ctx, sar); err != nil {
		t.Fatal(err)
	}
	return sar.Status.Allowed
}

// checkMatrix asks the matrix for the service account sa of namespace ns.
func checkMatrix(t *testing.T, mode, ns, sa string, matrix []access) {
	t.Helper()
	user := "system:serviceaccount:" + ns + ":" + sa
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
	// The API server's RBAC authorizer answers from informers, so a
	// Role or binding created (or deleted) a moment ago may not count
	// yet: ask again until the answers match or ten seconds pass.
	var wrong []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		wrong = wrong[:0]
		for _, a := range matrix {
			what := a.verb + " " + a.resource
			if a.subresource != "" {
				what += "/" + a.subresource
			}
			if a.path != "" {
				what = a.verb + " " + a.path
			}
			if got := canI(t, user, groups, a); got != a.want {
				wrong = append(wrong, fmt.Sprintf("%s: can %s %s in %q? %v, want %v", mode, sa, what, a.namespace, got, a.want))
			}
		}
		if len(wrong) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, w := range wrong {
		t.Error(w)
	}
}

// TestInstallModesCanI is `kubectl auth can-i` for both install modes:
// the RBAC of config/default and of config/namespaced is created in the
// test API server and asked, through SubjectAccessReviews, what the
// manager's ServiceAccount may do.
func TestInstallModesCanI(t *testing.T) {
	needEnv(t)
	create := func(objs []*unstructured.Unstructured) {
		for _, o := range objs {
			if err := k8s.Create(ctx, o.DeepCopy()); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatalf("creating %s %s: %v", o.GetKind(), o.GetName(), err)
			}
		}
	}
	const mgr = "mldata-controller-manager"
	common := []access{
		{verb: "create", group: "authentication.k8s.io", resource: "tokenreviews", want: true},
		{verb: "create", group: "authorization.k8s.io", resource: "subjectaccessreviews", want: true},
		{verb: "get", group: "coordination.k8s.io", resource: "leases", namespace: "mldata-system", want: true},
		{verb: "create", resource: "secrets", namespace: "mldata-workloads", want: false},
		{verb: "update", resource: "secrets", namespace: "mldata-workloads", want: false},
		{verb: "create", resource: "pods", namespace: "mldata-workloads", want: false},
		{verb: "delete", resource: "pods", namespace: "mldata-workloads", want: false},
		{verb: "create", resource: "pods", subresource: "exec", namespace: "mldata-workloads", want: false},
		{verb: "create", resource: "serviceaccounts", subresource: "token", namespace: "mldata-workloads", want: false},
		{verb: "impersonate", resource: "serviceaccounts", namespace: "mldata-workloads", want: false},
		{verb: "update", group: "mldata.io", resource: "datasetbuilds", namespace: "mldata-workloads", want: false},
		{verb: "create", group: "rbac.authorization.k8s.io", resource: "rolebindings", namespace: "mldata-workloads", want: false},
		{verb: "get", path: "/metrics", want: false},
	}

	cluster := kustomizeRBAC(t, "default")
	create(cluster)
	checkMatrix(t, "config/default", "mldata-system", mgr, append([]access{
		{verb: "get", resource: "secrets", namespace: "team-a", want: true},
		{verb: "watch", resource: "secrets", namespace: "team-a", want: true},
		{verb: "list", resource: "pods", namespace: "team-a", want: true},
		{verb: "create", group: "batch", resource: "jobs", namespace: "team-a", want: true},
		{verb: "patch", group: "mldata.io", resource: "datasetbuilds", subresource: "status", namespace: "team-a", want: true},
		{verb: "create", group: "events.k8s.io", resource: "events", namespace: "team-a", want: true},
	}, common...))

	// Namespaced: the cluster-wide role goes, Roles in the watched
	// namespace come.
	for _, o := range cluster {
		if o.GetKind() == "ClusterRoleBinding" && o.GetName() == "mldata-manager-rolebinding" ||
			o.GetKind() == "ClusterRole" && o.GetName() == "mldata-manager-role" {
			if err := k8s.Delete(ctx, o.DeepCopy()); client.IgnoreNotFound(err) != nil {
				t.Fatal(err)
			}
		}
	}
	namespaced := kustomizeRBAC(t, "namespaced")
	for _, o := range namespaced {
		if o.GetKind() == "ClusterRole" && o.GetName() == "mldata-manager-role" {
			t.Errorf("config/namespaced has the cluster-wide manager role")
		}
	}
	create(namespaced)
	t.Cleanup(func() {
		for _, o := range append(namespaced, cluster...) {
			if o.GetKind() != "Namespace" {
				_ = k8s.Delete(ctx, o.DeepCopy())
			}
		}
	})
	checkMatrix(t, "config/namespaced", "mldata-system", mgr, append([]access{
		{verb: "get", resource: "secrets", namespace: "mldata-workloads", want: true},
		{verb: "watch", resource: "secrets", namespace: "mldata-workloads", want: true},
		{verb: "list", resource: "pods", namespace: "mldata-workloads", want: true},
		{verb: "create", group: "batch", resource: "jobs", namespace: "mldata-workloads", want: true},
		{verb: "patch", group: "mldata.io", resource: "datasetbuilds", subresource: "status", namespace: "mldata-workloads", want: true},
		{verb: "get", resource: "secrets", namespace: "team-a", want: false},
		{verb: "list", resource: "secrets", namespace: "", want: false},
		{verb: "list", resource: "pods", namespace: "team-a", want: false},
		{verb: "create", group: "batch", resource: "jobs", namespace: "team-a", want: false},
		{verb: "get", group: "mldata.io", resource: "datasetbuilds", namespace: "team-a", want: false},
	}, common...))

	// The worker's account, in the watched namespace, may do nothing in
	// the API.
	if !slices.ContainsFunc(namespaced, func(o *unstructured.Unstructured) bool {
		return o.GetKind() == "ServiceAccount" && o.GetNamespace() == "mldata-workloads" && o.GetName() == "mldata-worker"
	}) {
		t.Fatal("config/namespaced has no mldata-worker ServiceAccount in mldata-workloads")
	}
	checkMatrix(t, "config/namespaced worker", "mldata-workloads", "mldata-worker", []access{
		{verb: "get", resource: "secrets", namespace: "mldata-workloads", want: false},
		{verb: "list", resource: "secrets", namespace: "mldata-workloads", want: false},
		{verb: "list", resource: "pods", namespace: "mldata-workloads", want: false},
		{verb: "create", group: "batch", resource: "jobs", namespace: "mldata-workloads", want: false},
		{verb: "get", group: "mldata.io", resource: "datasetbuilds", namespace: "mldata-workloads", want: false},
	})

	// A scraper bound to the metrics-reader ClusterRole may read /metrics.
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "mldata-test-prometheus"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "mldata-metrics-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "prometheus", Namespace: "mldata-system"}},
	}
	if err := k8s.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx, binding) })
	checkMatrix(t, "metrics reader", "mldata-system", "prometheus", []access{
		{verb: "get", path: "/metrics", want: true},
		{verb: "get", resource: "secrets", namespace: "mldata-system", want: false},
	})
}
