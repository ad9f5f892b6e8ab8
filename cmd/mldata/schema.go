package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/spf13/cobra"

	"github.com/mldata-io/mldata/pkg/dataset"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/schema"
	"github.com/mldata-io/mldata/pkg/storage"
)

func init() { subcommands = append(subcommands, newSchemaCmd) }

func newSchemaCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Inspect and compare dataset schemas",
	}
	var policy string
	var asJSON bool
	diff := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Compare the schemas of two builds, manifests, files or folders",
		Long: `Diff lists the columns added, removed, retyped or whose nullability changed
from OLD to NEW, and whether each change is breaking. OLD and NEW are each a
build output (its published build is used), a manifest.json, or data files
(a file, folder or bucket prefix, whose schema is inferred).

With --policy, the exit code is 1 when the policy refuses the changes.`,
		Example: `  mldata schema diff out/builds/20260101T000000000Z/manifest.json out/
  mldata schema diff data/2024.csv data/2025.csv --policy Strict`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			old, err := resolveColumns(ctx, args[0])
			if err != nil {
				return err
			}
			cur, err := resolveColumns(ctx, args[1])
			if err != nil {
				return err
			}
			changes := schema.Diff(old, cur)
			if asJSON {
				if changes == nil {
					changes = []schema.Change{}
				}
				if err := writeJSON(cmd.OutOrStdout(), changes); err != nil {
					return err
				}
			} else {
				printChanges(cmd.OutOrStdout(), changes)
			}
			if policy != "" {
				p, err := schema.ParsePolicy(policy)
				if err != nil {
					return usagef("--policy: %v", err)
				}
				return p.Check(changes)
			}
			return nil
		},
	}
	diff.Flags().StringVar(&policy, "policy", "", "fail when the changes break this policy: AllowAll|AllowAdditive|Strict")
	diff.Flags().BoolVar(&asJSON, "json", false, "print the changes as JSON")
	cmd.AddCommand(diff)
	return cmd
}

func printChanges(w io.Writer, changes []schema.Change) {
	if len(changes) == 0 {
		fmt.Fprintln(w, "no schema changes")
		return
	}
	breaking := 0
	for _, c := range changes {
		fmt.Fprintln(w, c)
		if c.Breaking {
			breaking++
		}
	}
	fmt.Fprintf(w, "%d change(s), %d breaking\n", len(changes), breaking)
}

// resolveColumns returns the schema of a manifest, a build output, or data.
func resolveColumns(ctx context.Context, uri string) ([]schema.Column, error) {
	if strings.HasSuffix(uri, ".json") {
		loc, err := storage.Open(ctx, uri)
		if err != nil {
			return nil, err
		}
		defer loc.Close()
		data, err := loc.ReadFile(ctx, loc.Object)
		if err != nil {
			return nil, err
		}
		m, err := manifest.Unmarshal(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", uri, err)
		}
		return m.Schema.Columns, nil
	}
	ds, err := dataset.Open(ctx, uri, dataset.Options{SkipHash: true})
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	if ds.Build != nil {
		return ds.Build.Schema.Columns, nil
	}
	// Nullability is what the data shows, as in a build's manifest.
	workers := runtime.GOMAXPROCS(0)
	nulls := make([][]int64, workers)
	err = ds.Scan(ctx, workers, func(w int, rec arrow.RecordBatch) error {
		if nulls[w] == nil {
			nulls[w] = make([]int64, rec.NumCols())
		}
		for c := 0; c < int(rec.NumCols()); c++ {
			nulls[w][c] += int64(rec.Column(c).NullN())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	total := make([]int64, ds.Schema.NumFields())
	for _, n := range nulls {
		for c, v := range n {
			total[c] += v
		}
	}
	return schema.FromArrow(ds.Schema, total), nil
}
