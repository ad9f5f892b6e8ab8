// Package storage opens object storage locations named by URIs and gives the
// rest of mldata one small, store-independent way to list, hash, read and
// atomically write objects there. It sits on gocloud.dev/blob, so the same
// code runs against local directories, s3://, gs://, azblob:// and mem://.
//
// # URIs
//
//   - A plain path ("data", "./in/x.csv", "/srv/data") or file:///abs/path
//     (file://./rel for a relative one) is a local directory or file, served
//     by fileblob. No ".attrs" metadata sidecars are written, and temporary
//     files are created next to their final name, so that the rename that
//     publishes a write never crosses a filesystem (os.TempDir is often a
//     tmpfs, and in a pod an emptyDir on another mount).
//   - mem://name/prefix is an in-memory bucket for tests and local runs. The
//     same name returns the same bucket for the life of the process (memblob
//     buckets are otherwise private to each open), so a test and the pipeline
//     it drives see one store. Closing a Location never discards the bucket.
//   - s3://bucket/prefix?endpoint=…&use_path_style=true&region=…,
//     gs://bucket/prefix and azblob://container/prefix: the URL's path is the
//     key prefix; scheme, host and the whole query go to blob.OpenBucket.
//     Credentials come from the environment (never from the URI), but query
//     values whose names look secret are still redacted from String and from
//     every error this package returns.
//
// # Objects and prefixes
//
// A URI names either one object or a prefix. Local paths are decided by
// stat: a file opens its parent directory with Object set to the base name.
// For object stores, a path that does not end in "/" and names an existing
// object is that object; anything else is a prefix. Open insists that the
// source exists (an object, or at least one object below the prefix);
// OpenOutput does not, and creates local directories.
//
// Keys passed to Location methods are relative to Prefix and "/"-separated.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // registers azblob://
	"gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/gcsblob" // registers gs://
	"gocloud.dev/blob/memblob"
	_ "gocloud.dev/blob/s3blob" // registers s3://
)

// Location is an opened bucket plus a key prefix (or one object).
//
// Bucket is the whole, unprefixed bucket: callers that use it directly must
// put Prefix in front of their keys. The Location's own methods do that.
// A Location is safe for concurrent use.
type Location struct {
	// URI is the location as the user gave it. Store credentials never appear
	// in it (they come from the environment); use String to print it.
	URI    string
	Bucket *blob.Bucket
	// Prefix is "" or ends in "/"; all keys are relative to it.
	Prefix string
	// Object is set when the URI names one existing object; it is a key
	// relative to Prefix, e.g. "data.csv".
	Object string
	// MaxListEntries, when positive, makes List fail with a
	// *ListLimitError once the store has returned more entries than this
	// (matching or not): a bound on the time and memory a listing takes.
	MaxListEntries int

	kind    kind
	dir     string   // local directory behind Bucket, for kindFile
	base    *url.URL // URI of the bucket root with the query as given; nil for plain paths
	secrets []string // query values to hide from messages
	shared  bool     // Bucket belongs to the mem:// registry: Close leaves it open
}

type kind int

const (
	kindFile kind = iota
	kindMem
	kindRemote
)

// notExistError is the error for a source that does not exist: its message
// is written for the user, and it unwraps to fs.ErrNotExist so that
// IsNotExist recognises it.
type notExistError struct{ msg string }

func (e *notExistError) Error() string { return e.msg }
func (e *notExistError) Unwrap() error { return fs.ErrNotExist }

// Open opens uri as a source: a local file or directory, one object, or a
// non-empty prefix. A source that does not exist is an error that says so
// (IsNotExist reports true for it).
func Open(ctx context.Context, uri string) (*Location, error) {
	return open(ctx, uri, false)
}

// OpenOutput opens uri as an output prefix that may not exist yet. Local
// directories are created (with parents). A URI never resolves to a single
// object here: "s3://b/out" and "s3://b/out/" are the same prefix "out/".
func OpenOutput(ctx context.Context, uri string) (*Location, error) {
	return open(ctx, uri, true)
}

func open(ctx context.Context, uri string, output bool) (*Location, error) {
	return openWith(ctx, uri, output, nil)
}

// openWith opens uri; creds, when not nil, authenticate to remote stores
// instead of the environment (see OpenWithCredentials).
func openWith(ctx context.Context, uri string, output bool, creds map[string]string) (*Location, error) {
	role := "source"
	if output {
		role = "output"
	}
	if strings.TrimSpace(uri) == "" {
		return nil, fmt.Errorf("%s: empty URI; give a local path or a file://, mem://, s3://, gs:// or azblob:// URI", role)
	}
	if !strings.Contains(uri, "://") {
		return openLocal(uri, filepath.FromSlash(uri), nil, output)
	}
	u, err := url.Parse(uri)
	if err != nil {
		// url.Error quotes the whole URI, query included: print a redacted form.
		return nil, fmt.Errorf("%s %s: not a valid URI", role, redactRaw(uri))
	}
	switch u.Scheme {
	case fileblob.Scheme:
		return openFileURL(u, uri, output)
	case memblob.Scheme:
		return openMem(ctx, u, uri, output)
	case "s3", "gs", "azblob":
		return openRemote(ctx, u, uri, output, creds)
	default:
		return nil, fmt.Errorf("%s %s: unsupported scheme %q; use a local path or a file://, mem://, s3://, gs:// or azblob:// URI",
			role, redactURL(u), u.Scheme)
	}
}

// openFileURL maps file:// URLs the way fileblob's URL opener does: host "."
// marks a relative path, "" and "localhost" an absolute one.
func openFileURL(u *url.URL, uri string, output bool) (*Location, error) {
	if u.Host != "" && u.Host != "." && u.Host != "localhost" {
		return nil, fmt.Errorf("%s: file URIs cannot name a remote host %q; use file:///abs/path or file://./rel/path", redactURL(u), u.Host)
	}
	p := u.Path
	if u.Host == "." {
		p = strings.TrimPrefix(p, "/")
		if p == "" {
			p = "."
		}
	}
	if p == "" {
		return nil, fmt.Errorf("%s: file URI without a path; use file:///abs/path or file://./rel/path", redactURL(u))
	}
	// The query is ours to decide (no sidecars, temp files beside their
	// target), but accept the parameters fileblob documents so URIs copied
	// from gocloud examples keep working.
	for k := range u.Query() {
		switch k {
		case "metadata", "no_tmp_dir", "create_dir", "dir_file_mode":
		default:
			return nil, fmt.Errorf("%s: unsupported query parameter %q for a file URI", redactURL(u), k)
		}
	}
	return openLocal(uri, filepath.FromSlash(p), u, output)
}

func openLocal(uri, p string, u *url.URL, output bool) (*Location, error) {
	role := "source"
	if output {
		role = "output"
	}
	shown := uri
	if u != nil {
		shown = redactURL(u)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", role, shown, err)
	}
	dir, object := abs, ""
	st, err := os.Stat(abs)
	switch {
	case err == nil && !st.IsDir():
		if output {
			return nil, fmt.Errorf("output %s: %s is a file, not a directory", shown, abs)
		}
		dir, object = filepath.Dir(abs), filepath.Base(abs)
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) && output:
		if err := os.MkdirAll(abs, 0o777); err != nil {
			return nil, fmt.Errorf("output %s: create directory: %w", shown, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		return nil, &notExistError{fmt.Sprintf("source %s: no such file or directory (%s)", shown, abs)}
	default:
		return nil, fmt.Errorf("%s %s: %w", role, shown, err)
	}
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{
		Metadata:  fileblob.MetadataDontWrite,
		NoTempDir: true,
	})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", role, shown, err)
	}
	l := &Location{URI: uri, Bucket: b, Object: object, kind: kindFile, dir: dir}
	if u != nil {
		base := *u
		base.Host, base.Path, base.RawPath = "", filepath.ToSlash(dir)+"/", ""
		if !strings.HasPrefix(base.Path, "/") {
			base.Path = "/" + base.Path
		}
		l.base = &base
		l.secrets = secretValues(u.RawQuery)
	}
	return l, nil
}

var mem = struct {
	sync.Mutex
	buckets map[string]*blob.Bucket
}{buckets: map[string]*blob.Bucket{}}

func openMem(ctx context.Context, u *url.URL, uri string, output bool) (*Location, error) {
	q := u.Query()
	for k := range q {
		if k != "nomd5" {
			return nil, fmt.Errorf("%s: unsupported query parameter %q for a mem URI", redactURL(u), k)
		}
	}
	mem.Lock()
	b, ok := mem.buckets[u.Host]
	if !ok {
		// Only the first open of a name decides its options.
		_, nomd5 := q["nomd5"]
		b = memblob.OpenBucket(&memblob.Options{NoMD5: nomd5})
		mem.buckets[u.Host] = b
	}
	mem.Unlock()
	l := &Location{URI: uri, Bucket: b, kind: kindMem, shared: true}
	return resolvePrefix(ctx, l, u, output)
}

func openRemote(ctx context.Context, u *url.URL, uri string, output bool, creds map[string]string) (*Location, error) {
	role := "source"
	if output {
		role = "output"
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%s %s: no bucket name; use %s://bucket/prefix", role, redactURL(u), u.Scheme)
	}
	bucketURL := url.URL{Scheme: u.Scheme, Host: u.Host, RawQuery: s3ChecksumDefault(u)}
	secrets := secretValues(u.RawQuery)
	var b *blob.Bucket
	var err error
	if creds == nil && u.Scheme == "gs" && os.Getenv(GoogleCredentialsJSON) != "" {
		// A worker gets a Secret's keys as environment variables (envFrom);
		// Google's default credential lookup reads a key file only, so the
		// key a Secret holds inline is used as the controller uses it.
		creds = map[string]string{GoogleCredentialsJSON: os.Getenv(GoogleCredentialsJSON)}
	}
	if creds != nil {
		secrets = append(secrets, credentialSecrets(creds)...)
		b, err = openBucketWithCredentials(ctx, &bucketURL, creds)
	} else {
		b, err = blob.OpenBucket(ctx, bucketURL.String())
	}
	if err != nil {
		return nil, redactErr(fmt.Errorf("%s %s: open bucket: %w", role, redactURL(u), err), secrets)
	}
	l := &Location{URI: uri, Bucket: b, kind: kindRemote, secrets: secrets}
	loc, err := resolvePrefix(ctx, l, u, output)
	if err != nil {
		_ = b.Close()
	}
	return loc, err
}

// s3ChecksumDefault is the bucket query of u, with response checksums
// validated only when a request asks for them unless the URI says
// otherwise: objects uploaded in parts carry composite checksums that the
// AWS SDK cannot validate and warns about on every read, while mldata
// hashes what it reads itself (SHA-256 of sources) and publishes nothing
// without it.
func s3ChecksumDefault(u *url.URL) string {
	if u.Scheme != "s3" {
		return u.RawQuery
	}
	q := u.Query()
	if q.Has("response_checksum_validation") {
		return u.RawQuery
	}
	q.Set("response_checksum_validation", "when_required")
	return q.Encode()
}

// resolvePrefix decides between one object and a prefix for bucket stores,
// and checks that a source exists.
func resolvePrefix(ctx context.Context, l *Location, u *url.URL, output bool) (*Location, error) {
	base := *u
	base.Path, base.RawPath = "/", ""
	l.base = &base
	key := strings.TrimPrefix(u.Path, "/")
	if output {
		l.Prefix = dirPrefix(key)
		return l, nil
	}
	if key != "" && !strings.HasSuffix(key, "/") {
		_, err := l.Bucket.Attributes(ctx, key)
		switch {
		case err == nil:
			dir, file := path.Split(key)
			l.Prefix, l.Object = dir, file
			return l, nil
		case !IsNotExist(err):
			return nil, l.redact(fmt.Errorf("source %s: %w; check the URI and credentials", l, err))
		}
	}
	l.Prefix = dirPrefix(key)
	it := l.Bucket.List(&blob.ListOptions{Prefix: l.Prefix})
	for {
		obj, err := it.Next(ctx)
		if err != nil {
			// io.EOF: nothing below the prefix. Anything else (credentials,
			// network) is reported with the same hint, keeping its cause.
			if errors.Is(err, io.EOF) {
				return nil, &notExistError{fmt.Sprintf("source %s: no such object or prefix; check the URI and credentials", l)}
			}
			return nil, l.redact(fmt.Errorf("source %s: list: %w; check the URI and credentials", l, err))
		}
		if !obj.IsDir && !strings.HasSuffix(obj.Key, "/") {
			return l, nil
		}
	}
}

func dirPrefix(key string) string {
	if key == "" || strings.HasSuffix(key, "/") {
		return key
	}
	return key + "/"
}

// Close releases the bucket. mem:// buckets stay in the process registry.
func (l *Location) Close() error {
	if l == nil || l.Bucket == nil || l.shared {
		return nil
	}
	if err := l.Bucket.Close(); err != nil {
		return l.redact(fmt.Errorf("%s: close: %w", l, err))
	}
	return nil
}

// String returns the URI with secret-looking query values and any URL
// password replaced by "REDACTED".
func (l *Location) String() string {
	if l == nil {
		return "<nil>"
	}
	return redactRaw(l.URI)
}

// URIOf returns a URI that Open accepts for key (relative to Prefix), for
// manifests, status and logs. Query parameters are kept, so an S3 endpoint
// survives, except secret-looking ones, which are dropped.
func (l *Location) URIOf(key string) string {
	full := l.Prefix + key
	if l.base == nil {
		return filepath.Join(l.dir, filepath.FromSlash(full))
	}
	u := *l.base
	u.User = nil
	u.Path += full
	// The query stays as the user wrote it (endpoint=http://… reads better
	// in status than its escaped form) unless a secret must be cut out.
	q := u.Query()
	secret := false
	for k := range q {
		if isSecretParam(k) {
			q.Del(k)
			secret = true
		}
	}
	if secret {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// secretWords mark query parameters whose values must never be printed.
var secretWords = []string{"secret", "key", "token", "password", "passwd", "signature", "credential"}

func isSecretParam(name string) bool {
	n := strings.ToLower(name)
	if n == "sig" { // Azure SAS signature
		return true
	}
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// secretValues returns the values of secret-looking parameters in a raw
// query, both as written and decoded, for scrubbing error messages.
func secretValues(rawQuery string) []string {
	var out []string
	for _, p := range strings.Split(rawQuery, "&") {
		name, value, _ := strings.Cut(p, "=")
		if value == "" || !isSecretParam(unescape(name)) {
			continue
		}
		out = append(out, value)
		if v := unescape(value); v != value {
			out = append(out, v)
		}
	}
	return out
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// redactRaw redacts a URI string; strings that do not parse as URLs (plain
// paths) are returned as they are.
func redactRaw(uri string) string {
	if !strings.Contains(uri, "://") {
		return uri
	}
	u, err := url.Parse(uri)
	if err != nil {
		// Cannot tell the parts apart reliably: hide the query and userinfo.
		if i := strings.IndexByte(uri, '?'); i >= 0 {
			uri = uri[:i] + "?REDACTED"
		}
		if i := strings.LastIndex(uri, "@"); i >= 0 {
			uri = "REDACTED" + uri[i:]
		}
		return uri
	}
	return redactURL(u)
}

// redactURL works on the raw query, pair by pair, so that the URI keeps the
// user's spelling and a malformed pair cannot hide a secret from the parser.
func redactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		if _, ok := c.User.Password(); ok {
			c.User = url.UserPassword(c.User.Username(), "REDACTED")
		}
	}
	if c.RawQuery != "" {
		pairs := strings.Split(c.RawQuery, "&")
		for i, p := range pairs {
			name, _, hasValue := strings.Cut(p, "=")
			if hasValue && isSecretParam(unescape(name)) {
				pairs[i] = name + "=REDACTED"
			}
		}
		c.RawQuery = strings.Join(pairs, "&")
	}
	if c.Fragment != "" {
		c.Fragment, c.RawFragment = "REDACTED", ""
	}
	return c.String()
}

// redactingError hides secret values in the message of an error it wraps,
// while errors.Is/As still see the original.
type redactingError struct {
	msg string
	err error
}

func (e *redactingError) Error() string { return e.msg }
func (e *redactingError) Unwrap() error { return e.err }

func redactErr(err error, secrets []string) error {
	if err == nil || len(secrets) == 0 {
		return err
	}
	msg := err.Error()
	red := msg
	for _, s := range secrets {
		red = strings.ReplaceAll(red, s, "REDACTED")
		// Drivers may print the value URL-encoded.
		if e := url.QueryEscape(s); e != s {
			red = strings.ReplaceAll(red, e, "REDACTED")
		}
	}
	if red == msg {
		return err
	}
	return &redactingError{msg: red, err: err}
}

func (l *Location) redact(err error) error { return redactErr(err, l.secrets) }

// quoteETag gives every driver's ETag the quoted HTTP form, so that the value
// from a listing equals the one from Attributes (GCS and Azure list them bare).
func quoteETag(s string) string {
	if s == "" || strings.HasPrefix(s, `"`) || strings.HasPrefix(s, `W/"`) {
		return s
	}
	return strconv.Quote(s)
}
