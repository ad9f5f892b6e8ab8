package report

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromium returns the browser binary. Without one the test is skipped on
// a developer machine, but fails in CI (CI=true), which installs it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "" {
		t.Skip("no chromium on PATH (apt-get install -y chromium); CI requires it")
	}
	t.Fatal("CI is set but chromium is not installed")
	return ""
}

func runChromium(t *testing.T, bin string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--enable-logging=stderr", "--v=0", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
	}
	return out.String(), errb.String()
}

// TestPagesRenderInChromium opens the pages (profile, drift, publish gate) in headless Chromium: the DOM
// must hold the columns, the console must stay silent, and the screenshot
// must show more than a blank page.
func TestPagesRenderInChromium(t *testing.T) {
	bin := chromium(t)
	p, r := sample(t)
	dir := t.TempDir()
	var pb, db bytes.Buffer
	if err := Profile(&pb, p); err != nil {
		t.Fatal(err)
	}
	if err := Drift(&db, r); err != nil {
		t.Fatal(err)
	}
	var gb bytes.Buffer
	g, gr := gateSample(t)
	if err := Gate(&gb, g, gr); err != nil {
		t.Fatal(err)
	}
	pages := map[string]struct {
		html []byte
		want []string
	}{
		"profile.html": {pb.Bytes(), []string{"price_usd", "country_code", "all_missing", "Dataset profile"}},
		"drift.html":   {db.Bytes(), []string{"price_usd", "country_code", "drift detected", "Conventions"}},
		"gate.html": {gb.Bytes(), []string{"Publish gate", "refused: drifted", "Changed files", "2026/big.csv",
			"wasserstein_normed 1.741 &gt;= 0.25", `<i class="neg"`, "Columns by severity"}},
	}
	for name, page := range pages {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, page.html, 0o644); err != nil {
				t.Fatal(err)
			}
			url := "file://" + path
			dom, logs := runChromium(t, bin, "--dump-dom", url)
			for _, w := range page.want {
				if !strings.Contains(dom, w) {
					t.Errorf("rendered DOM lacks %q", w)
				}
			}
			if !strings.Contains(dom, "<svg") {
				t.Error("rendered DOM has no chart")
			}
			for _, line := range strings.Split(logs, "\n") {
				if strings.Contains(line, "CONSOLE") || strings.Contains(line, "Uncaught") {
					t.Errorf("console output: %s", line)
				}
			}

			shot := filepath.Join(t.TempDir(), "shot.png")
			runChromium(t, bin, "--screenshot="+shot, "--window-size=1200,900", "--hide-scrollbars", url)
			f, err := os.Open(shot)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatalf("screenshot: %v", err)
			}
			colours := map[[4]uint32]bool{}
			b := img.Bounds()
			for y := b.Min.Y; y < b.Max.Y; y += 3 {
				for x := b.Min.X; x < b.Max.X; x += 3 {
					r, g, bl, a := img.At(x, y).RGBA()
					colours[[4]uint32{r, g, bl, a}] = true
				}
			}
			// Text, header, cards and both chart colours: far more than a few.
			if len(colours) < 10 {
				t.Errorf("screenshot has %d distinct colours; the page looks blank", len(colours))
			}
		})
	}
}
