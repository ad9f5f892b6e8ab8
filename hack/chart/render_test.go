package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"
)

var root = filepath.Join("..", "..")

// tool is bin/<name> of the repository, built by `make <name>`
// (hack/tools/install.sh); tests without it skip, except under CI.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(root, "bin", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		msg := fmt.Sprintf("no %s: run make %s (it builds it through the Go module proxy into bin/)", p, name)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// helm runs bin/helm with its caches and configuration in a temporary
// directory.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(tool(t, "helm"), args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home+"/cache", "HELM_CONFIG_HOME="+home+"/config", "HELM_DATA_HOME="+home+"/data")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), &helmError{args: args, err: err, stderr: stderr.String()}
	}
	return string(out), nil
}

// helmError is a failed helm command with what it wrote on stderr.
type helmError struct {
	args   []string
	err    error
	stderr string
}

func (e *helmError) Error() string {
	return fmt.Sprintf("helm %s: %v\n%s", strings.Join(e.args, " "), e.err, e.stderr)
}

// render is `helm template` of the chart as release mldata in mldata-system.
func render(t *testing.T, set ...string) string {
	t.Helper()
	args := []string{"template", "mldata", "charts/mldata", "--namespace", "mldata-system"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := helm(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	raw []byte
}

func (o object) id() string {
	if o.Metadata.Namespace != "" {
		return o.Kind + " " + o.Metadata.Namespace + "/" + o.Metadata.Name
	}
	return o.Kind + " " + o.Metadata.Name
}

func objects(t *testing.T, manifests string) []object {
	t.Helper()
	var out []object
	for _, doc := range strings.Split(manifests, "\n---") {
		if strings.TrimSpace(strings.TrimPrefix(doc, "---")) == "" {
			continue
		}
		var o object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("%v in\n%s", err, doc)
		}
		if o.Kind == "" {
			continue // a document of comments only
		}
		o.raw = []byte(doc)
		out = append(out, o)
	}
	return out
}

func find(t *testing.T, objs []object, kind, name string) object {
	t.Helper()
	for _, o := range objs {
		if o.Kind == kind && o.Metadata.Name == name {
			return o
		}
	}
	t.Fatalf("no %s %s in the rendered chart", kind, name)
	return object{}
}

func ids(objs []object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.id())
	}
	slices.Sort(out)
	return out
}

func rulesOf(t *testing.T, data []byte) []rbacv1.PolicyRule {
	t.Helper()
	var r rbacv1.ClusterRole
	if err := yaml.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r.Rules
}

func readConfig(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestHelmLint(t *testing.T) {
	for _, set := range [][]string{
		nil,
		{"scope=namespaced", "watchNamespaces={team-a,team-b}"},
		{"serviceMonitor.enabled=true", "prometheusRule.enabled=true", "grafanaDashboard.enabled=true"},
	} {
		args := []string{"lint", "--strict", "charts/mldata"}
		for _, s := range set {
			args = append(args, "--set", s)
		}
		if out, err := helm(t, args...); err != nil {
			t.Errorf("%v\n%s", err, out)
		}
	}
}

// TestChartClusterScope: the default install is config/default's objects,
// with their names and the generated rules.
func TestChartClusterScope(t *testing.T) {
	objs := objects(t, render(t))
	want := []string{
		"ClusterRole mldata-manager-role", "ClusterRole mldata-metrics-auth-role", "ClusterRole mldata-metrics-reader",
		"ClusterRoleBinding mldata-manager-rolebinding", "ClusterRoleBinding mldata-metrics-auth-rolebinding",
		"Deployment mldata-system/mldata-controller-manager",
		"Role mldata-system/mldata-leader-election-role", "RoleBinding mldata-system/mldata-leader-election-rolebinding",
		"Service mldata-system/mldata-controller-manager-metrics-service",
		"ServiceAccount mldata-system/mldata-controller-manager",
	}
	if got := ids(objs); !slices.Equal(got, want) {
		t.Errorf("objects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for kind, pair := range map[string][2]string{
		"mldata-manager-role":         {"ClusterRole", "config/rbac/role.yaml"},
		"mldata-leader-election-role": {"Role", "config/rbac/leader_election_role.yaml"},
		"mldata-metrics-auth-role":    {"ClusterRole", "config/rbac/metrics_auth_role.yaml"},
		"mldata-metrics-reader":       {"ClusterRole", "config/rbac/metrics_reader_role.yaml"},
	} {
		got := rulesOf(t, find(t, objs, pair[0], kind).raw)
		if want := rulesOf(t, readConfig(t, pair[1])); !slices.EqualFunc(got, want, ruleEqual) {
			t.Errorf("%s %s rules differ from %s:\n%v\nwant\n%v", pair[0], kind, pair[1], got, want)
		}
	}
	// The manager's flags: every flag of config/manager/manager.yaml with
	// the same value (the chart's defaults are the kustomize install's).
	chartArgs := managerArgs(t, find(t, objs, "Deployment", "mldata-controller-manager").raw)
	var kust []string
	for _, doc := range strings.Split(string(readConfig(t, "config/manager/manager.yaml")), "\n---") {
		if strings.Contains(doc, "kind: Deployment") {
			kust = managerArgs(t, []byte(doc))
		}
	}
	if len(kust) < 10 {
		t.Fatalf("config/manager/manager.yaml args: %v", kust)
	}
	for _, a := range kust {
		if a == "--leader-elect" {
			a = "--leader-elect=true"
		}
		if !slices.Contains(chartArgs, a) {
			t.Errorf("the chart's manager lacks %s of config/manager/manager.yaml; its args: %v", a, chartArgs)
		}
	}
	if slices.ContainsFunc(chartArgs, func(a string) bool { return strings.HasPrefix(a, "--namespaces") }) {
		t.Errorf("cluster scope watches namespaces: %v", chartArgs)
	}
}

func ruleEqual(a, b rbacv1.PolicyRule) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func managerArgs(t *testing.T, data []byte) []string {
	t.Helper()
	var d appsv1.Deployment
	if err := yaml.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	return d.Spec.Template.Spec.Containers[0].Args
}

// TestChartNamespacedScope: Roles in each watched namespace and no
// ClusterRole over objects, the manager watching those namespaces only.
func TestChartNamespacedScope(t *testing.T) {
	objs := objects(t, render(t, "scope=namespaced", "watchNamespaces={team-a,team-b}", "manager.allowedEndpoints={minio.storage.svc,10.96.0.0/12}"))
	got := ids(objs)
	for _, w := range []string{
		"Role team-a/mldata-manager-role", "RoleBinding team-a/mldata-manager-rolebinding", "ServiceAccount team-a/mldata-worker",
		"Role team-b/mldata-manager-role", "RoleBinding team-b/mldata-manager-rolebinding", "ServiceAccount team-b/mldata-worker",
	} {
		if !slices.Contains(got, w) {
			t.Errorf("no %s in %v", w, got)
		}
	}
	for _, w := range []string{"ClusterRole mldata-manager-role", "ClusterRoleBinding mldata-manager-rolebinding"} {
		if slices.Contains(got, w) {
			t.Errorf("namespaced scope has %s", w)
		}
	}
	var role rbacv1.Role
	for _, o := range objs {
		if o.Kind == "Role" && o.Metadata.Namespace == "team-a" {
			if err := yaml.Unmarshal(o.raw, &role); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The same rules as config/namespaced's Role, which a test keeps equal
	// to the generated ClusterRole.
	if want := rulesOf(t, readConfig(t, "config/namespaced/workloads/role.yaml")); !slices.EqualFunc(role.Rules, want, ruleEqual) {
		t.Errorf("Role rules %v, want %v", role.Rules, want)
	}
	args := managerArgs(t, find(t, objs, "Deployment", "mldata-controller-manager").raw)
	for _, w := range []string{"--namespaces=team-a,team-b", "--allowed-endpoints=minio.storage.svc,10.96.0.0/12"} {
		if !slices.Contains(args, w) {
			t.Errorf("args lack %s: %v", w, args)
		}
	}
}

// TestChartRefusesBadValues: what the schema and the templates refuse, with
// a message that says what to change.
func TestChartRefusesBadValues(t *testing.T) {
	for _, c := range []struct {
		set  []string
		want string
	}{
		{[]string{"scope=namespaced"}, "scope namespaced needs watchNamespaces"},
		{[]string{"scope=everywhere"}, "at '/scope': value must be one of 'cluster', 'namespaced'"},
		{[]string{"manager.maxConcurrentReconciles=0"}, "at '/manager/maxConcurrentReconciles': minimum: got 0, want 1"},
		{[]string{"manager.allowedSchemes={s3,ftp}"}, "at '/manager/allowedSchemes/1': value must be one of"},
		{[]string{"prometheusRule.intervalsWithoutSuccess=0"}, "at '/prometheusRule/intervalsWithoutSuccess': minimum"},
		{[]string{"replicaCount=-1"}, "at '/replicaCount': minimum"},
		{[]string{"manager.storageTimout=30s"}, "additional properties 'storageTimout' not allowed"},
		{[]string{"manager.reconcileTimeout=2 minutes"}, "at '/manager/reconcileTimeout'"},
	} {
		args := []string{"template", "mldata", "charts/mldata"}
		for _, s := range c.set {
			args = append(args, "--set", s)
		}
		_, err := helm(t, args...)
		var he *helmError
		if !errors.As(err, &he) || !strings.Contains(he.stderr, c.want) {
			t.Errorf("--set %v: error %v, want one saying %q", c.set, err, c.want)
		}
	}
}

// TestChartOptionalObjects: ServiceMonitor, PrometheusRule (the alerts of
// config/prometheus/alerts.yaml) and the dashboard ConfigMap (the JSON of
// config/grafana).
func TestChartOptionalObjects(t *testing.T) {
	objs := objects(t, render(t, "serviceMonitor.enabled=true", "prometheusRule.enabled=true", "grafanaDashboard.enabled=true",
		"metricsReaderSubjects[0].kind=ServiceAccount", "metricsReaderSubjects[0].name=prometheus", "metricsReaderSubjects[0].namespace=monitoring"))
	find(t, objs, "ServiceMonitor", "mldata-controller-manager-metrics-monitor")
	find(t, objs, "ClusterRoleBinding", "mldata-metrics-reader-rolebinding")
	rule := find(t, objs, "PrometheusRule", "mldata-alerts")
	var got, want struct {
		Spec any `json:"spec"`
	}
	if err := yaml.Unmarshal(rule.raw, &got); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(readConfig(t, "config/prometheus/alerts.yaml"), &want); err != nil {
		t.Fatal(err)
	}
	if g, w := fmt.Sprint(got.Spec), fmt.Sprint(want.Spec); g != w {
		t.Errorf("the chart's alerts differ from config/prometheus/alerts.yaml: run make chart")
	}
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(find(t, objs, "ConfigMap", "mldata-dashboard").raw, &cm); err != nil {
		t.Fatal(err)
	}
	if dash := readConfig(t, "config/grafana/mldata.json"); strings.TrimSpace(cm.Data["mldata.json"]) != strings.TrimSpace(string(dash)) {
		t.Errorf("the dashboard ConfigMap differs from config/grafana/mldata.json")
	}
}

// TestChartValidates renders both scopes with every option on and
// validates each object with kubeconform against JSON schemas made from
// the OpenAPI of a real API server (envtest) that has the chart's CRDs
// installed, so kinds, field names and types are those of the server.
func TestChartValidates(t *testing.T) {
	kubeconform := tool(t, "kubeconform")
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets, _ = filepath.Abs(filepath.Join(root, "bin", "k8s"))
	}
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		msg := "no kube-apiserver in " + assets + " (run make envtest-bins)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ctrllog.SetLogger(ctrllog.Log.WithSink(ctrllog.NullLogSink{}))
	env := &envtest.Environment{
		BinaryAssetsDirectory:    assets,
		CRDDirectoryPaths:        []string{filepath.Join(root, "charts", "mldata", "crds")},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 3 * time.Minute,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting envtest: %v", err)
	}
	defer func() { _ = env.Stop() }()
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	doc, err := dc.RESTClient().Get().AbsPath("/openapi/v2").Do(ctx).Raw()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"mldata-system", "team-a", "team-b"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	schemas := t.TempDir()
	n, err := writeSchemas(doc, schemas)
	if err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Fatalf("only %d schemas from the API server", n)
	}
	for name, set := range map[string][]string{
		"cluster":    {"workerServiceAccount.namespaces={team-a}", "metricsReaderSubjects[0].kind=ServiceAccount", "metricsReaderSubjects[0].name=prometheus", "metricsReaderSubjects[0].namespace=monitoring", "grafanaDashboard.enabled=true", "serviceMonitor.enabled=true", "prometheusRule.enabled=true"},
		"namespaced": {"scope=namespaced", "watchNamespaces={team-a,team-b}", "grafanaDashboard.enabled=true"},
	} {
		manifests := render(t, set...)
		cmd := exec.Command(kubeconform, "-strict", "-summary", "-output", "text",
			// The Prometheus Operator's kinds have no schema here: promtool
			// checks the rules (internal/metrics), TestChartOptionalObjects
			// the rest.
			"-skip", "ServiceMonitor,PrometheusRule",
			"-schema-location", filepath.Join(schemas, "{{ .ResourceKind }}_{{ .Group }}_{{ .ResourceAPIVersion }}.json"), "-")
		cmd.Stdin = strings.NewReader(manifests)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s scope: kubeconform: %v\n%s", name, err, out)
			continue
		}
		t.Logf("%s scope: %s", name, bytes.TrimSpace(out))
		if !bytes.Contains(out, []byte("Invalid: 0, Errors: 0")) {
			t.Errorf("%s scope: %s", name, out)
		}
		dryRun(t, c, manifests)
	}
	// The check catches a misspelt field and a wrong type.
	for _, bad := range []string{
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: x}\nautomountServiceAcountToken: false\n",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: two, selector: {}, template: {}}\n",
		"apiVersion: mldata.io/v1alpha1\nkind: DriftCheck\nmetadata: {name: x}\nspec: {schedule: 5}\n",
	} {
		cmd := exec.Command(kubeconform, "-strict", "-schema-location", filepath.Join(schemas, "{{ .ResourceKind }}_{{ .Group }}_{{ .ResourceAPIVersion }}.json"), "-")
		cmd.Stdin = strings.NewReader(bad)
		out, err := cmd.CombinedOutput()
		if err == nil || !bytes.Contains(out, []byte("is invalid")) {
			t.Errorf("kubeconform did not refuse\n%s\nerror %v, output:\n%s", bad, err, out)
		} else {
			t.Logf("refused: %s", bytes.TrimSpace(out))
		}
	}
}

// dryRun creates every rendered object but the Prometheus Operator's in
// the API server with dryRun=All: the server's own validation and
// admission, references between RBAC objects included.
func dryRun(t *testing.T, c client.Client, manifests string) {
	t.Helper()
	for _, o := range objects(t, manifests) {
		if o.Kind == "ServiceMonitor" || o.Kind == "PrometheusRule" {
			continue
		}
		var u unstructured.Unstructured
		if err := yaml.Unmarshal(o.raw, &u.Object); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := c.Create(ctx, &u, client.DryRunAll)
		cancel()
		if err != nil {
			t.Errorf("%s: the API server refuses it: %v", o.id(), err)
		}
	}
}

// writeSchemas turns an OpenAPI v2 document into one standalone JSON
// schema per kind, named <kind>_<group or v1>_<version>.json as the
// -schema-location template above asks, as kubeconform's
// openapi2jsonschema does: references inlined, int-or-string accepted as
// either, and objects closed to unknown fields (kubeconform -strict).
func writeSchemas(doc []byte, dir string) (int, error) {
	var spec struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(doc, &spec); err != nil {
		return 0, err
	}
	if len(spec.Definitions) == 0 {
		return 0, errors.New("the OpenAPI document has no definitions")
	}
	n := 0
	for name, def := range spec.Definitions {
		gvks, _ := def["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			gvk, _ := g.(map[string]any)
			group, _ := gvk["group"].(string)
			version, _ := gvk["version"].(string)
			kind, _ := gvk["kind"].(string)
			if group == "" {
				group = version
			}
			s := inline(spec.Definitions, name, map[string]bool{})
			data, err := json.Marshal(s)
			if err != nil {
				return n, err
			}
			file := filepath.Join(dir, strings.ToLower(kind)+"_"+group+"_"+version+".json")
			if err := os.WriteFile(file, data, 0o644); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// inline returns definition name with its references replaced by the
// definitions they name; a reference back into itself (JSONSchemaProps)
// accepts anything.
func inline(defs map[string]map[string]any, name string, seen map[string]bool) any {
	if seen[name] {
		return map[string]any{}
	}
	seen[name] = true
	defer delete(seen, name)
	if name == "io.k8s.apimachinery.pkg.util.intstr.IntOrString" {
		return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
	}
	return walk(defs, defs[name], seen)
}

func walk(defs map[string]map[string]any, v any, seen map[string]bool) any {
	switch v := v.(type) {
	case map[string]any:
		if ref, ok := v["$ref"].(string); ok {
			return inline(defs, strings.TrimPrefix(ref, "#/definitions/"), seen)
		}
		if v["format"] == "int-or-string" || v["x-kubernetes-int-or-string"] == true {
			return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
		}
		out := map[string]any{}
		for k, x := range v {
			if k == "properties" {
				props := map[string]any{}
				for p, ps := range x.(map[string]any) {
					props[p] = walk(defs, ps, seen)
				}
				out[k] = props
				continue
			}
			out[k] = walk(defs, x, seen)
		}
		if _, has := v["properties"]; has && v["additionalProperties"] == nil && v["x-kubernetes-preserve-unknown-fields"] != true {
			out["additionalProperties"] = false
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = walk(defs, x, seen)
		}
		return out
	}
	return v
}
