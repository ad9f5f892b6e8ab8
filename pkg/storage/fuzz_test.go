package storage

import (
	"context"
	"path"
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

// matchSegmentsBacktracking is the obvious recursive matcher, exponential
// on patterns with many "**" but simple enough to trust: the fuzz target
// compares matchSegments with it on small inputs.
func matchSegmentsBacktracking(pat, key []string) (bool, error) {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for len(pat) > 0 && pat[0] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 0 {
				return true, nil
			}
			for i := 0; i <= len(key); i++ {
				ok, err := matchSegmentsBacktracking(pat, key[i:])
				if err != nil || ok {
					return ok, err
				}
			}
			return false, nil
		}
		if len(key) == 0 {
			return false, nil
		}
		ok, err := path.Match(pat[0], key[0])
		if err != nil || !ok {
			return false, err
		}
		pat, key = pat[1:], key[1:]
	}
	return len(key) == 0, nil
}

// FuzzMatchSegments compares the automaton matcher with the backtracking
// one on inputs small enough for the latter, and bounds the automaton's time
// on inputs of any size by construction (it is called on every input).
func FuzzMatchSegments(f *testing.F) {
	for _, s := range [][2]string{
		{"**/a/**/b.csv", "x/a/y/z/b.csv"}, {"**/**/a", "a"}, {"a/**", "a"}, {"**", ""},
		{"**/a/**/a/**/b.csv", "a/a/a/a/c.csv"}, {"x/**/*.csv", "x/1/2/3.csv"}, {"[", "a"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, key string) {
		pat, k := strings.Split(pattern, "/"), strings.Split(key, "/")
		got, gerr := matchSegments(pat, k)
		if len(pat) > 8 || len(k) > 12 {
			return
		}
		want, werr := matchSegmentsBacktracking(pat, k)
		// The backtracking matcher may stop before reaching a bad element
		// that the automaton tries, and the other way round; compare
		// results only when both parse.
		if gerr != nil || werr != nil {
			return
		}
		if got != want {
			t.Fatalf("matchSegments(%q, %q) = %v, backtracking says %v", pattern, key, got, want)
		}
	})
}
