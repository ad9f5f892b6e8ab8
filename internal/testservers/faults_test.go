package testservers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/gcerrors"

	"github.com/mldata-io/mldata/pkg/storage"
)

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		method, target string
		header         map[string]string
		op             Op
		key            string
	}{
		{"GET", "/bkt/a/b.csv", nil, OpGet, "a/b.csv"},
		{"GET", "/bkt?list-type=2&prefix=a%2F", nil, OpList, ""},
		{"GET", "/bkt/?list-type=2", nil, OpList, ""},
		{"HEAD", "/bkt/x", nil, OpHead, "x"},
		{"HEAD", "/bkt", nil, OpOther, ""},
		{"PUT", "/bkt/generations/0000000001.json", map[string]string{"If-None-Match": "*"}, OpPutIfAbsent, "generations/0000000001.json"},
		{"PUT", "/bkt/latest.json", nil, OpPut, "latest.json"},
		{"PUT", "/bkt/big?partNumber=1&uploadId=u", nil, OpOther, "big"},
		{"PUT", "/bkt/copy", map[string]string{"X-Amz-Copy-Source": "bkt/x"}, OpOther, "copy"},
		{"PUT", "/bkt", nil, OpOther, ""},
		{"DELETE", "/bkt/old", nil, OpDelete, "old"},
		{"POST", "/bkt/big?uploads", nil, OpOther, "big"},
	} {
		r := httptest.NewRequest(c.method, c.target, nil)
		for k, v := range c.header {
			r.Header.Set(k, v)
		}
		op, key := Classify(r)
		if op != c.op || key != c.key {
			t.Errorf("%s %s %v: %s %q, want %s %q", c.method, c.target, c.header, op, key, c.op, c.key)
		}
	}
}

// The same seed picks the same requests whatever order they come in; Max
// bounds a rule; Key and Op select; counts are per kind.
func TestInjectorIsDeterministic(t *testing.T) {
	rules := []Rule{
		{Op: OpGet, Fault: FaultError, P: 0.3},
		{Op: OpPutIfAbsent, Key: `^gen/`, Fault: FaultDrop, P: 1, Max: 2},
	}
	decide := func(in *Injector, order []int) map[string]Fault {
		got := map[string]Fault{}
		for _, i := range order {
			key := fmt.Sprintf("k%03d", i)
			f, _ := in.Decide(OpGet, key)
			got[key] = f
		}
		return got
	}
	forward, backward := make([]int, 400), make([]int, 400)
	for i := range forward {
		forward[i], backward[i] = i, 399-i
	}
	a := decide(NewInjector(7, rules...), forward)
	b := decide(NewInjector(7, rules...), backward)
	if d := cmp.Diff(a, b); d != "" {
		t.Errorf("decisions depend on the order (-forward +backward):\n%s", d)
	}
	n := 0
	for _, f := range a {
		if f == FaultError {
			n++
		}
	}
	if n < 80 || n > 160 { // 400 × 0.3 = 120, more than 4 standard deviations away
		t.Errorf("%d of 400 GETs failed, want about 120", n)
	}
	if c := decide(NewInjector(8, rules...), forward); cmp.Equal(a, c) {
		t.Error("another seed made the same decisions")
	}

	in := NewInjector(1, rules...)
	var got []Fault
	for _, k := range []string{"gen/1", "other/1", "gen/2", "gen/3"} {
		f, _ := in.Decide(OpPutIfAbsent, k)
		got = append(got, f)
	}
	if d := cmp.Diff([]Fault{FaultDrop, "", FaultDrop, ""}, got); d != "" {
		t.Errorf("key pattern and Max (-want +got):\n%s", d)
	}
	if f, _ := in.Decide(OpPut, "gen/9"); f != "" {
		t.Errorf("a plain PUT matched a conditional-PUT rule: %s", f)
	}
	if in.Count(OpPutIfAbsent, FaultDrop) != 2 || in.Total() != 2 || in.String() != "PUT-IF-ABSENT drop=2" {
		t.Errorf("counts: %v", in)
	}
}

// The in-process bucket: a dropped conditional write happened, and its
// modelled resend gets "precondition failed" (the trap a publish must not
// fall into); CreateOnce reads the key back and reports success.
func TestFaultBucket(t *testing.T) {
	ctx := context.Background()
	inner := memblob.OpenBucket(nil)
	defer inner.Close()
	// Find a seed whose coin resends the first dropped write.
	var seed uint64
	for seed = 1; NewInjector(seed).Coin("resend", string(OpPutIfAbsent)+" claim") >= 0.5; seed++ {
	}
	in := NewInjector(seed, Rule{Op: OpPutIfAbsent, Fault: FaultDrop, P: 1, Max: 1})
	b := FaultBucket(inner, in)
	err := b.WriteAll(ctx, "claim", []byte("mine"), &blob.WriterOptions{IfNotExist: true})
	if gcerrors.Code(err) != gcerrors.FailedPrecondition {
		t.Fatalf("resent conditional write: %v, want FailedPrecondition", err)
	}
	if got, _ := inner.ReadAll(ctx, "claim"); string(got) != "mine" {
		t.Fatalf("the dropped write did not happen: %q", got)
	}

	storage.RegisterMem("faultbucket-test", b)
	loc, err := storage.OpenOutput(ctx, "mem://faultbucket-test/")
	if err != nil {
		t.Fatal(err)
	}
	in.SetRules(Rule{Op: OpPutIfAbsent, Fault: FaultDrop, P: 1, Max: 1})
	quick := storage.Retry{Attempts: 4, Delay: time.Millisecond}
	if err := loc.CreateOnce(ctx, "claim2", []byte("mine"), quick); err != nil {
		t.Errorf("CreateOnce after a lost response: %v, want success", err)
	}
	if err := loc.CreateOnce(ctx, "claim2", []byte("theirs"), quick); !errors.Is(err, storage.ErrExists) {
		t.Errorf("CreateOnce on another writer's key: %v, want ErrExists", err)
	}
	// Errors and resets change nothing; every GET failing leaves the
	// outcome unknown.
	in.SetRules(Rule{Op: OpPutIfAbsent, Fault: FaultError, P: 1}, Rule{Op: OpGet, Fault: FaultReset, P: 1})
	err = loc.CreateOnce(ctx, "claim3", []byte("mine"), quick)
	if !errors.Is(err, storage.ErrUnknownOutcome) {
		t.Errorf("CreateOnce with every request failing: %v, want ErrUnknownOutcome", err)
	}
	if ok, _ := inner.Exists(ctx, "claim3"); ok {
		t.Error("a write answered 503 happened")
	}
	want := map[string]int{"PUT-IF-ABSENT drop": 2, "PUT-IF-ABSENT 5xx": 4, "GET reset": 4}
	if d := cmp.Diff(want, in.Counts()); d != "" {
		t.Errorf("counts (-want +got):\n%s", d)
	}

	// Without faults the wrapped bucket lists what the inner one holds,
	// page after page; a dropped listing that is resent lists it too.
	for i := 0; i < 5; i++ {
		if err := inner.WriteAll(ctx, fmt.Sprintf("dir/o%d", i), []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
	}
	listed := func() []string {
		t.Helper()
		var keys []string
		it := b.List(&blob.ListOptions{Prefix: "dir/"})
		for {
			o, err := it.Next(ctx)
			if errors.Is(err, io.EOF) {
				return keys
			}
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, o.Key)
		}
	}
	wantKeys := []string{"dir/o0", "dir/o1", "dir/o2", "dir/o3", "dir/o4"}
	in.SetRules()
	if d := cmp.Diff(wantKeys, listed()); d != "" {
		t.Errorf("listing (-want +got):\n%s", d)
	}
	var page []*blob.ListObject
	token := blob.FirstPageToken
	var pages int
	for len(token) > 0 {
		objs, next, err := b.ListPage(ctx, token, 2, &blob.ListOptions{Prefix: "dir/"})
		if err != nil {
			t.Fatal(err)
		}
		page, token = append(page, objs...), next
		pages++
	}
	if len(page) != 5 || pages != 3 {
		t.Errorf("paged listing: %d objects in %d pages, want 5 in 3", len(page), pages)
	}
	var resend uint64
	for resend = 1; NewInjector(resend).Coin("resend", string(OpList)+" dir/") >= 0.5; resend++ {
	}
	b2 := FaultBucket(inner, NewInjector(resend, Rule{Op: OpList, Fault: FaultDrop, P: 1, Max: 1}))
	b = b2
	if d := cmp.Diff(wantKeys, listed()); d != "" {
		t.Errorf("listing resent after a lost response (-want +got):\n%s", d)
	}
}

// The proxy in front of a real versitygw: the AWS SDK retries 5xx and
// resets until the store recovers; a dropped conditional PUT happened in
// the store and the SDK's resend is refused with 412; CreateOnce still
// reports it as made.
func TestFaultProxy(t *testing.T) {
	srv := S3(t)
	SetEnv(t, srv)
	ctx := context.Background()
	if err := srv.CreateBucket(ctx, "faults"); err != nil {
		t.Fatal(err)
	}
	in := NewInjector(3)
	px := NewFaultProxy(t, srv.Endpoint, in)
	b, err := blob.OpenBucket(ctx, px.URI(srv, "faults", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	// A store that fails twice, then recovers: the SDK's retries see it through.
	in.SetRules(Rule{Op: OpPut, Fault: FaultError, P: 1, Max: 1}, Rule{Op: OpPut, Fault: FaultReset, P: 1, Max: 1})
	if err := b.WriteAll(ctx, "data/a.txt", []byte("hello"), nil); err != nil {
		t.Fatalf("write through a store that fails twice: %v", err)
	}
	in.SetRules(Rule{Op: OpGet, Fault: FaultSlow, P: 1, Delay: 20 * time.Millisecond, Max: 1})
	if got, err := b.ReadAll(ctx, "data/a.txt"); err != nil || string(got) != "hello" {
		t.Fatalf("slow read: %q %v", got, err)
	}
	// A listing that always fails is an error, after the SDK's retries.
	in.SetRules(Rule{Op: OpList, Fault: FaultError, P: 1})
	if _, err := b.List(&blob.ListOptions{Prefix: "data/"}).Next(ctx); err == nil {
		t.Error("listing with every LIST answered 503 succeeded")
	}
	// The lost response.
	in.SetRules(Rule{Op: OpPutIfAbsent, Key: `^gen/`, Fault: FaultDrop, P: 1, Max: 1})
	err = b.WriteAll(ctx, "gen/1.json", []byte("build-a"), &blob.WriterOptions{IfNotExist: true})
	if gcerrors.Code(err) != gcerrors.FailedPrecondition {
		t.Errorf("conditional PUT whose response was lost: %v, want the resend's 412 (FailedPrecondition)", err)
	}
	if got, err := b.ReadAll(ctx, "gen/1.json"); err != nil || string(got) != "build-a" {
		t.Errorf("the write behind the lost response: %q %v", got, err)
	}
	in.SetRules(Rule{Op: OpPutIfAbsent, Key: `^gen/`, Fault: FaultDrop, P: 1, Max: 1})
	loc, err := storage.OpenOutput(ctx, px.URI(srv, "faults", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	if err := loc.CreateOnce(ctx, "gen/2.json", []byte("build-b"), storage.Retry{Attempts: 3, Delay: 10 * time.Millisecond}); err != nil {
		t.Errorf("CreateOnce after a lost response: %v, want success", err)
	}
	// A dropped DELETE happened.
	in.SetRules(Rule{Op: OpDelete, Fault: FaultDrop, P: 1, Max: 1})
	_ = b.Delete(ctx, "data/a.txt")
	if ok, err := b.Exists(ctx, "data/a.txt"); ok || err != nil {
		t.Errorf("after a dropped DELETE: exists=%v, %v", ok, err)
	}

	counts := in.Counts()
	for _, k := range []string{"PUT 5xx", "PUT reset", "GET slow", "PUT-IF-ABSENT drop", "DELETE drop"} {
		if counts[k] < 1 {
			t.Errorf("no %q fault counted: %v", k, in)
		}
	}
	if counts["LIST 5xx"] < 2 {
		t.Errorf("LIST 5xx = %d, want the SDK to have retried", counts["LIST 5xx"])
	}
	if counts["PUT-IF-ABSENT drop"] != 2 {
		t.Errorf("PUT-IF-ABSENT drop = %d, want 2", counts["PUT-IF-ABSENT drop"])
	}
}

// Concurrent requests through the proxy pass bodies and headers intact.
func TestFaultProxyPassesThrough(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(r.Body)
		mu.Lock()
		seen[r.Method+" "+r.URL.RequestURI()] = r.Host + "|" + buf.String()
		mu.Unlock()
		w.Header().Set("ETag", `"e"`)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("ok " + r.URL.Path))
	}))
	defer up.Close()
	px := NewFaultProxy(t, up.URL, NewInjector(1))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/bkt/k%d?x=1", px.Endpoint, i), strings.NewReader(fmt.Sprintf("body%d", i)))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			if resp.Header.Get("ETag") != `"e"` || buf.String() != fmt.Sprintf("ok /bkt/k%d", i) {
				t.Errorf("response %d: %q %q", i, resp.Header.Get("ETag"), buf.String())
			}
		}()
	}
	wg.Wait()
	host := strings.TrimPrefix(px.Endpoint, "http://")
	for i := 0; i < 8; i++ {
		if got := seen[fmt.Sprintf("PUT /bkt/k%d?x=1", i)]; got != fmt.Sprintf("%s|body%d", host, i) {
			t.Errorf("upstream saw %q for request %d", got, i)
		}
	}
}
