package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mldata-io/mldata/internal/worker"
)

func init() { subcommands = append(subcommands, newRunCmd) }

func newRunCmd() *cobra.Command {
	var file, scratch string
	var limits limitFlags
	cmd := &cobra.Command{
		Annotations: map[string]string{largeHeap: "yes"},
		Use:         "run -f FILE",
		Short:       "Run DatasetBuild, DatasetProfile and DriftCheck manifests locally, without a cluster",
		Long: `Run reads a manifest of mldata resources (YAML, one or more documents) and
runs each with the same worker code the operator's Jobs run — builds first,
then profiles, then drift checks, so that datasetBuildRef and
datasetProfileRef resolve to resources of the same file. URIs may be local
paths or bucket URLs (credentials from the environment). A DatasetBuild with
parallelism.shards N runs as the cluster runs it: a plan, N shard processes
at once (each 'mldata worker datasetbuild', as an Indexed Job's pods), then
the commit. It prints, per
resource, the status the controller would write, and exits 1 when any run
failed. Admission checks (CEL rules) are not run; kubectl apply
--dry-run=server does that.`,
		Example: `  mldata run -f config/samples/
  mldata run -f churn.yaml > status.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usagef("-f FILE is required; see 'mldata run --help'")
			}
			data, err := os.ReadFile(file)
			if err != nil {
				return usagef("-f: %v", err)
			}
			rs, err := worker.ParseManifests(data)
			if err != nil {
				return usagef("%s: %v", file, err)
			}
			lim, err := limits.limits()
			if err != nil {
				return err
			}
			failed := 0
			opt := worker.Options{ScratchDir: scratch, Limits: lim, RunShard: shardProcess(scratch)}
			for i, ran := range worker.RunLocal(cmd.Context(), rs, opt) {
				out, err := worker.StatusYAML(ran.Resource)
				if err != nil {
					return err
				}
				if i > 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "---")
				}
				if _, err := cmd.OutOrStdout().Write(out); err != nil {
					return err
				}
				if ran.Err != nil {
					failed++
					fmt.Fprintf(cmd.ErrOrStderr(), "%s %s: %v\n", ran.Kind(), ran.Name(), ran.Err)
				}
			}
			if failed > 0 {
				return &exitError{code: exitFailure, err: fmt.Errorf("%d of %d resource(s) failed", failed, len(rs))}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "manifest file (YAML, one or more documents)")
	cmd.Flags().StringVar(&scratch, "scratch", "", "folder for spooled remote files (default: the system temp folder)")
	// As in the manager: the default and the ceiling of spec.limits.
	addLimitCeilingFlags(cmd.Flags(), &limits)
	return cmd
}

// shardProcess runs one shard of a sharded build as the worker process an
// Indexed Job's pod would run: this binary, with the task in MLDATA_TASK and
// the index in JOB_COMPLETION_INDEX.
func shardProcess(scratch string) func(ctx context.Context, t *worker.Task, index int) error {
	return func(ctx context.Context, t *worker.Task, index int) error {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		task, err := json.Marshal(t)
		if err != nil {
			return err
		}
		term, err := os.CreateTemp("", "mldata-shard-*.json")
		if err != nil {
			return err
		}
		term.Close()
		defer os.Remove(term.Name())
		args := []string{"worker", "datasetbuild", "--termination-log", term.Name()}
		if scratch != "" {
			args = append(args, "--scratch", scratch)
		}
		cmd := exec.CommandContext(ctx, self, args...)
		cmd.Env = append(os.Environ(), worker.TaskEnv+"="+string(task), fmt.Sprintf("%s=%d", worker.ShardIndexEnv, index))
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("shard %d: %v: %s", index, err, strings.TrimSpace(string(out)))
		}
		return nil
	}
}
