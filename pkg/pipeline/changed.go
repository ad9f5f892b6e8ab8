package pipeline

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/mldata-io/mldata/pkg/dataset"
	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/manifest"
)

// maxBreakdownFiles bounds the changed files a gate breaks a column's drift
// down by: the largest ones, by rows.
const maxBreakdownFiles = 20

// compareChanged is the publish gate's changed-files comparison: the rows
// of the candidate's source files that are new or whose content differs
// from the baseline build's (by SHA-256) against the rows of the files it
// kept, then, per drifted column, each changed file against the kept rows.
// Binning depends on the baseline side alone (the kept rows), so every
// file's bins are the overall comparison's. It returns the drift report of
// all changed rows against the kept ones (nil when one side is empty).
func compareChanged(ctx context.Context, uri, split string, cand, base *manifest.Manifest, opt drift.Options, dopt dataset.Options, v *manifest.PublishGate) (*drift.Report, error) {
	known := make(map[string]string, len(base.Source.Files))
	for _, f := range base.Source.Files {
		known[f.Key] = f.SHA256
	}
	var changed, kept []manifest.SourceFile
	cf := &manifest.ChangedFiles{Changed: []string{}}
	for _, f := range cand.Source.Files {
		if sha, ok := known[f.Key]; ok && sha == f.SHA256 {
			kept = append(kept, f)
			cf.Unchanged++
			cf.UnchangedRows += f.Rows
			continue
		}
		changed = append(changed, f)
		cf.Changed = append(cf.Changed, f.Key)
		cf.ChangedRows += f.Rows
	}
	v.ChangedFiles = cf
	v.Against = fmt.Sprintf("the unchanged files of build %s", base.BuildID)
	if len(changed) == 0 || len(kept) == 0 {
		cf.Note = "nothing to compare: no source file changed, or every one did"
		return nil, nil
	}
	open := func(files []manifest.SourceFile) (*dataset.Dataset, error) {
		return dataset.OpenBuild(ctx, uri, filesBuild(cand, files, split), "", dopt)
	}
	rest, err := open(kept)
	if err != nil {
		return nil, fmt.Errorf("publish gate: reading the unchanged files' rows: %w", err)
	}
	defer rest.Close()
	all, err := open(changed)
	if err != nil {
		return nil, fmt.Errorf("publish gate: reading the changed files' rows: %w", err)
	}
	defer all.Close()
	restIn := drift.Input{Name: "unchanged files", Schema: rest.Schema, Scan: rest.Scan, Columns: columnsOf(rest)}
	r, err := drift.Compare(ctx, restIn, drift.Input{Name: "changed files", Schema: all.Schema, Scan: all.Scan, Columns: columnsOf(all)}, opt)
	if err != nil {
		return nil, fmt.Errorf("publish gate: %w", err)
	}
	verdict(v, r)
	if len(v.Drifted) == 0 {
		return r, nil
	}

	// Break every drifted column down by changed file, largest first.
	byRows := slices.Clone(changed)
	sort.SliceStable(byRows, func(i, j int) bool { return byRows[i].Rows > byRows[j].Rows })
	if len(byRows) > maxBreakdownFiles {
		cf.Note = fmt.Sprintf("broken down by the %d largest of %d changed files; contributions do not sum to the PSI", maxBreakdownFiles, len(byRows))
		byRows = byRows[:maxBreakdownFiles]
	}
	cols := make([]string, len(v.Drifted))
	for i, c := range v.Drifted {
		cols[i] = c.Column
		cf.Breakdown = append(cf.Breakdown, manifest.ColumnBreakdown{Column: c.Column, PSI: c.PSI})
	}
	fopt := opt
	fopt.Columns, fopt.Exclude = cols, nil
	for _, f := range byRows {
		if f.Rows == 0 {
			continue
		}
		d, err := open([]manifest.SourceFile{f})
		if err != nil {
			return nil, fmt.Errorf("publish gate: reading the rows of %s: %w", f.Key, err)
		}
		fr, err := drift.Compare(ctx, restIn, drift.Input{Name: f.Key, Schema: d.Schema, Scan: d.Scan, Columns: columnsOf(d)}, fopt)
		d.Close()
		if err != nil {
			return nil, fmt.Errorf("publish gate: comparing %s: %w", f.Key, err)
		}
		for i := range cf.Breakdown {
			b := &cf.Breakdown[i]
			fd, ok := fileDrift(b.Column, r, fr, opt.Epsilon)
			if !ok {
				continue // the file has no values of the column
			}
			fd.File, fd.Rows = f.Key, f.Rows
			b.Files = append(b.Files, fd)
		}
	}
	for i := range cf.Breakdown {
		files := cf.Breakdown[i].Files
		sort.SliceStable(files, func(a, b int) bool { return contribution(files[a]) > contribution(files[b]) })
	}
	return r, nil
}

func contribution(f manifest.FileDrift) float64 {
	if f.Contribution == nil {
		return f.PSI
	}
	return *f.Contribution
}

// filesBuild is a manifest whose one split holds the parts of files (of
// split, or of every split when split is "").
func filesBuild(m *manifest.Manifest, files []manifest.SourceFile, split string) *manifest.Manifest {
	s := manifest.Split{Name: "rows"}
	for _, f := range files {
		for _, p := range f.Parts {
			if split == "" || p.Split == split {
				s.Parts = append(s.Parts, p)
				s.Rows += p.Rows
			}
		}
	}
	return &manifest.Manifest{BuildID: m.BuildID, Output: m.Output, Splits: []manifest.Split{s}}
}

// fileDrift is one file's part in column col's drift: its PSI (from fr,
// the file against the kept rows) and its contribution to the column's
// PSI in r (all changed rows against the kept rows).
func fileDrift(col string, r, fr *drift.Report, eps float64) (manifest.FileDrift, bool) {
	if eps == 0 {
		eps = drift.DefaultEpsilon
	}
	if n, ok := r.NumericDrift.Get(col); ok {
		fn, ok := fr.NumericDrift.Get(col)
		if !ok {
			return manifest.FileDrift{}, false
		}
		fd := manifest.FileDrift{PSI: fn.PSI}
		if slices.Equal(n.Edges, fn.Edges) {
			c := psiContribution(n.BaselineCounts, n.CurrentCounts, fn.CurrentCounts, eps)
			fd.Contribution = &c
		}
		return fd, true
	}
	cat, ok := r.CategoricalDrift.Get(col)
	if !ok {
		return manifest.FileDrift{}, false
	}
	fc, ok := fr.CategoricalDrift.Get(col)
	if !ok {
		return manifest.FileDrift{}, false
	}
	fd := manifest.FileDrift{PSI: fc.PSI}
	// Exact only when both reports list every category.
	if cat.NumCategories == len(cat.Categories) && fc.NumCategories == len(fc.Categories) {
		counts := map[string]int64{}
		for i, k := range fc.Categories {
			counts[k] = fc.CurrentCounts[i]
		}
		file := make([]int64, len(cat.Categories))
		for i, k := range cat.Categories {
			file[i] = counts[k]
		}
		c := psiContribution(cat.BaselineCounts, cat.CurrentCounts, file, eps)
		fd.Contribution = &c
	}
	return fd, true
}

// psiContribution is a file's additive share of PSI(base, cur), where cur
// is the sum of the files' counts: with p′, q′ the shares of base and cur
// (a zero share replaced by eps, as PSI does), N the total of cur and c the
// file's counts,
//
//	Σᵢ (c̃ᵢ/N − (n/N)·p′ᵢ)·ln(q′ᵢ/p′ᵢ),  n = Σᵢ cᵢ,
//
// with c̃ᵢ/N = (n/N)·eps in the bins where cur is empty. Over all files the
// shares sum to q′ᵢ − p′ᵢ, so the contributions sum to the PSI.
func psiContribution(base, cur, file []int64, eps float64) float64 {
	var nb, nc, nf int64
	for i := range base {
		nb += base[i]
		nc += cur[i]
		nf += file[i]
	}
	if nb == 0 || nc == 0 || nf == 0 {
		return 0
	}
	w := float64(nf) / float64(nc)
	var sum float64
	for i := range base {
		p, q := float64(base[i])/float64(nb), float64(cur[i])/float64(nc)
		f := float64(file[i]) / float64(nc)
		if p == 0 {
			p = eps
		}
		if q == 0 {
			q, f = eps, w*eps
		}
		sum += (f - w*p) * math.Log(q/p)
	}
	return sum
}
