package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mldata-io/mldata/internal/worker"
	"github.com/mldata-io/mldata/pkg/storage"
)

func init() { subcommands = append(subcommands, newWorkerCmd) }

// workerKinds maps the worker's argument to the resource kind.
var workerKinds = map[string]string{
	"datasetbuild":   worker.KindDatasetBuild,
	"datasetprofile": worker.KindDatasetProfile,
	"driftcheck":     worker.KindDriftCheck,
}

func newWorkerCmd() *cobra.Command {
	var termPath, scratch string
	cmd := &cobra.Command{
		Annotations: map[string]string{largeHeap: "yes"},
		Use:         "worker datasetbuild|datasetprofile|driftcheck",
		Short:       "Run one resource's work inside a Job (used by the operator)",
		Long: `Worker is what the operator's Jobs run. It reads the task (the resource's
spec with its references resolved) as JSON from the MLDATA_TASK environment
variable, runs it, writes the results to object storage and a short JSON
summary to the termination message file, which the controller reads into the
resource's status. Credentials come from the environment (the Job's Secret or
service account).`,
		Args:   exactArgs(1),
		Hidden: false,
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, ok := workerKinds[strings.ToLower(args[0])]
			if !ok {
				return usagef("worker %q: use datasetbuild, datasetprofile or driftcheck", args[0])
			}
			raw := os.Getenv(worker.TaskEnv)
			if raw == "" {
				return usagef("%s is empty: the worker runs the task the operator passes in it", worker.TaskEnv)
			}
			task, err := worker.DecodeTask([]byte(raw))
			if err != nil {
				return err
			}
			if task.Kind != kind {
				return usagef("worker %s was handed a %s task", args[0], task.Kind)
			}
			if kind == worker.KindDriftCheck {
				gcForDrift()
			}
			if task.Phase == worker.PhaseShard {
				if task.Shard, err = shardIndex(os.Getenv(worker.ShardIndexEnv), task.Shards); err != nil {
					return err
				}
			}
			// The operator hands its URI policy to the Job: the worker
			// refuses what the manager refuses.
			var res *worker.Result
			policy, enforced, err := storage.PolicyFromEnv(os.Getenv)
			if err == nil && enforced {
				err = worker.CheckURIs(policy, worker.TaskURIs(task))
				if err == nil {
					// Endpoints may also come from the Secrets' keys
					// (envFrom), e.g. AWS_ENDPOINT_URL.
					if cerr := policy.CheckCredentials("", environ()); cerr != nil {
						err = &worker.Failure{Reason: worker.ReasonURIRefused, Err: cerr}
					}
				}
			}
			if err == nil {
				res, err = worker.Run(cmd.Context(), task, worker.Options{ScratchDir: scratch})
			}
			sum := (*worker.Summary)(nil)
			if err != nil {
				sum = worker.FailureSummary(kind, err)
			} else {
				sum = res.Summary
			}
			if werr := worker.WriteTermination(termPath, sum); werr != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "mldata worker:", werr)
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), sum.Message)
			return nil
		},
	}
	cmd.Flags().StringVar(&termPath, "termination-log", worker.DefaultTerminationPath, "file to write the JSON summary to")
	cmd.Flags().StringVar(&scratch, "scratch", "", "folder for spooled remote files (default: the system temp folder)")
	return cmd
}

// shardIndex reads a shard's index, which an Indexed Job sets in
// JOB_COMPLETION_INDEX.
func shardIndex(v string, shards int) (int, error) {
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 || i >= shards {
		return 0, usagef("%s=%q: a shard task needs its index, 0 to %d", worker.ShardIndexEnv, v, shards-1)
	}
	return i, nil
}

// environ is the process environment as a map.
func environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}
