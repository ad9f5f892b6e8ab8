package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/mldata-io/mldata/internal/testservers"
)

// Behaviour that only a real object store can show: what listings report,
// whether conditional writes hold under concurrency, what multipart uploads
// do to ETags, and what errors look like. Each test runs against every
// server of internal/testservers (see testStores).

// forEachServer runs f in a subtest per server, with a fresh prefix URI.
func forEachServer(t *testing.T, f func(t *testing.T, k testservers.Kind, root string)) {
	t.Helper()
	for _, k := range testservers.Kinds {
		t.Run(string(k), func(t *testing.T) { f(t, k, serverRoot(t, k)) })
	}
}

const md5abc = "900150983cd24fb0d6963f7d28e17f72" // printf abc | md5sum

// etagForm is the ETag each server gives a small object written in one
// request: S3 the content MD5 in hex, Azure a "0x…" timestamp, and
// fake-gcs-server the base64 content MD5 (real GCS gives an opaque
// generation-based tag; only its being quoted and non-empty is relied on).
var etagForm = map[testservers.Kind]*regexp.Regexp{
	testservers.KindS3:      regexp.MustCompile(`^"` + md5abc + `"$`),
	testservers.KindAzurite: regexp.MustCompile(`^"0x[0-9A-F]+"$`),
	testservers.KindGCS:     regexp.MustCompile(`^"kAFQmDzST7DWlj99KOF/cg=="$`), // base64 of the MD5 of "abc"
}

func TestServerListingMetadata(t *testing.T) {
	forEachServer(t, func(t *testing.T, k testservers.Kind, root string) {
		ctx := context.Background()
		seed(t, root, map[string]string{"d/abc.csv": "abc"})
		l := mustOpen(t, root)
		objs, err := l.List(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != 1 || objs[0].Key != "d/abc.csv" || objs[0].Size != 3 {
			t.Fatalf("List = %+v, want d/abc.csv of 3 bytes", objs)
		}
		o := objs[0]
		// Every server reports the content MD5 of a one-request upload.
		if o.MD5 != md5abc {
			t.Errorf("MD5 = %q, want %s", o.MD5, md5abc)
		}
		if !etagForm[k].MatchString(o.ETag) {
			t.Errorf("ETag = %s, want the form %s", o.ETag, etagForm[k])
		}
		if o.ModTime.IsZero() {
			t.Error("no modification time")
		}
		a, err := l.Attributes(ctx, "d/abc.csv")
		if err != nil {
			t.Fatal(err)
		}
		// Change detection compares a listing's version with the one
		// recorded from an earlier listing or from Attributes: the two
		// must agree for an unchanged object.
		if a.Version() != o.Version() || a.MD5 != o.MD5 || a.Size != o.Size {
			t.Errorf("Attributes %+v disagrees with List %+v", a, o)
		}

		// Same size, new content: the version must change.
		seed(t, root, map[string]string{"d/abc.csv": "abd"})
		again, err := l.List(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if again[0].Size != 3 || again[0].Version() == o.Version() {
			t.Errorf("after a same-size overwrite: %+v, version still %s", again[0], o.Version())
		}

		// A single-object URI lists that object with the same metadata.
		single := mustOpen(t, joinURI(root, "d/abc.csv"))
		one, err := single.List(ctx, []string{"*.json"})
		if err != nil || len(one) != 1 || one[0].Version() != again[0].Version() {
			t.Errorf("single-object List = %+v, %v; want version %s", one, err, again[0].Version())
		}
	})
}

// multipartSize is above gocloud's S3 part size (5 MiB), so the S3 driver
// uploads in parts; 17 MiB gives four parts.
const multipartSize = 17 << 20

// filler returns size bytes that differ with seed at every position, so
// that two fills of the same size have different content.
func filler(size int, seed byte) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i*31) ^ seed
	}
	return b
}

func TestServerLargeObjects(t *testing.T) {
	forEachServer(t, func(t *testing.T, k testservers.Kind, root string) {
		ctx := context.Background()
		out, err := OpenOutput(ctx, root)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		v1 := filler(multipartSize, 1)
		if err := out.WriteFile(ctx, "big.bin", v1); err != nil {
			t.Fatal(err)
		}
		l := mustOpen(t, root)
		objs, err := l.List(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		first := objs[0]
		if first.Size != multipartSize {
			t.Fatalf("size %d, want %d", first.Size, multipartSize)
		}
		if k == testservers.KindS3 {
			// A multipart ETag is the MD5 of the parts' MD5s with the part
			// count: no content MD5 to be had.
			if !regexp.MustCompile(`^"[0-9a-f]{32}-[0-9]+"$`).MatchString(first.ETag) || first.MD5 != "" {
				t.Errorf("multipart object: ETag %s MD5 %q; want a -N ETag and no MD5", first.ETag, first.MD5)
			}
		}
		a, err := l.Attributes(ctx, "big.bin")
		if err != nil || a.Version() != first.Version() {
			t.Errorf("Attributes version %s (%v), List version %s", a.Version(), err, first.Version())
		}

		// Reading hashes what was written.
		hr, err := l.NewHashingReader(ctx, "big.bin")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(hr)
		hr.Close()
		if err != nil || !bytes.Equal(got, v1) || hr.Sum() != sha256Hex(v1) {
			t.Fatalf("read back %d bytes (%v), equal %v, hash %s", len(got), err, bytes.Equal(got, v1), hr.Sum())
		}

		// An overwrite that is cancelled before Close publishes nothing:
		// readers still see the first content.
		cctx, cancel := context.WithCancel(ctx)
		w, err := out.NewWriter(cctx, "big.bin", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(filler(multipartSize, 2)); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := w.Close(); err == nil {
			t.Error("Close after cancel succeeded")
		}
		if got, err := l.ReadFile(ctx, "big.bin"); err != nil || !bytes.Equal(got, v1) {
			t.Errorf("after a cancelled overwrite: %d bytes, %v; want the first content", len(got), err)
		}

		// The same size with other content is a new version.
		if err := out.WriteFile(ctx, "big.bin", filler(multipartSize, 3)); err != nil {
			t.Fatal(err)
		}
		objs, err = l.List(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if objs[0].Size != multipartSize || objs[0].Version() == first.Version() {
			t.Errorf("same-size overwrite not detected: %+v, first %+v", objs[0], first)
		}
	})
}

// Conditional writes are what makes a build's claim on an output exclusive.
// Every server must let exactly one of many concurrent writers create a
// key, round after round; one that let two win would break the guarantee
// WriteFileIfAbsent documents.
func TestServerConditionalWrites(t *testing.T) {
	const rounds, writers = 10, 12
	forEachServer(t, func(t *testing.T, k testservers.Kind, root string) {
		ctx := context.Background()
		out, err := OpenOutput(ctx, root)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		for r := range rounds {
			key := fmt.Sprintf("claims/%02d.json", r)
			start := make(chan struct{})
			errs := make([]error, writers)
			var wg sync.WaitGroup
			for i := range writers {
				wg.Go(func() {
					<-start
					errs[i] = out.WriteFileIfAbsent(ctx, key, []byte(fmt.Sprintf(`{"writer":%d}`, i)))
				})
			}
			close(start)
			wg.Wait()
			var winners []int
			for i, err := range errs {
				switch {
				case err == nil:
					winners = append(winners, i)
				case !errors.Is(err, ErrExists):
					t.Errorf("round %d writer %d: %v, want ErrExists", r, i, err)
				}
			}
			if len(winners) != 1 {
				t.Fatalf("round %d: winners %v, want exactly one", r, winners)
			}
			got, err := out.ReadFile(ctx, key)
			if want := fmt.Sprintf(`{"writer":%d}`, winners[0]); err != nil || string(got) != want {
				t.Errorf("round %d: content %q (%v), want the winner's %q", r, got, err, want)
			}
		}
		// An object written without the condition blocks it too.
		if err := out.WriteFile(ctx, "plain.json", []byte("{}")); err != nil {
			t.Fatal(err)
		}
		if err := out.WriteFileIfAbsent(ctx, "plain.json", []byte("[]")); !errors.Is(err, ErrExists) {
			t.Errorf("conditional write over an existing object: %v, want ErrExists", err)
		}
	})
}

func TestServerMissingBucket(t *testing.T) {
	// What each server says, in the error the user sees.
	phrase := map[testservers.Kind]string{
		testservers.KindS3:      "NoSuchBucket: The specified bucket does not exist",
		testservers.KindAzurite: "The specified container does not exist",
		testservers.KindGCS:     "bucket doesn't exist",
	}
	forEachServer(t, func(t *testing.T, k testservers.Kind, _ string) {
		ctx := context.Background()
		srv := testservers.Shared(t, k)
		for _, uri := range []string{srv.URI("no-such-bucket", "raw/"), srv.URI("no-such-bucket", "raw/a.csv")} {
			_, err := Open(ctx, uri)
			if err == nil {
				t.Fatalf("Open(%s) succeeded", uri)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "source "+uri+": ") || !strings.Contains(msg, phrase[k]) ||
				!strings.HasSuffix(msg, "check the URI and credentials") || !IsNotExist(err) {
				t.Errorf("Open(%s): %q\nwant it to name the URI, say %q, end with the hint, and be a not-exist error", uri, msg, phrase[k])
			}
		}
		out, err := OpenOutput(ctx, srv.URI("no-such-bucket", "out"))
		if err != nil {
			t.Fatal(err) // outputs are not checked at open
		}
		defer out.Close()
		for name, write := range map[string]func() error{
			"WriteFile":         func() error { return out.WriteFile(ctx, "x.json", []byte("{}")) },
			"WriteFileIfAbsent": func() error { return out.WriteFileIfAbsent(ctx, "x.json", []byte("{}")) },
		} {
			err := write()
			if err == nil || !IsNotExist(err) || errors.Is(err, ErrExists) || !strings.Contains(err.Error(), `write "x.json"`) {
				t.Errorf("%s into a missing bucket: %v; want a not-exist error naming the key", name, err)
			}
		}
	})
}

// A password in a URI never reaches the store (credentials come from the
// environment) and never appears in what Open reports about the store's
// answer.
func TestServerErrorsRedact(t *testing.T) {
	forEachServer(t, func(t *testing.T, k testservers.Kind, root string) {
		ctx := context.Background()
		seed(t, root, map[string]string{"a.csv": "x\n"})
		withPassword := strings.Replace(joinURI(root, "missing/"), "://", "://someone:hunter2-pw@", 1)
		_, err := Open(ctx, withPassword)
		if err == nil || !IsNotExist(err) {
			t.Fatalf("Open(missing prefix) = %v, want a not-exist error", err)
		}
		if strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "someone:REDACTED@") {
			t.Errorf("error shows the password or hides where: %v", err)
		}
		l, err := Open(ctx, strings.Replace(root, "://", "://someone:hunter2-pw@", 1))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if _, err := l.ReadFile(ctx, "nope.csv"); err == nil || strings.Contains(err.Error(), "hunter2") || !IsNotExist(err) {
			t.Errorf("ReadFile(missing) = %v", err)
		}
		if s := l.String(); strings.Contains(s, "hunter2") {
			t.Errorf("String() = %s", s)
		}
	})
}

// A wrong S3 secret is an access error (HEAD answers a bare 403), not a
// missing source, and its message does not contain the secret. (Azure's
// driver reads its shared key once per process, so a wrong key cannot be
// tried after a right one.)
func TestServerWrongS3Secret(t *testing.T) {
	root := serverRoot(t, testservers.KindS3)
	seed(t, root, map[string]string{"a.csv": "x\n"})
	const wrong = "wrong-secret-0123456789"
	t.Setenv("AWS_SECRET_ACCESS_KEY", wrong)
	for _, uri := range []string{root, joinURI(root, "a.csv")} {
		_, err := Open(context.Background(), uri)
		if err == nil {
			t.Fatalf("Open(%s) with a wrong secret succeeded", uri)
		}
		msg := err.Error()
		if IsNotExist(err) || strings.Contains(msg, wrong) || !strings.Contains(msg, "check the URI and credentials") ||
			!strings.Contains(msg, "StatusCode: 403") {
			t.Errorf("Open(%s) with a wrong secret: %v", uri, err)
		}
	}
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
