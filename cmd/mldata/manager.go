package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/controllers"
	"github.com/mldata-io/mldata/internal/jobs"
	"github.com/mldata-io/mldata/internal/metrics"
	"github.com/mldata-io/mldata/pkg/pipeline"
)

func init() { subcommands = append(subcommands, newManagerCmd) }

func newManagerCmd() *cobra.Command {
	var (
		image, metricsAddr, probeAddr string
		namespaces                    []string
		concurrency                   int
		leaderElect                   bool
		leaderNamespace               string
		backoff, ttl                  int32
		reach                         reachFlags
		limits                        limitFlags
		metricsSecure                 bool
		reconcileTimeout              time.Duration
		rangeBytes                    int64
	)
	cmd := &cobra.Command{
		Use:   "manager",
		Short: "Run the Kubernetes operator (controllers for DatasetBuild, DatasetProfile, DriftCheck)",
		Long: `Run the Kubernetes operator: controllers for DatasetBuild, DatasetProfile and
DriftCheck that run 'mldata worker' in Jobs and record the results in status.

Only one replica reconciles at a time (--leader-elect). Health and readiness
probes answer on --health-probe-bind-address (/healthz, /readyz). Logs are
structured (klog, with key=value pairs).

Prometheus metrics are served at /metrics on --metrics-bind-address (default
:8443), over HTTPS to clients whose token may "get" the /metrics non-resource
URL (--metrics-secure, the default; the mldata-metrics-reader ClusterRole
grants it), beside controller-runtime's and Go's:
  mldata_datasetbuild_builds_total{namespace,name,result}      finished build Jobs (succeeded, up_to_date, failed)
  mldata_datasetbuild_duration_seconds{namespace,name,result}  build Job run time (histogram)
  mldata_datasetbuild_rows{namespace,name,split}               rows per split of the published build
  mldata_datasetbuild_files_processed_total{namespace,name}    source files read by builds
  mldata_datasetbuild_files_reused_total{namespace,name}       source files reused unchanged
  mldata_driftcheck_runs_total{namespace,name,result}          finished drift Jobs (drift, no_drift, failed)
  mldata_driftcheck_last_max_psi{namespace,name}               highest PSI of the last successful run
  mldata_driftcheck_last_psi{namespace,name,column}            PSI of each column of that run (the 32 largest)
  mldata_datasetprofile_runs_total{namespace,name,result}      finished profile Jobs (succeeded, failed)
and, set from status for alerts (config/prometheus/alerts.yaml):
  mldata_condition{kind,namespace,name,type}                   1 True, 0 False per status condition
  mldata_condition_last_transition_timestamp_seconds{kind,namespace,name,type}
  mldata_schedule_interval_seconds{kind,namespace,name}        intervalSeconds, or the cron schedule's gap
  mldata_driftcheck_last_schedule_timestamp_seconds{namespace,name}  latest scheduled time handled
A resource's series are deleted with the resource.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if image == "" {
				return usagef("--worker-image is required: the image whose mldata binary the Jobs run")
			}
			if rangeBytes < 1 {
				return usagef("--shard-range-bytes %d: give a size in bytes of at least 1 (default %d, 256 MiB)", rangeBytes, pipeline.DefaultRangeBytes)
			}
			// klog writes structured logs; it is already a dependency of client-go.
			ctrl.SetLogger(klog.NewKlogr())
			scheme := runtime.NewScheme()
			if err := clientgoscheme.AddToScheme(scheme); err != nil {
				return err
			}
			if err := v1alpha1.AddToScheme(scheme); err != nil {
				return err
			}
			reachOpts, podDefaults, err := reach.build()
			if err != nil {
				return err
			}
			if reachOpts.Limits, err = limits.limits(); err != nil {
				return err
			}
			opts := ctrl.Options{
				Scheme:                  scheme,
				Metrics:                 metrics.ServerOptions(metricsAddr, metricsSecure),
				HealthProbeBindAddress:  probeAddr,
				LeaderElection:          leaderElect,
				LeaderElectionID:        "mldata-manager.mldata.io",
				LeaderElectionNamespace: leaderNamespace,
				Cache:                   cache.Options{ByObject: controllers.CacheByObject()},
				Controller:              config.Controller{ReconciliationTimeout: reconcileTimeout},
			}
			if len(namespaces) > 0 {
				opts.Cache.DefaultNamespaces = map[string]cache.Config{}
				for _, ns := range namespaces {
					opts.Cache.DefaultNamespaces[ns] = cache.Config{}
				}
			}
			mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), opts)
			if err != nil {
				return fmt.Errorf("creating manager: %w", err)
			}
			ctx := cmd.Context()
			if err := controllers.SetupIndexes(ctx, mgr); err != nil {
				return err
			}
			settings := jobs.Settings{Image: image, BackoffLimit: backoff, Pod: podDefaults}
			if ttl > 0 {
				settings.TTLSecondsAfterFinished = ptr.To(ttl)
			}
			clk := clock.RealClock{}
			if err := (&controllers.DatasetBuildReconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("mldata"), Clock: clk, Jobs: settings, Reach: reachOpts, ShardRangeBytes: rangeBytes}).SetupWithManager(mgr, concurrency); err != nil {
				return err
			}
			if err := (&controllers.DatasetProfileReconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("mldata"), Clock: clk, Jobs: settings, Reach: reachOpts}).SetupWithManager(mgr, concurrency); err != nil {
				return err
			}
			// DriftCheck Jobs are pruned by history limits, not by TTL.
			driftSettings := settings
			driftSettings.TTLSecondsAfterFinished = nil
			if err := (&controllers.DriftCheckReconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("mldata"), Clock: clk, Jobs: driftSettings, Reach: reachOpts}).SetupWithManager(mgr, concurrency); err != nil {
				return err
			}
			if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
				return err
			}
			if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
				return err
			}
			return mgr.Start(ctx)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&image, "worker-image", "", "image of the Jobs' worker (this binary's image)")
	fl.StringSliceVar(&namespaces, "namespaces", nil, "namespaces to watch (default: all)")
	fl.IntVar(&concurrency, "max-concurrent-reconciles", controllers.DefaultMaxConcurrentReconciles, "reconciles in parallel per kind")
	fl.IntVar(&concurrency, "concurrency", controllers.DefaultMaxConcurrentReconciles, "reconciles in parallel per kind")
	_ = fl.MarkDeprecated("concurrency", "use --max-concurrent-reconciles")
	fl.DurationVar(&reconcileTimeout, "reconcile-timeout", 2*time.Minute, "longest a reconcile may take (API calls and source listings are cancelled after it)")
	fl.BoolVar(&leaderElect, "leader-elect", true, "elect a leader so that only one replica reconciles")
	fl.StringVar(&leaderNamespace, "leader-election-namespace", "", "namespace of the leader election Lease (default: the pod's own namespace; required outside a cluster)")
	fl.StringVar(&metricsAddr, "metrics-bind-address", ":8443", "address of the Prometheus metrics endpoint, /metrics (0 disables it)")
	fl.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "address of the health and readiness probes")
	fl.Int32Var(&backoff, "job-backoff-limit", 2, "retries of a failed worker pod")
	fl.Int64Var(&rangeBytes, "shard-range-bytes", pipeline.DefaultRangeBytes, "sharded builds cut source files larger than this many bytes into ranges that different shards process")
	fl.Int32Var(&ttl, "job-ttl-seconds", 86400, "delete finished build and profile Jobs after this long (0 keeps them)")
	fl.BoolVar(&metricsSecure, "metrics-secure", true, "serve metrics over HTTPS to authenticated and authorized clients only (false: plain HTTP, for local runs)")
	reach.register(fl)
	addLimitCeilingFlags(fl, &limits)
	return cmd
}
