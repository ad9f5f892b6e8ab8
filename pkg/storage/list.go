package storage

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"gocloud.dev/blob"
)

// Object is what a listing says about one object.
type Object struct {
	// Key is relative to the Location's prefix and "/"-separated.
	Key  string
	Size int64
	// ETag is the store's entity tag in quoted HTTP form, "" when the store
	// has none. Local and in-memory stores report none: fileblob and memblob
	// only invent one in Attributes (from the time), never in listings, and
	// a value that differs between List and Attributes would make every
	// object look changed.
	ETag string
	// MD5 is the hex MD5 of the content when the store reports it (S3 for
	// single-part uploads, GCS, Azure when set at upload, memblob).
	MD5     string
	ModTime time.Time
}

// Version is a cheap change token from listing metadata: the ETag if
// present, else the MD5, else size and modification time in nanoseconds.
// The kind of token is part of it, so tokens of different kinds never
// compare equal.
func (o Object) Version() string {
	switch {
	case o.ETag != "":
		return "etag:" + o.ETag
	case o.MD5 != "":
		return "md5:" + o.MD5
	default:
		return fmt.Sprintf("size:%d,mtime:%d", o.Size, o.ModTime.UnixNano())
	}
}

// fileblobTemp matches the temporary files fileblob creates beside their
// target while a write is open (<name>.<hex nanoseconds>.tmp).
var fileblobTemp = regexp.MustCompile(`\.[0-9a-f]{1,16}\.tmp$`)

// List returns the objects under the location, sorted by key (byte order),
// keeping those that match any include pattern (see MatchKey; empty keeps
// all). It skips directory markers (keys ending in "/"), hidden files (a
// path element starting with "."), and in local directories fileblob's
// ".attrs" sidecars and in-progress temporary files.
//
// For a single-object location it returns that object alone, whatever the
// patterns: naming a file is more specific than a glob.
func (l *Location) List(ctx context.Context, include []string) ([]Object, error) {
	if err := ValidatePatterns(include); err != nil {
		return nil, fmt.Errorf("%s: %w", l, err)
	}
	if l.Object != "" {
		o, err := l.Attributes(ctx, l.Object)
		if err != nil {
			return nil, err
		}
		return []Object{o}, nil
	}
	var out []Object
	seen := 0
	it := l.Bucket.List(&blob.ListOptions{Prefix: l.Prefix})
	for {
		// Stores answer pages quickly, but a page can hold thousands of
		// keys; a cancelled listing stops at the next one.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		lo, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, l.redact(fmt.Errorf("%s: list: %w", l, err))
		}
		if seen++; l.MaxListEntries > 0 && seen > l.MaxListEntries {
			return nil, &ListLimitError{URI: l.String(), Limit: l.MaxListEntries}
		}
		if lo.IsDir || strings.HasSuffix(lo.Key, "/") || !strings.HasPrefix(lo.Key, l.Prefix) {
			continue
		}
		rel := lo.Key[len(l.Prefix):]
		if l.skip(rel) {
			continue
		}
		if ok, _ := MatchKey(include, rel); !ok {
			continue
		}
		out = append(out, Object{
			Key:     rel,
			Size:    lo.Size,
			ETag:    listETag(lo),
			MD5:     hex.EncodeToString(lo.MD5),
			ModTime: lo.ModTime,
		})
	}
	// Stores list in key order, but fileblob walks directories, which puts
	// "a/x" before "a-b"; callers rely on byte order.
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (l *Location) skip(rel string) bool {
	for _, el := range strings.Split(rel, "/") {
		if strings.HasPrefix(el, ".") {
			return true
		}
	}
	if l.kind == kindFile {
		base := path.Base(rel)
		return strings.HasSuffix(base, ".attrs") || fileblobTemp.MatchString(base)
	}
	return false
}

// listETag digs the ETag out of the driver's listing type; gocloud's
// ListObject has no portable field for it.
func listETag(lo *blob.ListObject) string {
	var s3o s3types.Object
	if lo.As(&s3o) && s3o.ETag != nil {
		return quoteETag(*s3o.ETag)
	}
	var gcso storage.ObjectAttrs
	if lo.As(&gcso) {
		return quoteETag(gcso.Etag)
	}
	var azo container.BlobItem
	if lo.As(&azo) && azo.Properties != nil && azo.Properties.ETag != nil {
		return quoteETag(string(*azo.Properties.ETag))
	}
	return ""
}

// Attributes returns the metadata of key (relative to the prefix) in the
// same form as List.
func (l *Location) Attributes(ctx context.Context, key string) (Object, error) {
	a, err := l.Bucket.Attributes(ctx, l.Prefix+key)
	if err != nil {
		return Object{}, l.redact(fmt.Errorf("%s: attributes of %q: %w", l, key, err))
	}
	o := Object{Key: key, Size: a.Size, MD5: hex.EncodeToString(a.MD5), ModTime: a.ModTime}
	if l.kind == kindRemote {
		o.ETag = quoteETag(a.ETag)
	}
	return o, nil
}

// MaxPatternBytes is the longest include pattern accepted, the same bound
// the Kubernetes API puts on include items. With it a pattern has at most
// 129 path elements, and MatchKey's work per key is bounded by
// elements × key levels.
const MaxPatternBytes = 256

// ValidatePatterns reports the first include pattern that is not valid
// path.Match syntax or is longer than MaxPatternBytes, so that specs can be
// rejected before anything is read.
func ValidatePatterns(patterns []string) error {
	for _, p := range patterns {
		if p == "" {
			return errors.New("include pattern is empty")
		}
		if len(p) > MaxPatternBytes {
			return fmt.Errorf("include pattern %.40q... is %d bytes long; patterns are limited to %d bytes: use a shorter pattern or several patterns", p, len(p), MaxPatternBytes)
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == "**" {
				continue
			}
			if _, err := path.Match(seg, ""); err != nil {
				return fmt.Errorf("include pattern %q: %w", p, err)
			}
		}
	}
	return nil
}

// MatchKey reports whether key (relative, "/"-separated) matches any of
// patterns; no patterns match everything. A pattern matches when path.Match
// accepts it against the whole key or against the key's base name, so
// "*.csv" finds CSV files at any depth and "2024/*.csv" only in "2024/". A
// "**" path element matches any number of directories, including none:
// "**/x.csv", "raw/**/*.csv".
//
// Matching takes time proportional to the number of pattern elements times
// the number of key elements, whatever the pattern: "**" is matched by
// tracking every pattern position a key prefix can reach, never by trying
// one split after another.
func MatchKey(patterns []string, key string) (bool, error) {
	if len(patterns) == 0 {
		return true, nil
	}
	base := path.Base(key)
	var keySegs []string
	for _, p := range patterns {
		if len(p) > MaxPatternBytes {
			return false, fmt.Errorf("include pattern %.40q... is longer than %d bytes", p, MaxPatternBytes)
		}
		var ok bool
		var err error
		if hasDoubleStar(p) {
			if keySegs == nil {
				keySegs = strings.Split(key, "/")
			}
			ok, err = matchSegments(strings.Split(p, "/"), keySegs)
		} else {
			ok, err = path.Match(p, key)
			if err == nil && !ok {
				ok, err = path.Match(p, base)
			}
		}
		if err != nil {
			return false, fmt.Errorf("include pattern %q: %w", p, err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

func hasDoubleStar(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if seg == "**" {
			return true
		}
	}
	return false
}

// matchSegments matches pattern elements against key elements, "**"
// standing for zero or more elements. It runs the pattern as a
// nondeterministic automaton: live[i] says that the key elements read so far
// can bring the pattern to position i. Each key element advances every live
// position at once, so the work is O(len(pat) × len(key)) path.Match calls
// at most, with no backtracking.
func matchSegments(pat, key []string) (bool, error) {
	m := len(pat)
	live := make([]bool, m+1)
	next := make([]bool, m+1)
	// closure marks the positions after a run of "**" as live: "**" may
	// match no element.
	closure := func(s []bool) {
		for i := 0; i < m; i++ {
			if s[i] && pat[i] == "**" {
				s[i+1] = true
			}
		}
	}
	live[0] = true
	closure(live)
	for _, k := range key {
		clear(next)
		alive := false
		for i := 0; i < m; i++ {
			if !live[i] {
				continue
			}
			if pat[i] == "**" {
				next[i], alive = true, true // "**" takes this element and may take more
				continue
			}
			ok, err := path.Match(pat[i], k)
			if err != nil {
				return false, err
			}
			if ok {
				next[i+1], alive = true, true
			}
		}
		if !alive {
			return false, nil
		}
		closure(next)
		live, next = next, live
	}
	return live[m], nil
}
