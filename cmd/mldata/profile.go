package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/url"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/worker"
	"github.com/mldata-io/mldata/pkg/report"
	"github.com/mldata-io/mldata/pkg/storage"
)

func init() { subcommands = append(subcommands, newProfileCmd) }

type profileFlags struct {
	limits                                 limitFlags
	format, split, output, html, maxMemory string
	workers                                int
}

func newProfileCmd() *cobra.Command {
	var f profileFlags
	cmd := &cobra.Command{
		Annotations: map[string]string{largeHeap: "yes"},
		Use:         "profile URI",
		Short:       "Profile a dataset: schema, statistics, top values, histograms",
		Long: `Profile reads a dataset once — a file, every file under a folder or bucket
prefix, or a build that mldata published — and computes per column the null
and distinct counts, and for numeric columns count, mean, std, min, max,
quartiles and a 10-bin histogram; for other columns the 20 most frequent
values. Numbers follow pandas and numpy; docs/statistics.md defines each.

Results are exact by default, which keeps every numeric value in memory
(8 bytes each) and every distinct value of the other columns. --max-memory
bounds that state: columns that outgrow it switch to sketches, and the
profile's "approximate" object gives their error bounds.

The JSON goes to stdout unless --output names a file; --html writes a
self-contained page. Both may be local paths or bucket URLs.`,
		Example: `  mldata profile data/train.csv --html profile.html
  mldata profile s3://ml/events/ --split train --output s3://ml/reports/profile.json --max-memory 2GiB`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProfile(cmd.Context(), args[0], f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "auto", "input format: auto, csv, jsonl or parquet")
	fl.StringVar(&f.split, "split", "", "split of a published build to profile (default: all rows)")
	fl.StringVarP(&f.output, "output", "o", "", "write the profile JSON here (path or bucket URL) instead of stdout")
	fl.StringVar(&f.html, "html", "", "also write an HTML report here (path or bucket URL)")
	fl.StringVar(&f.maxMemory, "max-memory", "0", "bound on exact state, e.g. 512MiB or 2GiB; 0 means exact, unbounded")
	fl.IntVar(&f.workers, "workers", 0, "parallel workers (0: one per CPU)")
	addLimitFlags(fl, &f.limits)
	return cmd
}

func runProfile(ctx context.Context, uri string, f profileFlags, stdout, stderr io.Writer) error {
	kind, err := parseKind(f.format, true)
	if err != nil {
		return err
	}
	maxMem, err := parseBytes(f.maxMemory)
	if err != nil {
		return usagef("--max-memory: %v", err)
	}
	if f.workers < 0 {
		return usagef("--workers must be >= 0")
	}
	o := &v1alpha1.ProfileOptions{}
	if f.workers > 0 {
		o.Workers = ptr.To(int32(min(f.workers, math.MaxInt32)))
	}
	if maxMem > 0 {
		o.MaxMemory = resource.NewQuantity(maxMem, resource.BinarySI)
	}
	lim, err := f.limits.limits()
	if err != nil {
		return err
	}
	res, err := worker.ProfileInput(ctx, &worker.Input{URI: uri, Format: string(kind), Split: f.split}, worker.ProfileOptions(o), worker.Options{Limits: lim})
	if err != nil {
		return err
	}
	p := res.Profile

	if err := writeReports(ctx, f.output, f.html, p, func(w io.Writer) error { return report.Profile(w, p) }, stdout); err != nil {
		return err
	}
	if f.output != "" {
		fmt.Fprintf(stderr, "profiled %s: %d rows, %d columns", p.Path, p.NumRows, p.NumColumns)
		if len(p.Approximate) > 0 {
			fmt.Fprintf(stderr, " (%d approximate)", len(p.Approximate))
		}
		fmt.Fprintln(stderr)
	}
	return nil
}

// writeReports writes a report as JSON to dest (stdout when dest is "" or
// "-") and, when htmlDest is set, its HTML page there.
func writeReports(ctx context.Context, dest, htmlDest string, v any, html func(io.Writer) error, stdout io.Writer) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the report: %w", err)
	}
	if err := emit(ctx, dest, append(data, '\n'), stdout); err != nil {
		return err
	}
	if htmlDest == "" {
		return nil
	}
	var page bytes.Buffer
	if err := html(&page); err != nil {
		return err
	}
	return writeOutput(ctx, htmlDest, page.Bytes())
}

// emit writes data to dest, or to stdout when dest is "" or "-".
func emit(ctx context.Context, dest string, data []byte, stdout io.Writer) error {
	if dest == "" || dest == "-" {
		_, err := stdout.Write(data)
		return err
	}
	return writeOutput(ctx, dest, data)
}

// writeOutput writes one file named by a local path or a bucket URL: its
// folder is opened as an output location (and created if local), and the
// file is written there in one piece.
func writeOutput(ctx context.Context, dest string, data []byte) error {
	dir, key, err := splitDest(dest)
	if err != nil {
		return err
	}
	loc, err := storage.OpenOutput(ctx, dir)
	if err != nil {
		return err
	}
	defer loc.Close()
	if err := loc.WriteFile(ctx, key, data); err != nil {
		return fmt.Errorf("writing %s: %w", loc.URIOf(key), err)
	}
	return nil
}

// splitDest splits a file destination into its folder and file name.
func splitDest(dest string) (dir, key string, err error) {
	if !strings.Contains(dest, "://") {
		if strings.HasSuffix(dest, "/") || strings.HasSuffix(dest, string(filepath.Separator)) {
			return "", "", usagef("%s names a folder; give a file name", dest)
		}
		return filepath.Dir(dest), filepath.Base(dest), nil
	}
	u, err := url.Parse(dest)
	if err != nil {
		return "", "", usagef("%q is not a valid URL", dest)
	}
	p := u.Path
	if u.Scheme != "file" {
		p = strings.TrimPrefix(p, "/")
	}
	if p == "" || strings.HasSuffix(p, "/") {
		return "", "", usagef("%s names a bucket or prefix; give a file name", dest)
	}
	key = path.Base(p)
	u.Path = path.Dir(u.Path)
	if u.Path == "." {
		u.Path = ""
	}
	u.RawPath = ""
	return u.String(), key, nil
}

// parseBytes reads a size: a number with an optional unit, B, KiB, MiB,
// GiB, TiB (powers of 1024; K, M, G, T too) or KB, MB, GB, TB (powers of
// 1000).
func parseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a size; use e.g. 512MiB or 2GiB", s)
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tib": 1 << 40,
		"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	}[strings.ToLower(unit)]
	if mult == 0 {
		return 0, fmt.Errorf("unknown unit %q in %q; use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB", unit, s)
	}
	b := v * mult
	if b > math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(b), nil
}
