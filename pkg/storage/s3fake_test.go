package storage

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeS3 answers the three S3 calls that opening and listing make (HEAD
// object, GET object, ListObjectsV2) for one path-style bucket "bkt". It
// checks how ETags travel from S3 responses into Objects; the full S3
// behaviour is covered by running the store table against a real server
// (versitygw, see testStores).
type fakeS3 struct {
	objects map[string]fakeObject
}

type fakeObject struct {
	body string
	etag string // as S3 sends it, quoted
}

var fakeTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key, ok := strings.CutPrefix(r.URL.Path, "/bkt")
	if !ok {
		http.Error(w, "no such bucket", http.StatusNotFound)
		return
	}
	key = strings.TrimPrefix(key, "/")
	if key == "" && r.URL.Query().Get("list-type") == "2" {
		f.list(w, r.URL.Query().Get("prefix"))
		return
	}
	obj, ok := f.objects[key]
	if !ok {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusNotFound)
		if r.Method != http.MethodHead {
			fmt.Fprint(w, `<Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>`)
		}
		return
	}
	w.Header().Set("ETag", obj.etag)
	w.Header().Set("Last-Modified", fakeTime.Format(http.TimeFormat))
	w.Header().Set("Content-Length", strconv.Itoa(len(obj.body)))
	w.Header().Set("Content-Type", "text/csv")
	if r.Method != http.MethodHead {
		fmt.Fprint(w, obj.body)
	}
}

func (f *fakeS3) list(w http.ResponseWriter, prefix string) {
	if strings.HasPrefix(prefix, "forbidden") {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
		return
	}
	type content struct {
		Key          string
		LastModified string
		ETag         string
		Size         int
		StorageClass string
	}
	type result struct {
		XMLName     xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
		Name        string
		Prefix      string
		KeyCount    int
		MaxKeys     int
		IsTruncated bool
		Contents    []content
	}
	res := result{Name: "bkt", Prefix: prefix, MaxKeys: 1000}
	var names []string
	for k := range f.objects {
		if strings.HasPrefix(k, prefix) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		o := f.objects[k]
		res.Contents = append(res.Contents, content{
			Key: k, LastModified: fakeTime.Format("2006-01-02T15:04:05.000Z"), ETag: o.etag,
			Size: len(o.body), StorageClass: "STANDARD",
		})
	}
	res.KeyCount = len(res.Contents)
	w.Header().Set("Content-Type", "application/xml")
	_ = xml.NewEncoder(w).Encode(res)
}

func TestS3ListingMetadata(t *testing.T) {
	srv := httptest.NewServer(&fakeS3{objects: map[string]fakeObject{
		"data/a.csv":   {body: "abc", etag: `"900150983cd24fb0d6963f7d28e17f72"`},   // single part: MD5 of "abc"
		"data/big.csv": {body: "xyz", etag: `"0123456789abcdef0123456789abcdef-2"`}, // multipart: not an MD5
		"data/.hidden": {body: "h", etag: `"h"`},
		"forbidden/x":  {body: "x", etag: `"x"`},
		"other/c.csv":  {body: "c", etag: `"c"`},
	}})
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	q := "?endpoint=" + srv.URL + "&use_path_style=true&region=us-east-1"
	ctx := context.Background()

	l := mustOpen(t, "s3://bkt/data"+q)
	if l.Prefix != "data/" || l.Object != "" {
		t.Fatalf("prefix %q object %q", l.Prefix, l.Object)
	}
	objs, err := l.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Object{
		{Key: "a.csv", Size: 3, ETag: `"900150983cd24fb0d6963f7d28e17f72"`, MD5: "900150983cd24fb0d6963f7d28e17f72", ModTime: fakeTime},
		{Key: "big.csv", Size: 3, ETag: `"0123456789abcdef0123456789abcdef-2"`, ModTime: fakeTime},
	}
	if d := cmp.Diff(want, objs); d != "" {
		t.Errorf("List (-want +got):\n%s", d)
	}
	for _, o := range objs {
		a, err := l.Attributes(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		if a.Version() != o.Version() {
			t.Errorf("%s: Attributes version %s != List version %s", o.Key, a.Version(), o.Version())
		}
	}

	single := mustOpen(t, "s3://bkt/data/a.csv"+q)
	if single.Prefix != "data/" || single.Object != "a.csv" {
		t.Errorf("single object: prefix %q object %q", single.Prefix, single.Object)
	}
	got, err := single.ReadFile(ctx, single.Object)
	if err != nil || string(got) != "abc" {
		t.Errorf("ReadFile = %q, %v", got, err)
	}

	_, err = Open(ctx, "s3://bkt/nope"+q)
	wantMsg := "source s3://bkt/nope" + q + ": no such object or prefix; check the URI and credentials"
	if err == nil || err.Error() != wantMsg || !IsNotExist(err) {
		t.Errorf("missing prefix: error %v, want %q", err, wantMsg)
	}
	_, err = Open(ctx, "s3://bkt/forbidden/"+q)
	if err == nil || !strings.Contains(err.Error(), "check the URI and credentials") || IsNotExist(err) {
		t.Errorf("forbidden prefix: error %v", err)
	}
}
