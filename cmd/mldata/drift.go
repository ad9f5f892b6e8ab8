package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/utils/ptr"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/worker"
	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/report"
)

func init() { subcommands = append(subcommands, newDriftCmd) }

type driftFlags struct {
	limits                   limitFlags
	bins                     int
	binning                  string
	threshold                float64
	ksPValue, js, chi2PValue float64
	columns, exclude         []string
	format, split            string
	output, html             string
	failOnDrift              bool
	workers                  int
	maxCategories            int
	verdict                  verdictFlags
	maxMemory                string
}

func newDriftCmd() *cobra.Command {
	var f driftFlags
	cmd := &cobra.Command{
		Annotations: map[string]string{largeHeap: "yes"},
		Use:         "drift BASELINE CURRENT",
		Short:       "Compare a dataset with a baseline, column by column",
		Long: `Drift compares CURRENT with BASELINE per column: numeric columns
by PSI, KL divergence and Jensen–Shannon distance over bins of the baseline,
and the Kolmogorov–Smirnov test on the raw values; other columns by PSI, JS
distance and Pearson's chi-square over their categories. A column drifts when
its PSI reaches --threshold (or an optional threshold is crossed), unless
--method chooses another verdict for it: COLUMN=METHOD[:THRESHOLD], or
numeric=… / categorical=… for a type, with METHOD one of psi, ks, js,
wasserstein (normed by the baseline's std), linf, hellinger, chisquare
(--methods-file reads the same rules from YAML). Every metric is reported
whatever the method. The dataset drifts when any column does, or with
--drift-share when at least that share of the compared columns do. The exact
definitions (bins, epsilon, p-values) are in docs/statistics.md and in each
report's "conventions".

A non-numeric column with more than --max-categories distinct values on a
side (an identifier: session ids, timestamps kept as text) is skipped with
the reason: nearly every row is a new category there, so its PSI would only
say that the ids are new. Counting stops as soon as a side passes the limit.
--max-categories 0 compares such columns too.

Each side is a file, a folder or bucket prefix, or a build mldata published.
BASELINE may also be a profile JSON written by 'mldata profile': its histogram
edges and counts are then the baseline bins (KS needs raw values and is
reported as unavailable).

The JSON report goes to stdout unless --output names a file. With
--fail-on-drift the exit code is 3 when any column drifts.`,
		Example: `  mldata drift data/2024.csv data/2025.csv --html drift.html
  mldata drift s3://ml/reports/profile.json s3://ml/events/today/ --fail-on-drift --exclude id
  mldata drift train.parquet today.parquet --method numeric=wasserstein:0.1 --method plan=chisquare --drift-share 0.5`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opt, err := f.options(cmd)
			if err != nil {
				return err
			}
			gcForDrift()
			return runDrift(cmd.Context(), args[0], args[1], f, opt, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.bins, "bins", 10, "number of bins for numeric columns")
	fl.StringVar(&f.binning, "binning", "uniform", "bin edges: uniform (equal width over the baseline) or quantile (baseline quantiles)")
	fl.Float64Var(&f.threshold, "threshold", 0.1, "PSI at or above which a column drifts")
	fl.Float64Var(&f.ksPValue, "ks-pvalue", 0, "also flag numeric columns whose KS p-value is below this (0: off)")
	fl.Float64Var(&f.js, "js", 0, "also flag columns whose JS distance is at least this (0: off)")
	fl.Float64Var(&f.chi2PValue, "chi2-pvalue", 0, "also flag categorical columns whose chi-square p-value is below this (0: off)")
	fl.StringSliceVar(&f.columns, "columns", nil, "compare only these columns (comma-separated)")
	fl.StringSliceVar(&f.exclude, "exclude", nil, "leave these columns out (comma-separated)")
	fl.StringVar(&f.format, "format", "auto", "input format of both sides: auto, csv, jsonl or parquet")
	fl.StringVar(&f.split, "split", "", "split of published builds to compare (default: all rows)")
	fl.StringVarP(&f.output, "output", "o", "", "write the JSON report here (path or bucket URL) instead of stdout")
	fl.StringVar(&f.html, "html", "", "also write an HTML report here (path or bucket URL)")
	fl.BoolVar(&f.failOnDrift, "fail-on-drift", false, "exit with code 3 when drift is detected")
	fl.IntVar(&f.workers, "workers", 0, "parallel workers (0: one per CPU)")
	fl.IntVar(&f.maxCategories, "max-categories", drift.DefaultMaxCategories, "skip non-numeric columns with more distinct values than this on a side (0: no limit)")
	addVerdictFlags(fl, &f.verdict)
	fl.StringVar(&f.maxMemory, "max-memory", "0", "bound on the numeric values held per side, e.g. 512MiB; past it numeric columns are sketched (KLL) and the report states the error bounds; 0 means exact, unbounded")
	addLimitFlags(fl, &f.limits)
	return cmd
}

func (f *driftFlags) options(cmd *cobra.Command) (drift.Options, error) {
	var opt drift.Options
	if f.bins < 2 {
		return opt, usagef("--bins must be at least 2, got %d", f.bins)
	}
	b := drift.Binning(strings.ToLower(f.binning))
	if b != drift.Uniform && b != drift.Quantile {
		return opt, usagef("--binning %q: use uniform or quantile", f.binning)
	}
	if !(f.threshold > 0) {
		return opt, usagef("--threshold must be > 0, got %v", f.threshold)
	}
	if f.workers < 0 {
		return opt, usagef("--workers must be >= 0")
	}
	if f.maxCategories < 0 {
		return opt, usagef("--max-categories must be >= 0 (0: no limit), got %d", f.maxCategories)
	}
	m := &v1alpha1.DriftMetrics{Bins: ptr.To(int32(min(f.bins, math.MaxInt32))), Binning: v1alpha1.Binning(b),
		Thresholds: &v1alpha1.DriftThresholds{PSI: &f.threshold}}
	optional := []struct {
		name string
		v    float64
		dst  **float64
	}{{"ks-pvalue", f.ksPValue, &m.Thresholds.KSPValue}, {"js", f.js, &m.Thresholds.JSDistance}, {"chi2-pvalue", f.chi2PValue, &m.Thresholds.Chi2PValue}}
	for _, o := range optional {
		if !cmd.Flags().Changed(o.name) || o.v == 0 {
			continue
		}
		if o.v < 0 || o.v > 1 {
			return opt, usagef("--%s must be in [0, 1], got %v", o.name, o.v)
		}
		v := o.v
		*o.dst = &v
	}
	verdict, sources, err := f.verdict.verdict(cmd.Flags().Changed)
	if err != nil {
		return opt, err
	}
	m.DriftVerdict = verdict
	maxMem, err := parseBytes(f.maxMemory)
	if err != nil {
		return opt, usagef("--max-memory: %v", err)
	}
	opt, err = worker.DriftOptions(&v1alpha1.DriftCheckSpec{Columns: &v1alpha1.ColumnSelector{Include: f.columns, Exclude: f.exclude}, Metrics: m})
	if err != nil {
		return opt, usagef("%v", err)
	}
	opt.MaxMemory = maxMem
	for i := range opt.Methods {
		opt.Methods[i].Source = sources[i]
	}
	// Not in the DriftCheck spec: the operator sizes a run by its pod's
	// CPUs and keeps the default category limit.
	opt.Workers, opt.MaxCategories = f.workers, f.maxCategories
	if f.maxCategories == 0 {
		opt.MaxCategories = -1 // drift.Options' zero value is the default limit
	}
	return opt, nil
}

func runDrift(ctx context.Context, baseURI, curURI string, f driftFlags, opt drift.Options, stdout, stderr io.Writer) error {
	kind, err := parseKind(f.format, true)
	if err != nil {
		return err
	}
	side := func(uri string) *worker.Input { return &worker.Input{URI: uri, Format: string(kind), Split: f.split} }
	lim, err := f.limits.limits()
	if err != nil {
		return err
	}
	res, err := worker.CompareInputs(ctx, side(baseURI), side(curURI), opt, worker.Options{Limits: lim})
	if err != nil {
		if worker.ReasonOf(err) == v1alpha1.ReasonInvalidSpec {
			return usagef("%v", err)
		}
		return err
	}
	r := res.Report
	if err := writeReports(ctx, f.output, f.html, r, func(w io.Writer) error { return report.Drift(w, r) }, stdout); err != nil {
		return err
	}
	drifted := r.Drifted()
	if f.output != "" {
		fmt.Fprintf(stderr, "compared %d columns (%d skipped): %d drifted, max PSI %.4g\n",
			len(r.NumericDrift)+len(r.CategoricalDrift), len(r.Skipped), len(drifted), r.MaxPSI())
	}
	if r.HasDrift && f.failOnDrift {
		return &exitError{code: exitDrift, err: fmt.Errorf("drift detected in %d column(s) (drift share %.4g): %s", len(drifted), r.DriftShare, strings.Join(decisions(r), ", "))}
	}
	return nil
}

// decisions names each drifted column with what decided it, e.g.
// "price: wasserstein_normed 7.797 >= 0.1".
func decisions(r *drift.Report) []string {
	th := r.Conventions.Thresholds
	var out []string
	for _, f := range r.NumericDrift {
		if f.Value.DriftDetected {
			out = append(out, f.Key+": "+f.Value.Decision(th).String())
		}
	}
	for _, f := range r.CategoricalDrift {
		if f.Value.DriftDetected {
			out = append(out, f.Key+": "+f.Value.Decision(th).String())
		}
	}
	return out
}
