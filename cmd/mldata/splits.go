package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/pipeline"
	"github.com/mldata-io/mldata/pkg/storage"
)

func init() { subcommands = append(subcommands, newSplitsCmd) }

type splitsCheckFlags struct {
	limits  limitFlags
	build   string
	psi     float64
	minRows int64
	exclude []string
	workers int
	json    bool
	strict  bool
}

func newSplitsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "splits",
		Short: "Inspect the splits of a published dataset",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var f splitsCheckFlags
	check := &cobra.Command{
		Annotations: map[string]string{largeHeap: "yes"},
		Use:         "check URI",
		Short:       "Check that no key is in two splits and that the splits are alike",
		Long: `Check reads a build's splits back from its output location URI (the
published build, or --build ID) and checks them as a build does before it
publishes:

  - leaks: no key is in two splits. The key is the split key's value, or
    without a split key the row's whole content; keys are compared by a
    64-bit hash of their canonical encoding (5 and 5.0 are one key).
  - similarity: every other split is compared with the first, column by
    column, by PSI over the first split's bins or categories; a column at
    or above --psi differs. Splits with fewer than --min-rows rows are
    compared but not judged (the PSI of a small sample is mostly noise).
    The split key and non-numeric columns with more than 1000 values are
    left out.

The exit code is 3 when keys leak (and, with --strict, when splits differ).
--json prints the result as the manifest's split_integrity section.`,
		Example: `  mldata splits check out/
  mldata splits check s3://ml/events/ --build 20261206T080000000Z-a1b2c3 --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSplitsCheck(cmd.Context(), args[0], f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := check.Flags()
	fl.StringVar(&f.build, "build", "", "build id to check (default: the published build)")
	fl.Float64Var(&f.psi, "psi", pipeline.DefaultSplitPSI, "PSI at or above which a column differs between two splits")
	fl.Int64Var(&f.minRows, "min-rows", pipeline.DefaultSplitMinRows, "splits with fewer rows are compared but not judged")
	fl.StringSliceVar(&f.exclude, "exclude", nil, "leave these columns out of the similarity check (comma-separated)")
	fl.IntVar(&f.workers, "workers", 0, "parallel workers (0: one per CPU)")
	fl.BoolVar(&f.json, "json", false, "print the result as JSON")
	fl.BoolVar(&f.strict, "strict", false, "also exit with code 3 when splits differ")
	addLimitFlags(fl, &f.limits)
	cmd.AddCommand(check)
	return cmd
}

func runSplitsCheck(ctx context.Context, uri string, f splitsCheckFlags, stdout, stderr io.Writer) error {
	if !(f.psi > 0) || f.minRows < 1 || f.workers < 0 {
		return usagef("--psi must be > 0, --min-rows >= 1 and --workers >= 0")
	}
	lim, err := f.limits.limits()
	if err != nil {
		return err
	}
	m, err := readBuildManifest(ctx, uri, f.build)
	if err != nil {
		return err
	}
	if len(m.Splits) < 2 {
		return fmt.Errorf("build %s has %d split(s): nothing to check", m.BuildID, len(m.Splits))
	}
	s, err := pipeline.CheckSplits(ctx, uri, m, pipeline.SplitCheck{PSI: f.psi, MinRows: f.minRows, Exclude: f.exclude},
		f.workers, format.Options{Limits: lim}, "")
	if err != nil {
		return err
	}
	if f.json {
		if err := writeJSON(stdout, s); err != nil {
			return err
		}
	} else {
		printSplitCheck(stdout, m.BuildID, s)
	}
	dissimilar := s.Similarity != nil && len(s.Similarity.Dissimilar) > 0
	switch {
	case s.LeakedKeys > 0:
		return &exitError{code: exitDrift, err: errors.New(pipeline.LeakMessage(s))}
	case dissimilar && f.strict:
		return &exitError{code: exitDrift, err: errors.New(pipeline.DissimilarMessage(s))}
	case dissimilar:
		fmt.Fprintf(stderr, "warning: %s\n", pipeline.DissimilarMessage(s))
	}
	return nil
}

// readBuildManifest reads the manifest of build id under the output
// location uri, or of the published build when id is "".
func readBuildManifest(ctx context.Context, uri, id string) (*manifest.Manifest, error) {
	loc, err := storage.Open(ctx, uri)
	if err != nil {
		return nil, err
	}
	defer loc.Close()
	if id == "" {
		_, m, err := manifest.ReadLatest(ctx, loc)
		if errors.Is(err, manifest.ErrNoBuild) {
			return nil, fmt.Errorf("%s: no published build (latest.json); give the output location of a build, or --build ID", loc)
		}
		return m, err
	}
	m, err := manifest.Read(ctx, loc, manifest.Key(id))
	if err != nil {
		return nil, fmt.Errorf("build %s under %s: %w", id, loc, err)
	}
	return m, nil
}

func printSplitCheck(w io.Writer, buildID string, s *manifest.SplitIntegrity) {
	verdict := "consistent"
	if !s.Consistent {
		verdict = "NOT consistent"
	}
	fmt.Fprintf(w, "build %s: splits %s (key: %s)\n", buildID, verdict, s.Key)
	for _, k := range s.Keys {
		fmt.Fprintf(w, "  %-12s %d rows, %d distinct keys\n", k.Split, k.Rows, k.Keys)
	}
	if s.LeakedKeys == 0 {
		fmt.Fprintln(w, "  leaks:      none")
	} else {
		fmt.Fprintf(w, "  leaks:      %d key(s) in more than one split\n", s.LeakedKeys)
		for _, l := range s.Leaks {
			fmt.Fprintf(w, "    %s/%s: %d\n", l.A, l.B, l.Keys)
		}
		for _, e := range s.Examples {
			fmt.Fprintf(w, "    e.g. %s\n", e)
		}
	}
	sim := s.Similarity
	if sim == nil {
		return
	}
	fmt.Fprintf(w, "  similarity: against %s, PSI threshold %g, judged from %d rows\n", sim.Baseline, sim.Threshold, sim.MinRows)
	for _, c := range sim.Columns {
		mark := ""
		switch {
		case c.Dissimilar:
			mark = "  DIFFERS"
		case !c.Judged:
			mark = "  (not judged)"
		}
		fmt.Fprintf(w, "    %-12s %-24s PSI %.4f%s\n", c.Split, c.Column, c.PSI, mark)
	}
	for _, sk := range sim.Skipped {
		fmt.Fprintf(w, "    skipped %s %s: %s\n", sk.Split, sk.Column, sk.Reason)
	}
}
