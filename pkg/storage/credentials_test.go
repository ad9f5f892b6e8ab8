package storage

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mldata-io/mldata/internal/testservers"
)

// noAmbientAWS points the AWS SDK's environment at credentials that do not
// work, so that a listing that succeeds proves the explicit credentials
// were used, and checks afterwards that nothing changed the environment.
func noAmbientAWS(t *testing.T) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	env := map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIAENVIRONMENT0000", "AWS_SECRET_ACCESS_KEY": "environment-secret-not-valid",
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "",
		"AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_S3": "",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	t.Cleanup(func() {
		for k, v := range env {
			if got := os.Getenv(k); got != v {
				t.Errorf("environment changed: %s=%q, want %q", k, got, v)
			}
		}
	})
}

// s3Fixture starts versitygw with bucket "creds" holding raw/a.csv,
// raw/b.csv and other/c.csv, uploaded with explicit credentials.
func s3Fixture(t *testing.T) *testservers.S3Server {
	t.Helper()
	s := testservers.S3(t)
	ctx := context.Background()
	if err := s.CreateBucket(ctx, "creds"); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(s.URI("creds", ""))
	b, err := openBucketWithCredentials(ctx, &url.URL{Scheme: u.Scheme, Host: u.Host, RawQuery: u.RawQuery},
		map[string]string{AWSAccessKeyID: s.AccessKey, AWSSecretAccessKey: s.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for key, body := range map[string]string{"raw/a.csv": "x\n1\n", "raw/b.csv": "x\n2\n3\n", "other/c.csv": "x\n"} {
		if err := b.WriteAll(ctx, key, []byte(body), nil); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func keysOf(objs []Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out
}

func TestOpenWithCredentialsS3(t *testing.T) {
	s := s3Fixture(t)
	noAmbientAWS(t)
	ctx := context.Background()
	good := map[string]string{AWSAccessKeyID: s.AccessKey, AWSSecretAccessKey: s.SecretKey}

	list := func(uri string, creds map[string]string) ([]Object, error) {
		loc, err := OpenWithCredentials(ctx, uri, creds)
		if err != nil {
			return nil, err
		}
		defer loc.Close()
		return loc.List(ctx, []string{"*.csv"})
	}
	hostOnly := "s3://creds/raw/?use_path_style=true"
	for _, tc := range []struct {
		name  string
		uri   string
		extra map[string]string
	}{
		{"query gives endpoint and region", s.URI("creds", "raw/"), nil},
		{"region from AWS_REGION", "s3://creds/raw/?use_path_style=true&endpoint=" + url.QueryEscape(s.Endpoint), map[string]string{AWSRegion: s.Region}},
		{"endpoint from AWS_ENDPOINT_URL_S3", hostOnly + "&region=" + s.Region, map[string]string{AWSEndpointURLS3: s.Endpoint}},
		{"endpoint from AWS_ENDPOINT_URL", hostOnly, map[string]string{AWSEndpointURL: s.Endpoint, AWSDefaultRegion: s.Region}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			creds := map[string]string{}
			for k, v := range good {
				creds[k] = v
			}
			for k, v := range tc.extra {
				creds[k] = v
			}
			objs, err := list(tc.uri, creds)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff([]string{"a.csv", "b.csv"}, keysOf(objs)); d != "" {
				t.Errorf("keys (-want +got):\n%s", d)
			}
			if objs[1].Size != 6 || !strings.HasPrefix(objs[1].ETag, `"`) {
				t.Errorf("b.csv: %+v", objs[1])
			}
		})
	}

	// A wrong secret: an error that says what was tried, without the
	// credentials.
	bad := map[string]string{AWSAccessKeyID: s.AccessKey, AWSSecretAccessKey: "wrong-secret-value-123"}
	_, err := list(s.URI("creds", "raw/"), bad)
	if err == nil {
		t.Fatal("listing with a wrong secret succeeded")
	}
	if errors.Is(err, ErrNoCredentials) || !strings.Contains(err.Error(), "check the URI and credentials") ||
		strings.Contains(err.Error(), "wrong-secret-value-123") || strings.Contains(err.Error(), s.AccessKey) {
		t.Errorf("error: %v", err)
	}

	// Good and bad credentials at once: neither sees the other's.
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := good
			if i%2 == 1 {
				c = bad
			}
			_, errs[i] = list(s.URI("creds", "raw/"), c)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (err == nil) != (i%2 == 0) {
			t.Errorf("open %d (good=%v): %v", i, i%2 == 0, err)
		}
	}
}

func TestOpenWithCredentialsRefuses(t *testing.T) {
	noAmbientAWS(t)
	ctx := context.Background()
	keys := map[string]string{AWSAccessKeyID: "AKIAEXAMPLE", AWSSecretAccessKey: "example-secret-key", AWSRegion: "eu-west-1"}
	for _, tc := range []struct {
		uri   string
		creds map[string]string
		want  string
		noCrd bool
	}{
		{"s3://b/p", map[string]string{AWSAccessKeyID: "AKIAEXAMPLE", AWSRegion: "eu-west-1"}, "needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", true},
		{"s3://b/p", nil, "needs AWS_ACCESS_KEY_ID", true},
		{"s3://b/p", map[string]string{AWSAccessKeyID: "AKIAEXAMPLE", AWSSecretAccessKey: "example-secret-key"}, "no AWS region: add region=", false},
		{"s3://b/p?profile=prod", keys, "query parameter profile reads the local machine's AWS configuration", false},
		{"s3://b/p?role=arn:aws:iam::1:role/r&web_identity_token_file=/var/run/token", keys, "web_identity_token_file", false},
		{"s3://b/p?colour=red", keys, `unknown query parameter "colour"`, false},
		{"s3://b/p?use_path_style=maybe", keys, `use_path_style="maybe"`, false},
		{"s3://b/p?role=admin", keys, "must be an ARN", false},
		{"s3://b/p?role_session_name=x", keys, "role is required", false},
		{"s3://b/p?ssetype=rot13", keys, "not a server-side encryption type", false},
		{"s3://b/p?request_checksum_calculation=always", keys, "want when_supported or when_required", false},
		{"azblob://c/p", map[string]string{AzureStorageAccount: "acct"}, "needs AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY", true},
		{"gs://b/p", map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": "/var/run/key.json"}, "needs a service-account JSON key", true},
		{"gs://b/p", map[string]string{GoogleCredentialsJSON: `{"type":"external_account","credential_source":{"file":"/etc/passwd"}}`}, "needs a service-account JSON key", true},
		{"gs://b/p?private_key_path=/etc/key.pem", map[string]string{GoogleCredentialsJSON: serviceAccountJSON(t)}, "private_key_path reads a file", false},
	} {
		_, err := OpenWithCredentials(ctx, tc.uri, tc.creds)
		if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrNoCredentials) != tc.noCrd {
			t.Errorf("%s with %v: %v; want %q (ErrNoCredentials %v)", tc.uri, keysOfMap(tc.creds), err, tc.want, tc.noCrd)
		}
		if err != nil && strings.Contains(err.Error(), "example-secret-key") {
			t.Errorf("%s: the secret is in the error: %v", tc.uri, err)
		}
	}
}

func keysOfMap(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestOpenWithCredentialsLocal: local and in-memory URIs need no
// credentials and ignore them.
func TestOpenWithCredentialsLocal(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.csv"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	loc, err := OpenWithCredentials(context.Background(), "file://"+dir, map[string]string{AWSAccessKeyID: "unused"})
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	objs, err := loc.List(context.Background(), nil)
	if err != nil || len(objs) != 1 || objs[0].Key != "a.csv" {
		t.Fatalf("%v %v", objs, err)
	}
}

func TestOpenWithCredentialsAzure(t *testing.T) {
	s := testservers.Azurite(t)
	ctx := context.Background()
	if err := s.CreateBucket(ctx, "creds"); err != nil {
		t.Fatal(err)
	}
	// The environment names another account: only creds can work.
	t.Setenv("AZURE_STORAGE_ACCOUNT", "nosuchaccount")
	t.Setenv("AZURE_STORAGE_KEY", "bm90IGEga2V5")
	shared := map[string]string{AzureStorageAccount: s.Account, AzureStorageKey: s.Key}
	u, _ := url.Parse(s.URI("creds", ""))
	b, err := openBucketWithCredentials(ctx, &url.URL{Scheme: u.Scheme, Host: u.Host, RawQuery: u.RawQuery}, shared)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"raw/a.csv", "raw/b.csv", "other/c.csv"} {
		if err := b.WriteAll(ctx, k, []byte("x\n1\n"), nil); err != nil {
			t.Fatal(err)
		}
	}
	b.Close()

	connStr := "DefaultEndpointsProtocol=http;AccountName=" + s.Account + ";AccountKey=" + s.Key + ";BlobEndpoint=" + s.Endpoint + ";"
	for name, creds := range map[string]map[string]string{
		"shared key":        shared,
		"connection string": {AzureStorageConnectionString: connStr},
	} {
		t.Run(name, func(t *testing.T) {
			loc, err := OpenWithCredentials(ctx, s.URI("creds", "raw/"), creds)
			if err != nil {
				t.Fatal(err)
			}
			defer loc.Close()
			objs, err := loc.List(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff([]string{"a.csv", "b.csv"}, keysOf(objs)); d != "" {
				t.Errorf("keys (-want +got):\n%s", d)
			}
		})
	}
	wrongKey := "d3Jvbmcga2V5IHdyb25nIGtleSB3cm9uZyBrZXk="
	_, err = OpenWithCredentials(ctx, s.URI("creds", "raw/"), map[string]string{AzureStorageAccount: s.Account, AzureStorageKey: wrongKey})
	if err == nil || strings.Contains(err.Error(), wrongKey) {
		t.Errorf("wrong key: %v", err)
	}
}

// serviceAccountJSON is a service-account key with a fresh RSA key.
func serviceAccountJSON(t *testing.T) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "p", "private_key_id": "1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "lister@p.iam.gserviceaccount.com", "client_id": "1",
		"token_uri": "https://oauth2.googleapis.com/token",
	})
	return string(data)
}

func TestServiceAccountKey(t *testing.T) {
	sa := serviceAccountJSON(t)
	for _, tc := range []struct {
		name  string
		creds map[string]string
		want  string
	}{
		{"the named key", map[string]string{GoogleCredentialsJSON: sa, "a.json": `{"type":"service_account","private_key":"other"}`}, sa},
		{"any key holding one", map[string]string{"key.json": sa, "README": "not json"}, sa},
		{"first in key order", map[string]string{"b.json": sa, "a.json": `{"type":"service_account","private_key":"first"}`}, `{"type":"service_account","private_key":"first"}`},
		{"external_account is not a service account", map[string]string{GoogleCredentialsJSON: `{"type":"external_account","private_key":"x"}`}, ""},
		{"no private key", map[string]string{GoogleCredentialsJSON: `{"type":"service_account"}`}, ""},
	} {
		if got := string(serviceAccountKey(tc.creds)); got != tc.want {
			t.Errorf("%s: got %.40q, want %.40q", tc.name, got, tc.want)
		}
	}
	// A valid key opens a bucket without contacting anything.
	u := &url.URL{Scheme: "gs", Host: "bucket"}
	b, err := openBucketWithCredentials(context.Background(), u, map[string]string{"key.json": sa})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
}

// A worker receives the Secret's GOOGLE_APPLICATION_CREDENTIALS_JSON as an
// environment variable; Open uses it as OpenWithCredentials would.
func TestOpenUsesInlineGoogleKeyFromEnvironment(t *testing.T) {
	t.Setenv(GoogleCredentialsJSON, `{"type":"external_account","credential_source":{"file":"/etc/passwd"}}`)
	_, err := Open(context.Background(), "gs://b/p?private_key_path=/etc/key.pem")
	if err == nil || !strings.Contains(err.Error(), "private_key_path reads a file") {
		t.Errorf("Open with an inline key in the environment: %v; want the Secret-credential path's refusal of private_key_path", err)
	}
	_, err = Open(context.Background(), "gs://b/p")
	if err == nil || !errors.Is(err, ErrNoCredentials) {
		t.Errorf("Open with a non-service-account key in the environment: %v; want ErrNoCredentials", err)
	}
}
