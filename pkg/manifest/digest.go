package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// DigestPrefix starts every dataset digest; it names the hash.
const DigestPrefix = "sha256:"

// Digest identifies exactly what a build publishes, so that a training job
// can record what it read and check it later. It is DigestPrefix followed by
// the hex SHA-256 of one line per part file, in manifest order (splits in
// their order, parts by path within a split):
//
//	<split> TAB <path> TAB <rows> TAB <bytes> TAB <sha256> LF
//
// where path is relative to the output location and sha256 is the part's own
// content hash (empty in manifests written before parts were hashed; their
// digest then pins the part list and sizes only).
//
// Two manifests have the same digest exactly when they list the same part
// files with the same sizes, row counts and contents in the same order. The
// digest does not depend on the manifest's other fields (timings, creation
// time), so re-reading or re-encoding a manifest never changes it.
func Digest(m *Manifest) string {
	h := sha256.New()
	for _, s := range m.Splits {
		for _, p := range s.Parts {
			fmt.Fprintf(h, "%s\t%s\t%d\t%d\t%s\n", s.Name, p.Path, p.Rows, p.Bytes, p.SHA256)
		}
	}
	return DigestPrefix + hex.EncodeToString(h.Sum(nil))
}

// PartsOf returns the part files of one split in manifest order, or of every
// split (in split order) when name is "". An unknown split is an error that
// lists the build's splits.
func (m *Manifest) PartsOf(name string) ([]Part, error) {
	var parts []Part
	names := make([]string, 0, len(m.Splits))
	found := name == ""
	for _, s := range m.Splits {
		names = append(names, s.Name)
		if name == "" || s.Name == name {
			found = true
			parts = append(parts, s.Parts...)
		}
	}
	if !found {
		return nil, fmt.Errorf("build %s has no split %q; its splits are %s", m.BuildID, name, strings.Join(names, ", "))
	}
	return parts, nil
}
