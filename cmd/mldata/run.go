package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/mldata-io/mldata/internal/worker"
)

func init() { subcommands = append(subcommands, newRunCmd) }

func newRunCmd() *cobra.Command {
	var file, scratch string
	var limits limitFlags
	cmd := &cobra.Command{
		Use:   "run -f FILE",
		Short: "Run DatasetBuild, DatasetProfile and DriftCheck manifests locally, without a cluster",
		Long: `Run reads a manifest of mldata resources (YAML, one or more documents) and
runs each with the same worker code the operator's Jobs run — builds first,
then profiles, then drift checks, so that datasetBuildRef and
datasetProfileRef resolve to resources of the same file. URIs may be local
paths or bucket URLs (credentials from the environment). It prints, per
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
			for i, ran := range worker.RunLocal(cmd.Context(), rs, worker.Options{ScratchDir: scratch, Limits: lim}) {
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
