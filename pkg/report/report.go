// Package report renders profiles and drift reports as self-contained HTML
// pages: one file each, inline CSS and SVG, no scripts and no network
// access, so that a report can be attached to a ticket, served from a bucket
// or opened offline and always look the same.
//
// Pages stay small enough for wide datasets (well under 2 MB for 500
// columns): charts are a few SVG rectangles per bin or value, long values are
// cut for display, and nothing is embedded twice.
package report

import (
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/profile"
)

//go:embed templates/*.html
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"num":   formatNumber,
	"fnum":  formatFloat,
	"int":   formatInt,
	"pct":   formatPct,
	"bytes": FormatBytes,
	"short": shorten,
}).ParseFS(templateFS, "templates/*.html"))

// maxLabel is the longest value label shown; longer ones are cut with an
// ellipsis (the JSON has them in full).
const maxLabel = 40

// Chart geometry, in SVG user units.
const (
	histW, histH = 320.0, 90.0
	barW         = 220.0
)

// Profile writes the HTML page of a profile.
func Profile(w io.Writer, p *profile.Profile) error {
	if p == nil {
		return fmt.Errorf("report: no profile")
	}
	if err := templates.ExecuteTemplate(w, "profile.html", profileView(p)); err != nil {
		return fmt.Errorf("report: rendering profile: %w", err)
	}
	return nil
}

// Drift writes the HTML page of a drift report.
func Drift(w io.Writer, r *drift.Report) error {
	if r == nil {
		return fmt.Errorf("report: no drift report")
	}
	if err := templates.ExecuteTemplate(w, "drift.html", driftView(r)); err != nil {
		return fmt.Errorf("report: rendering drift report: %w", err)
	}
	return nil
}

// Gate writes the HTML page of a publish gate: its verdict, what decided
// each drifted column, for a changed-files comparison each drifted
// column's PSI broken down by changed file (largest contributor first),
// then the drift report r the gate decided on. r is nil when the gate had
// nothing to compare (the first build, or no file changed).
func Gate(w io.Writer, g *manifest.PublishGate, r *drift.Report) error {
	if g == nil {
		return fmt.Errorf("report: no publish gate")
	}
	compared := r != nil
	if !compared {
		r = &drift.Report{Baseline: g.Against, Current: "candidate build"}
	}
	v := driftView(r)
	v.Gate, v.NoReport = gateView(g), !compared
	if err := templates.ExecuteTemplate(w, "drift.html", v); err != nil {
		return fmt.Errorf("report: rendering publish gate: %w", err)
	}
	return nil
}

// ---------------------------------------------------------------- profile

type pView struct {
	P        *profile.Profile
	Columns  []colView
	Numeric  int
	Other    int
	Approx   int
	Nullable int
}

type colView struct {
	profile.Column
	Index     int
	NullPct   float64
	Stats     *profile.Statistics
	Hist      *histView
	Top       []barView
	TopMore   int64 // values not in the top list (non-null count minus listed)
	Approx    *profile.Approximation
	IsNumeric bool
}

type histView struct {
	Bars       []rect
	Lo, Hi     string
	MaxCount   int64
	W, H       float64
	Baseline   float64
	LabelY     float64
	Overlapped bool
}

type rect struct {
	X, Y, W, H float64
	Title      string
	Class      string
}

type barView struct {
	Label string
	Count int64
	Share float64
	W     float64
}

func profileView(p *profile.Profile) pView {
	v := pView{P: p}
	for i, c := range p.Schema.Columns {
		cv := colView{Column: c, Index: i}
		if p.NumRows > 0 {
			cv.NullPct = float64(c.NullCount) / float64(p.NumRows)
		}
		if c.NullCount > 0 {
			v.Nullable++
		}
		if st, ok := p.Statistics.Get(c.Name); ok {
			cv.IsNumeric = true
			cv.Stats = st
			v.Numeric++
			if h, _ := p.Histograms.Get(c.Name); h != nil {
				cv.Hist = histogram(h)
			}
		} else {
			v.Other++
			if d, ok := p.Distributions.Get(c.Name); ok {
				nonNull := p.NumRows - c.NullCount
				cv.Top, cv.TopMore = topBars(d, nonNull)
			}
		}
		if a, ok := p.Approximate.Get(c.Name); ok {
			cv.Approx = &a
			v.Approx++
		}
		v.Columns = append(v.Columns, cv)
	}
	return v
}

func histogram(h *profile.Histogram) *histView {
	hv := &histView{W: histW, H: histH + 16, Baseline: histH, LabelY: histH + 13}
	for _, c := range h.Counts {
		hv.MaxCount = max(hv.MaxCount, c)
	}
	n := len(h.Counts)
	if n == 0 {
		return nil
	}
	bw := histW / float64(n)
	for i, c := range h.Counts {
		ht := 0.0
		if hv.MaxCount > 0 {
			ht = math.Round(float64(c)/float64(hv.MaxCount)*(histH-4)*10) / 10
		}
		if c > 0 && ht < 1 {
			ht = 1 // a non-empty bin stays visible
		}
		hv.Bars = append(hv.Bars, rect{
			X: round1(float64(i)*bw + 1), Y: round1(histH - ht), W: round1(bw - 2), H: ht,
			Title: fmt.Sprintf("[%s, %s%s: %d", formatFloat(h.Edges[i]), formatFloat(h.Edges[i+1]), closing(i, n), c),
		})
	}
	hv.Lo, hv.Hi = formatFloat(h.Edges[0]), formatFloat(h.Edges[n])
	return hv
}

func closing(i, n int) string {
	if i == n-1 {
		return "]"
	}
	return ")"
}

func topBars(d profile.Object[int64], nonNull int64) ([]barView, int64) {
	var maxC, listed int64
	for _, f := range d {
		maxC = max(maxC, f.Value)
		listed += f.Value
	}
	out := make([]barView, 0, len(d))
	for _, f := range d {
		b := barView{Label: shorten(f.Key), Count: f.Value}
		if nonNull > 0 {
			b.Share = float64(f.Value) / float64(nonNull)
		}
		if maxC > 0 {
			b.W = round1(float64(f.Value) / float64(maxC) * barW)
		}
		out = append(out, b)
	}
	return out, max(nonNull-listed, 0)
}

// ---------------------------------------------------------------- drift

type dView struct {
	R        *drift.Report
	Gate     *gView // set on a publish gate's page
	NoReport bool   // a gate's page without a comparison
	Rows     []driftRow
	Drifted  int
	MaxPSI   float64
	Bins     string
	Counts   map[string]int
	Skipped  []drift.Skipped
	Verdict  string
	Numeric  int
	Category int
}

type driftRow struct {
	Name, Kind, Severity string
	PSI, JS              float64
	KL                   *float64
	KSStat, KSP          *float64
	Chi2, Chi2P          *float64
	WN, Hel, LInf        *float64
	Method               drift.Method
	Threshold            *float64
	Detected             bool
	Note                 string
	Approx               *drift.Approximation
	Chart                *pairChart
	Index                int
}

// pairChart draws baseline and current shares side by side per bin or
// category.
type pairChart struct {
	W, H   float64
	Groups []pairGroup
}

type pairGroup struct {
	Label, Title string
	B, C         rect
	LabelX       float64
	LabelY       float64
}

var severityRank = map[string]int{"high": 0, "medium": 1, "low": 2}

func driftView(r *drift.Report) dView {
	v := dView{R: r, MaxPSI: r.MaxPSI(), Skipped: r.Skipped, Counts: map[string]int{}}
	for _, f := range r.NumericDrift {
		d := f.Value
		row := driftRow{Name: f.Key, Kind: "numeric", Severity: d.Severity, PSI: d.PSI, JS: d.JSDistance,
			KL: &d.KLDivergence, KSStat: d.KSStatistic, KSP: d.KSPValue, Detected: d.DriftDetected,
			WN: d.WassersteinNormed, Hel: &d.HellingerDistance, Method: d.Method, Threshold: d.Threshold}
		if d.KSPValue == nil {
			row.Note = d.Unavailable["ks_pvalue"]
		}
		row.Approx = d.Approximate
		row.Chart = numericChart(d)
		v.Rows = append(v.Rows, row)
		v.Numeric++
	}
	for _, f := range r.CategoricalDrift {
		d := f.Value
		row := driftRow{Name: f.Key, Kind: "categorical", Severity: d.Severity, PSI: d.PSI, JS: d.JSDistance,
			Chi2: &d.Chi2, Chi2P: &d.Chi2PValue, Detected: d.DriftDetected,
			Hel: &d.HellingerDistance, LInf: &d.LInfDistance, Method: d.Method, Threshold: d.Threshold}
		if d.NumCategories > maxDrawn {
			row.Note = fmt.Sprintf("%d categories; the %d most frequent are drawn", d.NumCategories, maxDrawn)
		}
		row.Chart = categoricalChart(d)
		v.Rows = append(v.Rows, row)
		v.Category++
	}
	slices.SortStableFunc(v.Rows, func(a, b driftRow) int {
		if c := cmp.Compare(severityRank[a.Severity], severityRank[b.Severity]); c != 0 {
			return c
		}
		if a.Detected != b.Detected {
			if a.Detected {
				return -1
			}
			return 1
		}
		return cmp.Compare(b.PSI, a.PSI)
	})
	for i := range v.Rows {
		v.Rows[i].Index = i
		v.Counts[v.Rows[i].Severity]++
		if v.Rows[i].Detected {
			v.Drifted++
		}
	}
	v.Verdict = "no drift"
	if r.HasDrift {
		v.Verdict = "drift detected"
	}
	if r.Conventions.Binning == drift.Pinned {
		v.Bins = "pinned to the baseline profile's histogram"
	} else {
		v.Bins = fmt.Sprintf("%d %s bins", r.Conventions.Bins, r.Conventions.Binning)
	}
	return v
}

// ---------------------------------------------------------------- gate

type gView struct {
	G       *manifest.PublishGate
	Outcome string
	Class   string // drift or ok
	Drifted []gateColumn
	Changed *changedView
}

type gateColumn struct {
	manifest.GateColumn
	Rule string // "wasserstein_normed 0.31 >= 0.1"
}

type changedView struct {
	CF *manifest.ChangedFiles
	// Files are the changed files listed (at most maxListedFiles); More
	// counts the others.
	Files   []string
	More    int
	Columns []breakdownView
}

type breakdownView struct {
	Column string
	PSI    float64
	Files  []fileView
}

type fileView struct {
	manifest.FileDrift
	Bar float64 // width of the contribution's bar
	Neg bool    // the file moved the column back towards the baseline
}

// maxListedFiles bounds the changed files a gate page lists by name.
const maxListedFiles = 50

// fileBarW is the width of the largest contribution's bar.
const fileBarW = 160.0

func gateView(g *manifest.PublishGate) *gView {
	v := &gView{G: g, Class: "ok"}
	switch {
	case g.Against == "none":
		v.Outcome = "passed: no published build to compare with"
	case g.Passed:
		v.Outcome = "passed"
	case g.OnDrift == "Warn":
		v.Outcome, v.Class = "drifted; published anyway (onDrift Warn)", "drift"
	default:
		v.Outcome, v.Class = "refused: drifted, nothing was published (onDrift Fail)", "drift"
	}
	for _, c := range g.Drifted {
		rule := drift.RecordedDecision(c.Method, c.Metric, c.Value, c.Threshold).String()
		if c.Metric == "" {
			rule = "psi " + formatNumber(c.PSI)
		}
		v.Drifted = append(v.Drifted, gateColumn{GateColumn: c, Rule: rule})
	}
	cf := g.ChangedFiles
	if cf == nil {
		return v
	}
	cv := &changedView{CF: cf, Files: cf.Changed}
	if len(cv.Files) > maxListedFiles {
		cv.Files, cv.More = cv.Files[:maxListedFiles], len(cf.Changed)-maxListedFiles
	}
	for _, b := range cf.Breakdown {
		bv := breakdownView{Column: b.Column, PSI: b.PSI}
		top := 0.0
		for _, f := range b.Files {
			top = math.Max(top, math.Abs(contribution(f)))
		}
		for _, f := range b.Files {
			fv := fileView{FileDrift: f, Neg: contribution(f) < 0}
			if top > 0 {
				fv.Bar = round1(math.Abs(contribution(f)) / top * fileBarW)
			}
			bv.Files = append(bv.Files, fv)
		}
		// Largest contributor first (the file's own PSI when the
		// contribution could not be computed), as the gate ranks them.
		slices.SortStableFunc(bv.Files, func(a, b fileView) int { return cmp.Compare(contribution(b.FileDrift), contribution(a.FileDrift)) })
		cv.Columns = append(cv.Columns, bv)
	}
	v.Changed = cv
	return v
}

func contribution(f manifest.FileDrift) float64 {
	if f.Contribution == nil {
		return f.PSI
	}
	return *f.Contribution
}

const (
	pairH      = 80.0
	pairLabelH = 14.0
)

func numericChart(d *drift.NumericDrift) *pairChart {
	labels := make([]string, len(d.BaselineCounts))
	fulls := make([]string, len(labels))
	for i := range labels {
		lo, hi := "−∞", "+∞"
		if i > 0 {
			lo = formatFloat(profile.Float(d.Edges[i-1]))
		}
		if i < len(d.Edges) {
			hi = formatFloat(profile.Float(d.Edges[i]))
		}
		fulls[i] = "[" + lo + ", " + hi + ")"
		// Axis labels get 3 significant digits to fit under their bars.
		if i == 0 {
			labels[i] = "<" + axisNumber(d.Edges, 0)
		} else {
			labels[i] = "≥" + axisNumber(d.Edges, i-1)
		}
	}
	return pairs(labels, fulls, d.BaselineCounts, d.CurrentCounts, 0, 0)
}

// maxDrawn is the number of categories a drift chart draws, which keeps
// pages of hundreds of columns small; the JSON lists more.
const maxDrawn = 10

func categoricalChart(d *drift.CategoricalDrift) *pairChart {
	k := min(len(d.Categories), maxDrawn)
	labels := make([]string, k)
	fulls := make([]string, k)
	for i, c := range d.Categories[:k] {
		labels[i] = shortenTo(c, 8)
		fulls[i] = shortenTo(c, maxLabel)
	}
	return pairs(labels, fulls, d.BaselineCounts[:k], d.CurrentCounts[:k], d.BaselineTotal, d.CurrentTotal)
}

// pairs charts shares of totals sb and sc (0: the sums of the counts given).
func pairs(labels, fulls []string, bc, cc []int64, sb, sc int64) *pairChart {
	n := len(bc)
	if n == 0 {
		return nil
	}
	if sb == 0 && sc == 0 {
		for i := range bc {
			sb += bc[i]
			sc += cc[i]
		}
	}
	share := func(c, s int64) float64 {
		if s == 0 {
			return 0
		}
		return float64(c) / float64(s)
	}
	maxShare := 0.0
	for i := range bc {
		maxShare = math.Max(maxShare, math.Max(share(bc[i], sb), share(cc[i], sc)))
	}
	gw := 44.0
	pc := &pairChart{W: gw * float64(n), H: pairH + pairLabelH + 2}
	for i := range bc {
		x := float64(i) * gw
		h := func(c, s int64) float64 {
			if maxShare == 0 {
				return 0
			}
			ht := math.Round(share(c, s)/maxShare*(pairH-4)*10) / 10
			if c > 0 && ht < 1 {
				ht = 1
			}
			return ht
		}
		hb, hc := h(bc[i], sb), h(cc[i], sc)
		pc.Groups = append(pc.Groups, pairGroup{
			Label:  labels[i],
			Title:  fmt.Sprintf("%s: baseline %d (%s), current %d (%s)", fulls[i], bc[i], formatPct(share(bc[i], sb)), cc[i], formatPct(share(cc[i], sc))),
			B:      rect{X: x + 4, Y: pairH - hb, W: 17, H: hb},
			C:      rect{X: x + 22, Y: pairH - hc, W: 17, H: hc},
			LabelX: x + gw/2, LabelY: pairH + pairLabelH - 2,
		})
	}
	return pc
}

// ---------------------------------------------------------------- formatting

func round1(x float64) float64 { return math.Round(x*10) / 10 }

func axisNumber(edges []float64, i int) string {
	if len(edges) == 0 {
		return "∞"
	}
	return strconv.FormatFloat(edges[i], 'g', 3, 64)
}

func formatFloat(f profile.Float) string { return formatNumber(float64(f)) }

// formatNumber prints a number with up to 6 significant digits, which is
// what a reader compares at a glance; the JSON has the full precision.
func formatNumber(x any) string {
	var f float64
	switch v := x.(type) {
	case float64:
		f = v
	case *float64:
		if v == nil {
			return "—"
		}
		f = *v
	case profile.Float:
		f = float64(v)
	case *profile.Float:
		if v == nil {
			return "—"
		}
		f = float64(*v)
	case int64:
		return formatInt(v)
	case int:
		return formatInt(int64(v))
	default:
		return fmt.Sprint(x)
	}
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+∞"
	case math.IsInf(f, -1):
		return "−∞"
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		return formatInt(int64(f))
	}
	return strconv.FormatFloat(f, 'g', 6, 64)
}

// formatInt groups thousands with thin spaces.
func formatInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteString("−")
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u2009")
		}
		b.WriteRune(r)
	}
	return b.String()
}

func formatPct(x float64) string {
	switch {
	case x == 0:
		return "0%"
	case x < 0.001:
		return "<0.1%"
	}
	return strconv.FormatFloat(x*100, 'f', 1, 64) + "%"
}

// FormatBytes renders a byte count for people: 512 B, 19.7 KiB, 1.2 GiB.
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func shorten(s string) string { return shortenTo(s, maxLabel) }

func shortenTo(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
