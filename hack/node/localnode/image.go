package localnode

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Images maps image names to local executables: a container whose image
// resolves to a key runs that executable as its entrypoint.
type Images map[string]string

// ParseImage parses one --image flag value, NAME=PATH. PATH must be an
// executable file; it is made absolute so that the working directory of the
// container does not matter.
func ParseImage(v string) (name, path string, err error) {
	name, path, ok := strings.Cut(v, "=")
	name, path = strings.TrimSpace(name), strings.TrimSpace(path)
	if !ok || name == "" || path == "" {
		return "", "", fmt.Errorf("--image %q: want NAME=PATH, e.g. --image mldata=/abs/path/bin/mldata", v)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", "", fmt.Errorf("--image %s: %w", v, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", "", fmt.Errorf("--image %s: %w", v, err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return "", "", fmt.Errorf("--image %s: %s is not an executable file", v, abs)
	}
	return name, abs, nil
}

// imageCandidates lists the names under which ref may be mapped, most
// specific first: the reference as written, without its digest and tag, and
// the last path component without tag ("ghcr.io/x/mldata:v1" → "mldata").
func imageCandidates(ref string) []string {
	ref = strings.TrimSpace(ref)
	out := []string{ref}
	repo := ref
	if i := strings.Index(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	// A colon after the last slash starts the tag; one before it belongs to a
	// registry host:port.
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	out = append(out, repo)
	if i := strings.LastIndex(repo, "/"); i >= 0 {
		out = append(out, repo[i+1:])
	}
	return out
}

// Resolve returns the executable for image ref, or an error that names the
// image and the mapped names.
func (m Images) Resolve(ref string) (string, error) {
	for _, c := range imageCandidates(ref) {
		if p, ok := m[c]; ok && c != "" {
			return p, nil
		}
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	mapped := "none"
	if len(names) > 0 {
		mapped = strings.Join(names, ", ")
	}
	short := imageCandidates(ref)
	return "", fmt.Errorf("image %q is not available on this node: mldata-node runs local executables instead of images; "+
		"start it with --image %s=/path/to/executable (mapped images: %s)", ref, short[len(short)-1], mapped)
}
