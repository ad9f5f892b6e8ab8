package storage

import (
	"context"
	"strings"
	"testing"
)

// FuzzMatchKey checks the include matcher on arbitrary patterns and keys:
// it never panics, accepts every pattern ValidatePatterns accepts, and a
// pattern without glob syntax matches exactly the keys equal to it or
// having it as their base name.
func FuzzMatchKey(f *testing.F) {
	for _, s := range [][2]string{
		{"*.csv", "a/b.csv"}, {"**/x/*.csv", "p/x/a.csv"}, {"a/**", "a/b/c"},
		{"[a-", "a"}, {"\\", "x"}, {"**", ""}, {"a//b", "a//b"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, key string) {
		ok, err := MatchKey([]string{pattern}, key)
		if verr := ValidatePatterns([]string{pattern}); verr == nil && err != nil {
			t.Fatalf("ValidatePatterns(%q) ok but MatchKey: %v", pattern, err)
		}
		// Listed keys are never empty and never end in "/" (markers are skipped).
		if pattern == "" || strings.ContainsAny(pattern, `*?[\`) || err != nil || key == "" || strings.HasSuffix(key, "/") {
			return
		}
		base := key[strings.LastIndex(key, "/")+1:]
		want := key == pattern || base == pattern
		if ok != want {
			t.Fatalf("MatchKey(%q, %q) = %v, want %v", pattern, key, ok, want)
		}
	})
}

// FuzzOpen feeds arbitrary text after the scheme of in-memory URIs and as
// bucket URIs, which are parsed without touching the network; neither may
// panic, and a location that opens must have a well-formed prefix.
func FuzzOpen(f *testing.F) {
	for _, s := range []string{"name/p", "/x", "n/a/b.csv", "%zz", "n?nomd5", "n?x=1", "n/../..", ""} {
		f.Add(s)
	}
	seed := false
	f.Fuzz(func(t *testing.T, rest string) {
		ctx := context.Background()
		if !seed {
			seed = true
			out, err := OpenOutput(ctx, "mem://fuzz")
			if err == nil {
				_ = out.WriteFile(ctx, "a/b.csv", []byte("x"))
			}
		}
		for _, uri := range []string{"mem://" + rest, "mem://fuzz/" + rest} {
			for _, open := range []func(context.Context, string) (*Location, error){Open, OpenOutput} {
				l, err := open(ctx, uri)
				if err != nil {
					continue
				}
				if l.Prefix != "" && !strings.HasSuffix(l.Prefix, "/") {
					t.Fatalf("open(%q).Prefix = %q", uri, l.Prefix)
				}
				if _, err := l.List(ctx, nil); err != nil {
					t.Fatalf("open(%q) then List: %v", uri, err)
				}
				_ = l.Close()
			}
		}
	})
}
