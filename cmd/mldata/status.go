package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/jobs"
	"github.com/mldata-io/mldata/internal/worker"
)

func init() { subcommands = append(subcommands, newStatusCmd) }

// pluginName is the name kubectl looks for on PATH to run `kubectl mldata`:
// a copy of, or a symlink to, this binary under that name is the plugin.
const pluginName = "kubectl-mldata"

// pluginCompletion is the name kubectl (1.26 and later) runs to complete
// the arguments of `kubectl mldata`: invoked under that name (a symlink),
// the binary answers as its hidden __complete command does.
const pluginCompletion = "kubectl_complete-mldata"

// pluginArgs returns the arguments to run for the name the binary was
// invoked as.
func pluginArgs(argv0 string, args []string) []string {
	if strings.TrimSuffix(filepath.Base(argv0), ".exe") == pluginCompletion {
		return append([]string{cobra.ShellCompRequestCmd}, args...)
	}
	return args
}

// asPlugin says whether the binary runs as `kubectl mldata`; help then
// names the command the user typed.
func asPlugin(root *cobra.Command) {
	if strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe") == pluginName {
		root.Use = pluginName
		root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl mldata"}
	}
}

type statusFlags struct {
	kubeconfig, context, namespace string
	tail                           int64
}

// logSource fetches the tail of a container's log. The command reads logs
// from the API server (client-go); tests, whose API server runs no kubelet,
// substitute a fake.
type logSource interface {
	Tail(ctx context.Context, namespace, pod, container string, lines int64) (string, error)
}

type apiLogs struct{ cs kubernetes.Interface }

func (l apiLogs) Tail(ctx context.Context, namespace, pod, container string, lines int64) (string, error) {
	data, err := l.cs.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container, TailLines: &lines}).DoRaw(ctx)
	return string(data), err
}

// newLogSource makes the log source for a cluster; a variable for tests.
var newLogSource = func(cfg *rest.Config) (logSource, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return apiLogs{cs: cs}, nil
}

// statusNow is the clock ages are measured against; a variable for tests.
var statusNow = time.Now

func newStatusCmd() *cobra.Command {
	var f statusFlags
	cmd := &cobra.Command{
		Use:   "status KIND/NAME",
		Short: "Show a resource's conditions, runs, results and its worker's log on one screen",
		Long: `Status prints what 'kubectl describe' and 'kubectl logs' would take several
commands to gather for a DatasetBuild, DatasetProfile or DriftCheck: its
conditions, the retry state of its runs (and a DriftCheck's recent runs), the
published build with its digest or the report URIs, and the last lines of the
log of the worker pod of its current or last Job.

KIND is datasetbuild (dsb), datasetprofile (dsp) or driftcheck (dc), as kubectl
names them. The cluster, user and namespace come from the kubeconfig
(KUBECONFIG or ~/.kube/config) as for kubectl, and --kubeconfig, --context and
--namespace override them.

Installed as kubectl-mldata on PATH (a symlink to this binary), the same
command runs as 'kubectl mldata status'. Shell completion ('mldata completion
bash|zsh|fish') completes kinds and the names of resources in the cluster.`,
		Example: `  mldata status dsb/churn
  mldata status driftcheck/churn-drift -n ml --tail 50
  kubectl mldata status dsp/churn-train`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("%s takes one argument, KIND/NAME (e.g. dsb/churn), got %d", cmd.CommandPath(), len(args))
			}
			return nil
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return completeResource(cmd.Context(), f, toComplete)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStatus(cmd.Context(), args[0], f, cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: KUBECONFIG, then ~/.kube/config)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context (default: the current context)")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "namespace (default: the context's)")
	fl.Int64Var(&f.tail, "tail", 20, "lines of the worker's log to show (0: none)")
	return cmd
}

// statusKind is one resource kind status knows.
type statusKind struct {
	kind, plural, short string
	newObj              func() client.Object
	newList             func() client.ObjectList
}

var statusKinds = []statusKind{
	{"DatasetBuild", "datasetbuilds", "dsb", func() client.Object { return &v1alpha1.DatasetBuild{} }, func() client.ObjectList { return &v1alpha1.DatasetBuildList{} }},
	{"DatasetProfile", "datasetprofiles", "dsp", func() client.Object { return &v1alpha1.DatasetProfile{} }, func() client.ObjectList { return &v1alpha1.DatasetProfileList{} }},
	{"DriftCheck", "driftchecks", "dc", func() client.Object { return &v1alpha1.DriftCheck{} }, func() client.ObjectList { return &v1alpha1.DriftCheckList{} }},
}

// kindOf resolves a kind as kubectl accepts it: kind, plural or short name,
// in any case, optionally with the group (datasetbuilds.mldata.io).
func kindOf(s string) (statusKind, error) {
	name := strings.ToLower(strings.TrimSuffix(strings.ToLower(s), "."+v1alpha1.GroupVersion.Group))
	for _, k := range statusKinds {
		if name == strings.ToLower(k.kind) || name == k.plural || name == k.short {
			return k, nil
		}
	}
	return statusKind{}, usagef("unknown kind %q: use datasetbuild (dsb), datasetprofile (dsp) or driftcheck (dc)", s)
}

// splitRef splits KIND/NAME.
func splitRef(ref string) (statusKind, string, error) {
	kind, name, ok := strings.Cut(ref, "/")
	if !ok || kind == "" || name == "" {
		return statusKind{}, "", usagef("%q: give KIND/NAME, e.g. dsb/churn", ref)
	}
	k, err := kindOf(kind)
	return k, name, err
}

// statusClient connects as kubectl would with the same flags and returns the
// client, the namespace to use and the REST config.
func statusClient(f statusFlags) (client.Client, string, *rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if f.kubeconfig != "" {
		rules.ExplicitPath = f.kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: f.context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", nil, fmt.Errorf("kubeconfig: %w", err)
	}
	ns := f.namespace
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil {
			return nil, "", nil, fmt.Errorf("kubeconfig: %w", err)
		}
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, "", nil, err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, "", nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, "", nil, fmt.Errorf("connecting to %s: %w", cfg.Host, err)
	}
	return c, ns, cfg, nil
}

func runStatus(ctx context.Context, ref string, f statusFlags, stdout io.Writer) error {
	k, name, err := splitRef(ref)
	if err != nil {
		return err
	}
	c, ns, cfg, err := statusClient(f)
	if err != nil {
		return err
	}
	obj := k.newObj()
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("%s %s not found in namespace %s; 'kubectl get %s -n %s' lists them", k.kind, name, ns, k.plural, ns)
		}
		return fmt.Errorf("reading %s %s/%s: %w", k.kind, ns, name, err)
	}
	v := statusViewOf(obj, statusNow())
	if f.tail > 0 && v.jobName != "" {
		v.log = workerLog(ctx, c, cfg, k.kind, obj, v.jobName, f.tail)
	}
	_, err = io.WriteString(stdout, v.render())
	return err
}

// statusView is what the screen shows, gathered from a resource.
type statusView struct {
	header     string
	conditions []metav1.Condition
	now        time.Time
	// facts are label/value lines: the published build, reports, retries.
	facts   [][2]string
	runs    []v1alpha1.DriftRunSummary
	jobName string
	log     *logTail
}

type logTail struct {
	pod, container, text string
	lines                int64
	err                  error
}

func statusViewOf(obj client.Object, now time.Time) *statusView {
	v := &statusView{now: now}
	add := func(label, value string) {
		if value != "" {
			v.facts = append(v.facts, [2]string{label, value})
		}
	}
	var retry *v1alpha1.RetryStatus
	var gen, observed int64
	switch o := obj.(type) {
	case *v1alpha1.DatasetBuild:
		st := o.Status
		v.header = "DatasetBuild " + o.Namespace + "/" + o.Name
		v.conditions, retry, gen, observed, v.jobName = st.Conditions, st.Retry, o.Generation, st.ObservedGeneration, st.JobName
		add("source", string(o.Spec.Source.URI))
		add("output", string(o.Spec.Output.URI))
		if a := st.Artifact; a != nil {
			add("build", a.BuildID)
			add("digest", a.Digest)
			add("manifest", a.ManifestURI)
		} else {
			add("build", st.BuildID)
			add("manifest", st.ManifestURI)
		}
		add("gate", st.GateReportURI)
		if st.BuildID != "" {
			var rows []string
			for _, r := range st.Rows {
				rows = append(rows, fmt.Sprintf("%s %d", r.Name, r.Rows))
			}
			add("rows", fmt.Sprintf("%d (%s)", st.TotalRows, strings.Join(rows, ", ")))
			add("files", fmt.Sprintf("%d source file(s): %d read, %d reused by the last build", st.SourceCount, st.FilesProcessed, st.FilesReused))
		}
		if st.Schema != nil {
			add("schema", fmt.Sprintf("version %d, %d column(s)", st.Schema.Version, st.Schema.ColumnCount))
		}
		add("published", timeAgo(st.LastBuildTime, now))
	case *v1alpha1.DatasetProfile:
		st := o.Status
		v.header = "DatasetProfile " + o.Namespace + "/" + o.Name
		v.conditions, retry, gen, observed, v.jobName = st.Conditions, st.Retry, o.Generation, st.ObservedGeneration, st.JobName
		add("profiled build", st.SourceBuildID)
		if st.ReportURI != "" {
			add("rows", fmt.Sprintf("%d, %d column(s)", st.Rows, st.Columns))
		}
		add("report", st.ReportURI)
		add("html report", st.HTMLReportURI)
		add("profiled", timeAgo(st.LastProfileTime, now))
	case *v1alpha1.DriftCheck:
		st := o.Status
		v.header = "DriftCheck " + o.Namespace + "/" + o.Name
		v.conditions, retry, gen, observed = st.Conditions, st.Retry, o.Generation, st.ObservedGeneration
		if r := st.LastRun; r != nil {
			v.jobName = r.JobName
			add("last run", driftVerdict(r.Succeeded, r.DriftDetected, r.MaxPSI, r.DriftedColumnCount))
			var cols []string
			for _, c := range r.DriftedColumns {
				cols = append(cols, worker.DriftedColumnText(c))
			}
			add("drifted", strings.Join(cols, ", "))
			add("report", r.ReportURI)
			if r.BaselineBuildID != "" || r.CurrentBuildID != "" {
				add("builds", fmt.Sprintf("baseline %s, current %s", orDash(r.BaselineBuildID), orDash(r.CurrentBuildID)))
			}
		}
		if len(st.ActiveJobs) > 0 {
			add("running", strings.Join(st.ActiveJobs, ", "))
			v.jobName = st.ActiveJobs[len(st.ActiveJobs)-1]
		}
		add("last scheduled", timeAgo(st.LastScheduleTime, now))
		add("last success", timeAgo(st.LastSuccessfulTime, now))
		v.runs = st.RecentRuns
	}
	v.header += fmt.Sprintf("  (generation %d, observed %d)", gen, observed)
	add("job", v.jobName)
	if retry != nil && (retry.FailedAttempts > 0 || retry.NextAttemptTime != nil) {
		s := fmt.Sprintf("%d failed attempt(s) in a row at these inputs", retry.FailedAttempts)
		if retry.NextAttemptTime != nil {
			s += "; next attempt " + timeUntil(retry.NextAttemptTime.Time, now)
		}
		add("retry", s)
	}
	return v
}

func driftVerdict(ok, drifted bool, maxPSI *float64, n int32) string {
	psi := ""
	if maxPSI != nil {
		psi = fmt.Sprintf(", max PSI %.3f", *maxPSI)
	}
	switch {
	case !ok:
		return "failed"
	case drifted:
		return fmt.Sprintf("drift in %d column(s)%s", n, psi)
	}
	return "no drift" + psi
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func timeAgo(t *metav1.Time, now time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339) + " (" + age(now.Sub(t.Time)) + " ago)"
}

func timeUntil(t, now time.Time) string {
	if !t.After(now) {
		return "due now"
	}
	return "in " + duration.HumanDuration(t.Sub(now)) + " (" + t.UTC().Format(time.RFC3339) + ")"
}

// workerLog finds the worker pod of job (the newest of the resource's pods
// that the Job owns) and fetches the end of its log. Failures are reported
// in the tail, not as the command's error: status is worth showing without
// the log.
func workerLog(ctx context.Context, c client.Client, cfg *rest.Config, kind string, obj client.Object, job string, lines int64) *logTail {
	t := &logTail{container: jobs.ContainerName, lines: lines}
	var pods corev1.PodList
	if err := c.List(ctx, &pods, client.InNamespace(obj.GetNamespace()),
		client.MatchingLabels{v1alpha1.LabelKind: kind, v1alpha1.LabelName: obj.GetName()}); err != nil {
		t.err = fmt.Errorf("listing pods: %w", err)
		return t
	}
	var mine []corev1.Pod
	for _, p := range pods.Items {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.Kind == "Job" && ref.Name == job {
			mine = append(mine, p)
		}
	}
	if len(mine) == 0 {
		t.err = fmt.Errorf("job %s has no pod (not started yet, or deleted with the Job)", job)
		return t
	}
	sort.Slice(mine, func(i, j int) bool {
		a, b := mine[i].CreationTimestamp, mine[j].CreationTimestamp
		if !a.Equal(&b) {
			return b.Before(&a)
		}
		return mine[i].Name > mine[j].Name
	})
	t.pod = mine[0].Name
	logs, err := newLogSource(cfg)
	if err == nil {
		t.text, err = logs.Tail(ctx, obj.GetNamespace(), t.pod, t.container, lines)
	}
	t.err = err
	return t
}

func (v *statusView) render() string {
	var b strings.Builder
	b.WriteString(v.header + "\n\nConditions:\n")
	if len(v.conditions) == 0 {
		b.WriteString("  none yet: the controller has not reconciled it\n")
	} else {
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  TYPE\tSTATUS\tREASON\tAGE\tMESSAGE")
		for _, c := range v.conditions {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", c.Type, c.Status, c.Reason, age(v.now.Sub(c.LastTransitionTime.Time)), oneLine(c.Message, 100))
		}
		tw.Flush()
	}
	if len(v.facts) > 0 {
		b.WriteString("\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 1, ' ', 0)
		for _, f := range v.facts {
			fmt.Fprintf(tw, "  %s:\t%s\n", f[0], f[1])
		}
		tw.Flush()
	}
	if len(v.runs) > 0 {
		b.WriteString("\nRecent runs (newest first):\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  SCHEDULED\tFINISHED\tRESULT\tJOB\tREPORT")
		for _, r := range v.runs {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", stamp(r.ScheduledTime), stamp(r.CompletionTime),
				driftVerdict(r.Succeeded, r.DriftDetected, r.MaxPSI, r.DriftedColumnCount), orDash(r.JobName), orDash(r.ReportURI))
		}
		tw.Flush()
	}
	if t := v.log; t != nil {
		if t.pod == "" {
			fmt.Fprintf(&b, "\nWorker log: %v\n", t.err)
		} else {
			fmt.Fprintf(&b, "\nWorker log (pod %s, container %s, last %d lines):\n", t.pod, t.container, t.lines)
			if t.err != nil {
				fmt.Fprintf(&b, "  unavailable: %v\n", t.err)
			}
			text := strings.TrimRight(t.text, "\n")
			if t.err == nil && text == "" {
				b.WriteString("  (empty)\n")
			}
			if text != "" {
				for _, line := range strings.Split(text, "\n") {
					b.WriteString("  " + line + "\n")
				}
			}
		}
	}
	return b.String()
}

// age is a duration as kubectl prints ages; a time ahead of this machine's
// clock (skew between it and the API server) is 0s.
func age(d time.Duration) string {
	return duration.HumanDuration(max(d, 0))
}

func stamp(t *metav1.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// oneLine keeps a condition message on its table row.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		cut := n - 1
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// completeResource completes KIND/NAME: kinds first (with the slash), then
// the names of that kind's resources in the namespace, read from the
// cluster. A cluster that cannot be reached completes nothing rather than
// printing an error into the user's prompt.
func completeResource(ctx context.Context, f statusFlags, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	kind, prefix, ok := strings.Cut(toComplete, "/")
	if !ok {
		var out []cobra.Completion
		for _, k := range statusKinds {
			for _, n := range []string{strings.ToLower(k.kind), k.short} {
				if strings.HasPrefix(n, strings.ToLower(toComplete)) {
					out = append(out, cobra.CompletionWithDesc(n+"/", k.kind))
				}
			}
		}
		return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
	}
	k, err := kindOf(kind)
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	if ctx == nil {
		ctx = context.Background()
	}
	names, err := resourceNames(ctx, f, k)
	if err != nil {
		cobra.CompDebugln(err.Error(), true)
		return nil, cobra.ShellCompDirectiveError
	}
	var out []cobra.Completion
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, cobra.Completion(kind+"/"+n))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func resourceNames(ctx context.Context, f statusFlags, k statusKind) ([]string, error) {
	c, ns, _, err := statusClient(f)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	list := k.newList()
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	items, err := apimeta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(items))
	for _, o := range items {
		m, err := apimeta.Accessor(o)
		if err != nil {
			return nil, err
		}
		names = append(names, m.GetName())
	}
	sort.Strings(names)
	return names, nil
}
