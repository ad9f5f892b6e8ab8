package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readingDoc is the document whose recipes TestReadingRecipes runs.
const readingDoc = "../../docs/reading.md"

// readingModules is where hack/reading/install.sh puts DuckDB and Polars.
const readingModules = "../../bin/reading"

// The sample's train split (built with --split-key customer_id): its rows and
// the sum of customer_id over them, what every recipe prints.
const (
	sampleTrainRows  = 792
	sampleTrainIDSum = 396096
)

// recipe is one code block of docs/reading.md that follows a marker
//
//	<!-- recipe: NAME key=value ... -->
//
// with keys needs (comma-separated: python, python:MODULE[|MODULE…],
// node:PACKAGE), format (the build's --output-format; parquet by default)
// and expect (rows+files for a recipe that prints the row count and the part
// list; else it prints "ROWS SUM(customer_id)").
type recipe struct {
	name, lang, code string
	line             int
	attrs            map[string]string
}

func parseRecipes(doc string) ([]recipe, error) {
	var out []recipe
	sc := bufio.NewScanner(strings.NewReader(doc))
	lineNo := 0
	var cur *recipe
	var code strings.Builder
	inCode := false
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		switch {
		case inCode && strings.HasPrefix(line, "```"):
			cur.code = code.String()
			out = append(out, *cur)
			cur, inCode = nil, false
		case inCode:
			code.WriteString(line + "\n")
		case cur != nil:
			if !strings.HasPrefix(line, "```") || len(line) == 3 {
				return nil, fmt.Errorf("line %d: recipe %s: the marker must be followed by a fenced code block with a language", lineNo, cur.name)
			}
			cur.lang, cur.line, inCode = line[3:], lineNo, true
			code.Reset()
		case strings.HasPrefix(line, "<!-- recipe: "):
			f := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(line, "<!-- recipe: "), "-->"))
			if len(f) == 0 {
				return nil, fmt.Errorf("line %d: recipe marker without a name", lineNo)
			}
			cur = &recipe{name: f[0], attrs: map[string]string{}}
			for _, kv := range f[1:] {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return nil, fmt.Errorf("line %d: recipe %s: %q is not key=value", lineNo, cur.name, kv)
				}
				cur.attrs[k] = v
			}
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("recipe %s: no code block after its marker", cur.name)
	}
	return out, sc.Err()
}

func TestParseRecipes(t *testing.T) {
	doc := "text\n<!-- recipe: a needs=python format=csv -->\n```python\nprint(1)\nprint(2)\n```\n```sh\nnot a recipe\n```\n"
	rs, err := parseRecipes(doc)
	if err != nil || len(rs) != 1 || rs[0].name != "a" || rs[0].lang != "python" || rs[0].code != "print(1)\nprint(2)\n" ||
		rs[0].attrs["needs"] != "python" || rs[0].attrs["format"] != "csv" || rs[0].line != 3 {
		t.Fatalf("parseRecipes = %+v, %v", rs, err)
	}
	if _, err := parseRecipes("<!-- recipe: b -->\ntext\n"); err == nil || !strings.Contains(err.Error(), "line 2: recipe b: the marker must be followed by a fenced code block") {
		t.Errorf("marker without code: %v", err)
	}
}

// findPython returns the first Python interpreter that imports every module
// group (each group is MODULE|MODULE…: one of them is enough), or a reason.
func findPython(groups []string) (string, string) {
	cands := []string{"python3", "/usr/bin/python3"}
	if p := os.Getenv("MLDATA_PYTHON"); p != "" {
		cands = []string{p}
	}
	var tried []string
	for _, c := range cands {
		py, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		ok := true
		for _, g := range groups {
			var any bool
			for _, m := range strings.Split(g, "|") {
				if exec.Command(py, "-c", "import "+m).Run() == nil {
					any = true
					break
				}
			}
			if !any {
				ok = false
				tried = append(tried, fmt.Sprintf("%s lacks %s", py, g))
				break
			}
		}
		if ok {
			return py, ""
		}
	}
	if len(tried) == 0 {
		return "", "no python3"
	}
	return "", strings.Join(tried, "; ")
}

// readingData is a build of the sample in one output format, with the files
// the recipes read, all under dir.
type readingData struct {
	dir        string
	trainParts []string
}

func prepareReading(t *testing.T, format string) readingData {
	t.Helper()
	dir := t.TempDir()
	src, _ := filepath.Abs(sample)
	out := filepath.Join(dir, "out", "churn")
	if _, stderr, code := pdRun(t, "build", "--source", src, "--output", out, "--split-key", "customer_id", "--output-format", format); code != exitOK {
		t.Fatalf("build: exit %d: %s", code, stderr)
	}
	stdout, stderr, code := pdRun(t, "parts", out, "--split", "train")
	if code != exitOK {
		t.Fatalf("parts: exit %d: %s", code, stderr)
	}
	writeFile(t, filepath.Join(dir, "train-parts.txt"), stdout)
	all, stderr, code := pdRun(t, "parts", out, "--format", "json")
	if code != exitOK {
		t.Fatalf("parts --format json: exit %d: %s", code, stderr)
	}
	writeFile(t, filepath.Join(dir, "parts.json"), all)
	return readingData{dir: dir, trainParts: strings.Fields(stdout)}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReadingRecipes runs every recipe of docs/reading.md on a build of the
// sample and checks what it prints. A recipe whose tool is missing skips,
// naming the script that installs it.
func TestReadingRecipes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs external tools")
	}
	doc, err := os.ReadFile(readingDoc)
	if err != nil {
		t.Fatal(err)
	}
	recipes, err := parseRecipes(string(doc))
	if err != nil {
		t.Fatalf("%s: %v", readingDoc, err)
	}
	names := map[string]bool{}
	for _, r := range recipes {
		names[r.name] = true
	}
	for _, want := range []string{"latest-json", "duckdb", "polars", "pandas-parquet", "pandas-csv", "pyarrow", "hf-datasets"} {
		if !names[want] {
			t.Errorf("%s has no recipe %q", readingDoc, want)
		}
	}
	data := map[string]readingData{}
	parent := t
	for _, r := range recipes {
		t.Run(r.name, func(t *testing.T) {
			cmd, cleanup := recipeCommand(t, r)
			defer cleanup()
			format := r.attrs["format"]
			if format == "" {
				format = "parquet"
			}
			d, ok := data[format]
			if !ok {
				d = prepareReading(parent, format) // shared by the recipes: they only read
				data[format] = d
			}
			cmd.Dir = d.dir
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%s:%d: recipe %s: %v\n%s%s", readingDoc, r.line, r.name, err, stdout.String(), stderr.String())
			}
			got := strings.Fields(stdout.String())
			switch r.attrs["expect"] {
			case "rows+files":
				var files []string
				for _, f := range got[min(1, len(got)):] {
					if !filepath.IsAbs(f) {
						f = filepath.Join(d.dir, f)
					}
					files = append(files, f)
				}
				if len(got) == 0 || got[0] != fmt.Sprint(sampleTrainRows) || strings.Join(files, " ") != strings.Join(d.trainParts, " ") {
					t.Errorf("recipe %s printed %q; want %d and the parts %v", r.name, stdout.String(), sampleTrainRows, d.trainParts)
				}
			default:
				if want := fmt.Sprintf("%d %d", sampleTrainRows, sampleTrainIDSum); strings.Join(got, " ") != want {
					t.Errorf("recipe %s printed %q, want %q\n%s", r.name, stdout.String(), want, stderr.String())
				}
			}
		})
	}
}

// recipeCommand writes the recipe to a file and returns the command that
// runs it, or skips the test when its tools are missing.
func recipeCommand(t *testing.T, r recipe) (*exec.Cmd, func()) {
	t.Helper()
	var pyGroups, nodePkgs []string
	needPython := false
	for _, n := range strings.Split(r.attrs["needs"], ",") {
		switch {
		case n == "python":
			needPython = true
		case strings.HasPrefix(n, "python:"):
			needPython = true
			pyGroups = append(pyGroups, strings.TrimPrefix(n, "python:"))
		case strings.HasPrefix(n, "node:"):
			nodePkgs = append(nodePkgs, strings.TrimPrefix(n, "node:"))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	switch r.lang {
	case "python":
		if !needPython {
			t.Fatalf("recipe %s: a python recipe must say needs=python", r.name)
		}
		py, why := findPython(pyGroups)
		if py == "" {
			cancel()
			t.Skipf("recipe %s: %s (hack/reading/install.sh installs pandas from Debian; pyarrow and datasets are not packaged there)", r.name, why)
		}
		f := filepath.Join(t.TempDir(), r.name+".py")
		writeFile(t, f, r.code)
		return exec.CommandContext(ctx, py, f), cancel
	case "js":
		node, err := exec.LookPath("node")
		if err != nil {
			cancel()
			t.Skipf("recipe %s: no node on PATH (Node.js 20+)", r.name)
		}
		for _, p := range nodePkgs {
			if _, err := os.Stat(filepath.Join(readingModules, "node_modules", filepath.FromSlash(p), "package.json")); errors.Is(err, os.ErrNotExist) {
				cancel()
				t.Skipf("recipe %s: %s is not installed in bin/reading; run hack/reading/install.sh", r.name, p)
			}
		}
		// The script lives next to node_modules so that its imports resolve.
		f, err := os.CreateTemp(readingModules, "recipe-"+r.name+"-*.mjs")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(r.code); err != nil {
			t.Fatal(err)
		}
		f.Close()
		abs, _ := filepath.Abs(f.Name())
		return exec.CommandContext(ctx, node, abs), func() { cancel(); os.Remove(abs) }
	default:
		cancel()
		t.Fatalf("recipe %s: no runner for %q code", r.name, r.lang)
		return nil, nil
	}
}
