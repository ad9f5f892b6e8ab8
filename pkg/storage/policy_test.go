package storage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"google.golang.org/api/googleapi"
)

// The addresses below are written into URIs and checked as strings only:
// nothing in this file connects anywhere but 127.0.0.1.

func TestPolicyCheckURIDefault(t *testing.T) {
	p := DefaultPolicy()
	tests := []struct {
		uri  string
		want string // substring of the refusal; "" means allowed
		flag string
	}{
		{uri: "s3://bucket/data/"},
		{uri: "gs://bucket/data/"},
		{uri: "azblob://container/data/"},
		{uri: "s3://bucket/data/?region=eu-west-1&endpoint=https://s3.example.com"},
		{uri: "s3://bucket/d/?role=arn:aws:iam::1:role/r"},
		{uri: "file:///var/run/secrets/", want: "file URIs are not allowed", flag: FlagAllowedSchemes},
		{uri: "/etc", want: "local paths are not allowed", flag: FlagAllowedSchemes},
		{uri: "mem://x/", want: "scheme mem is not allowed", flag: FlagAllowedSchemes},
		{uri: "s3://b/?endpoint=http://169.254.169.254", want: "link-local", flag: FlagAllowedEndpoints},
		{uri: "s3://b/?endpoint=http://[fe80::1]:80", want: "link-local", flag: FlagAllowedEndpoints},
		{uri: "s3://b/?endpoint=http://127.0.0.1:9000", want: "loopback", flag: FlagAllowedEndpoints},
		{uri: "s3://b/?endpoint=http://[::1]:9000", want: "loopback", flag: FlagAllowedEndpoints},
		{uri: "s3://b/?endpoint=http://[::ffff:127.0.0.1]:9000", want: "loopback", flag: FlagAllowedEndpoints},
		{uri: "s3://b/?endpoint=http://10.0.0.1", want: "private", flag: FlagAllowedEndpoints},
		{uri: "s3://b/?endpoint=http://192.168.1.1", want: "private", flag: FlagAllowedEndpoints},
		{uri: "s3://b/?endpoint=http://172.16.0.1", want: "private", flag: FlagAllowedEndpoints},
		{uri: "s3://b/?endpoint=http://[fd00::1]", want: "private", flag: FlagAllowedEndpoints},
		{uri: "s3://b/?endpoint=http://100.64.0.10", want: "shared", flag: FlagAllowedEndpoints},
		{uri: "s3://b/?endpoint=http://0.0.0.0:80", want: "unspecified", flag: FlagAllowedEndpoints},
		{uri: "s3://b/?endpoint=localhost:9000", want: "inside the cluster", flag: FlagAllowedEndpoints},
		{uri: "s3://b/?endpoint=http://minio:9000", want: "inside the cluster", flag: FlagAllowedEndpoints},
		{uri: "s3://b/?endpoint=http://minio.storage.svc.cluster.local", want: "inside the cluster", flag: FlagAllowedEndpoints},
		{uri: "s3://b/?endpoint=http://metadata.google.internal", want: "inside the cluster", flag: FlagAllowedEndpoints},
		{uri: "azblob://c/?localemu=true&protocol=http&domain=127.0.0.1:10000", want: "loopback", flag: FlagAllowedEndpoints},
		{uri: "s3://b/?endpoint=https://s3.example.com&endpoint=http://127.0.0.1:9000", want: "loopback", flag: FlagAllowedEndpoints},
		{uri: "s3://b/?endpoint=http://2130706433:9000", want: "inside the cluster", flag: FlagAllowedEndpoints},
		{uri: "s3://b/?endpoint=127.0.0.1:9000", want: "loopback", flag: FlagAllowedEndpoints},
		{uri: "s3://b/?profile=admin", want: "query parameter profile"},
		{uri: "s3://b/?web_identity_token_file=/var/run/secrets/token", want: "query parameter web_identity_token_file"},
		{uri: "gs://b/?private_key_path=/etc/key.pem", want: "query parameter private_key_path"},
	}
	for _, tc := range tests {
		err := p.CheckURI("spec.source.uri", tc.uri)
		if tc.want == "" {
			if err != nil {
				t.Errorf("CheckURI(%s) = %v, want allowed", tc.uri, err)
			}
			continue
		}
		var r *RefusedError
		if !errors.As(err, &r) {
			t.Errorf("CheckURI(%s) = %v, want a refusal", tc.uri, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "spec.source.uri ") {
			t.Errorf("CheckURI(%s) = %q, want the field and %q", tc.uri, msg, tc.want)
		}
		if r.Flag != tc.flag || (tc.flag != "" && !strings.Contains(msg, tc.flag)) {
			t.Errorf("CheckURI(%s): flag %q in %q, want %q", tc.uri, r.Flag, msg, tc.flag)
		}
	}
}

func TestPolicyAllowedExplicitly(t *testing.T) {
	p, err := NewPolicy([]string{"s3", "file", "mem"}, []string{"127.0.0.1/32", "minio.storage.svc", "*.lab.internal", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, uri := range []string{
		"file:///tmp/x", "./data", "mem://t/",
		"s3://b/?endpoint=http://127.0.0.1:9000",
		"s3://b/?endpoint=http://[::1]:9000",
		"s3://b/?endpoint=http://minio.storage.svc:9000",
		"s3://b/?endpoint=https://s3.lab.internal",
	} {
		if err := p.CheckURI("spec.source.uri", uri); err != nil {
			t.Errorf("CheckURI(%s) = %v, want allowed", uri, err)
		}
	}
	for _, uri := range []string{
		"gs://b/", // not among the schemes
		"s3://b/?endpoint=http://127.0.0.2:9000",
		"s3://b/?endpoint=http://169.254.169.254",
		"s3://b/?endpoint=http://other.storage.svc",
		"s3://b/?profile=x", // no flag allows identity parameters
	} {
		if err := p.CheckURI("spec.source.uri", uri); !IsRefused(err) {
			t.Errorf("CheckURI(%s) = %v, want a refusal", uri, err)
		}
	}
}

func TestPolicyCheckCredentials(t *testing.T) {
	p := DefaultPolicy()
	err := p.CheckCredentials("creds", map[string]string{AWSEndpointURL: "http://169.254.169.254/latest"})
	if !IsRefused(err) || !strings.Contains(err.Error(), "Secret creds key AWS_ENDPOINT_URL") {
		t.Errorf("endpoint in the Secret: %v", err)
	}
	err = p.CheckCredentials("az", map[string]string{AzureStorageConnectionString: "AccountName=a;AccountKey=k;BlobEndpoint=http://127.0.0.1:10000/a"})
	if !IsRefused(err) || !strings.Contains(err.Error(), "BlobEndpoint") {
		t.Errorf("connection string endpoint: %v", err)
	}
	if err := p.CheckCredentials("ok", map[string]string{AWSAccessKeyID: "AKIA", AWSSecretAccessKey: "s", AWSRegion: "eu-west-1"}); err != nil {
		t.Errorf("plain keys refused: %v", err)
	}
}

func TestPolicyControlAtConnect(t *testing.T) {
	p := DefaultPolicy()
	for _, addr := range []string{"127.0.0.1:9000", "[::1]:443", "169.254.169.254:80", "10.1.2.3:443"} {
		if err := p.Control("tcp", addr, nil); !IsRefused(err) {
			t.Errorf("Control(%s) = %v, want refused", addr, err)
		}
	}
	// A public address (documentation range, never dialled here).
	if err := p.Control("tcp", "203.0.113.7:443", nil); err != nil {
		t.Errorf("Control(public) = %v", err)
	}
	// The guarded client refuses at connect time, after resolution: a
	// listener on loopback is never reached.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	resp, err := p.HTTPClient().Get("http://" + ln.Addr().String() + "/")
	if err == nil {
		resp.Body.Close()
	}
	if !IsRefused(err) {
		t.Errorf("GET to a loopback listener = %v, want refused at connect", err)
	}
}

func TestPolicyEnvRoundTrip(t *testing.T) {
	p, err := NewPolicy([]string{"s3", "mem"}, []string{"127.0.0.1/32", "minio.svc"})
	if err != nil {
		t.Fatal(err)
	}
	env := p.Env()
	q, ok, err := PolicyFromEnv(func(k string) string { return env[k] })
	if err != nil || !ok {
		t.Fatalf("PolicyFromEnv: %v %v", ok, err)
	}
	if strings.Join(q.Schemes(), ",") != "s3,mem" || strings.Join(q.Endpoints(), ",") != "127.0.0.1/32,minio.svc" {
		t.Errorf("round trip: %v %v", q.Schemes(), q.Endpoints())
	}
	if _, ok, _ := PolicyFromEnv(func(string) string { return "" }); ok {
		t.Error("empty environment gave a policy")
	}
	if _, err := NewPolicy([]string{"ftp"}, nil); err == nil || !strings.Contains(err.Error(), FlagAllowedSchemes) {
		t.Errorf("unknown scheme: %v", err)
	}
	if _, err := NewPolicy(nil, []string{"http://x/"}); err == nil || !strings.Contains(err.Error(), FlagAllowedEndpoints) {
		t.Errorf("URL as endpoint: %v", err)
	}
	if err := q.CheckAddr(netip.MustParseAddr("127.0.0.1")); err != nil {
		t.Errorf("allowed CIDR: %v", err)
	}
}

// TestOpenGuardedTarpit opens an S3 URI whose endpoint (allowed for the
// test) accepts connections and never answers: the open returns with the
// caller's deadline instead of hanging.
func TestOpenGuardedTarpit(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // accepted, never answered
		}
	}()
	p, err := NewPolicy(nil, []string{"127.0.0.1/32"})
	if err != nil {
		t.Fatal(err)
	}
	creds := map[string]string{AWSAccessKeyID: "test-access-key", AWSSecretAccessKey: "test-secret-key", AWSRegion: "us-east-1"}
	uri := "s3://bucket/data/?use_path_style=true&endpoint=http://" + ln.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		loc, err := OpenGuarded(ctx, p, "spec.source.uri", uri, creds, "creds")
		if err == nil {
			loc.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "deadline") {
			t.Errorf("open of a tarpit = %v, want the deadline's error", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("open of a tarpit ignored its deadline")
	}

	// Without the allowance the same URI is refused before any connection.
	if _, err := OpenGuarded(context.Background(), DefaultPolicy(), "spec.source.uri", uri, creds, "creds"); !IsRefused(err) {
		t.Errorf("default policy: %v, want refused", err)
	}
}

func TestListLimit(t *testing.T) {
	ctx := context.Background()
	loc, err := OpenOutput(ctx, "mem://policy-list-limit/")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a.csv", "b.csv", "c.csv"} {
		if err := loc.WriteFile(ctx, k, []byte("x\n1\n")); err != nil {
			t.Fatal(err)
		}
	}
	src, err := Open(ctx, "mem://policy-list-limit/")
	if err != nil {
		t.Fatal(err)
	}
	src.MaxListEntries = 3
	if objs, err := src.List(ctx, nil); err != nil || len(objs) != 3 {
		t.Fatalf("at the limit: %d objects, %v", len(objs), err)
	}
	src.MaxListEntries = 2
	_, err = src.List(ctx, []string{"a.csv"})
	var le *ListLimitError
	if !errors.As(err, &le) || le.Limit != 2 || !strings.Contains(err.Error(), "--max-list-objects") {
		t.Errorf("over the limit: %v", err)
	}
	if data, err := src.ReadFileLimit(ctx, "a.csv", 6, "--max-manifest-bytes"); err != nil || string(data) != "x\n1\n" {
		t.Errorf("ReadFileLimit within: %q %v", data, err)
	}
	if _, err := src.ReadFileLimit(ctx, "a.csv", 3, "--max-manifest-bytes"); err == nil || !strings.Contains(err.Error(), "larger than 3 bytes") || !strings.Contains(err.Error(), "--max-manifest-bytes") {
		t.Errorf("ReadFileLimit over: %v", err)
	}
}

func TestSafeMessage(t *testing.T) {
	body := "<html>" + strings.Repeat("instance-id: i-123 secret-ish\n", 100) + "</html>"
	g := &googleapi.Error{Code: 403, Body: body}
	got := SafeMessage(fmt.Errorf("source gs://b/: list: %w", g), 1024)
	if got != "source gs://b/: list: HTTP 403" {
		t.Errorf("googleapi without message: %q", got)
	}
	g = &googleapi.Error{Code: 404, Message: "bucket not found", Body: body}
	if got := SafeMessage(fmt.Errorf("x: %w", g), 1024); got != "x: HTTP 404: bucket not found" {
		t.Errorf("googleapi with message: %q", got)
	}
	long := errors.New("line one\nline two\t" + strings.Repeat("é", 600))
	got = SafeMessage(long, 100)
	if len(got) > 100 || strings.ContainsAny(got, "\n\t") || !strings.HasPrefix(got, "line one line two ") || !strings.HasSuffix(got, "…") {
		t.Errorf("long message: %q (%d bytes)", got, len(got))
	}
}

// TestOpenGuardedS3 lists a real S3 server on loopback through the guarded
// opener: allowed explicitly, it lists with the given credentials; with
// the default policy the same URI, or the same endpoint given in the
// credentials, is refused before any connection.
func TestOpenGuardedS3(t *testing.T) {
	s := s3Fixture(t)
	noAmbientAWS(t)
	ctx := context.Background()
	creds := map[string]string{AWSAccessKeyID: s.AccessKey, AWSSecretAccessKey: s.SecretKey}
	allow, err := NewPolicy(nil, []string{"127.0.0.1/32"})
	if err != nil {
		t.Fatal(err)
	}
	loc, err := OpenGuarded(ctx, allow, "spec.source.uri", s.URI("creds", "raw/"), creds, "creds")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := loc.List(ctx, []string{"*.csv"})
	loc.Close()
	if err != nil || strings.Join(keysOf(objs), ",") != "a.csv,b.csv" {
		t.Fatalf("guarded listing: %v %v", keysOf(objs), err)
	}

	if _, err := OpenGuarded(ctx, DefaultPolicy(), "spec.source.uri", s.URI("creds", "raw/"), creds, "creds"); !IsRefused(err) {
		t.Errorf("default policy, endpoint in the URI: %v", err)
	}
	withEndpoint := map[string]string{AWSEndpointURL: s.Endpoint, AWSRegion: s.Region}
	for k, v := range creds {
		withEndpoint[k] = v
	}
	_, err = OpenGuarded(ctx, DefaultPolicy(), "spec.source.uri", "s3://creds/raw/?use_path_style=true", withEndpoint, "creds")
	if !IsRefused(err) || !strings.Contains(err.Error(), "Secret creds key AWS_ENDPOINT_URL") {
		t.Errorf("default policy, endpoint in the Secret: %v", err)
	}
}
