package storage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStringRedacts(t *testing.T) {
	tests := []struct {
		uri  string
		want string
	}{
		{"/data/in", "/data/in"},
		{"s3://b/p?endpoint=http://h:9000&region=us-east-1", "s3://b/p?endpoint=http://h:9000&region=us-east-1"},
		{"s3://b/p?endpoint=h&secret_key=S3CR3T&region=us", "s3://b/p?endpoint=h&secret_key=REDACTED&region=us"},
		{"azblob://c/p?sv=2020&sig=abc%2Fdef", "azblob://c/p?sv=2020&sig=REDACTED"},
		{"s3://user:pw@b/p", "s3://user:REDACTED@b/p"},
		{"s3://user@b/p", "s3://user@b/p"},
		{"s3://b/p?X-Amz-Credential=AK&X-Amz-Security-Token=T&X-Amz-Signature=SS&Password=x&access_token=y",
			"s3://b/p?X-Amz-Credential=REDACTED&X-Amz-Security-Token=REDACTED&X-Amz-Signature=REDACTED&Password=REDACTED&access_token=REDACTED"},
		// A malformed pair does not hide the next one.
		{"s3://b/p?a=%zz&token=t0ken&b", "s3://b/p?a=%zz&token=REDACTED&b"},
		{"s3://b/p#frag", "s3://b/p#REDACTED"},
		{"s3://b/%zz?token=abc", "s3://b/%zz?REDACTED"},
		{"s3://u:p@b/%zz", "REDACTED@b/%zz"},
		{"s3://b/%zz", "s3://b/%zz"},
	}
	for _, tc := range tests {
		l := &Location{URI: tc.uri}
		if got := l.String(); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.uri, got, tc.want)
		}
	}
}

func TestErrorsRedact(t *testing.T) {
	ctx := context.Background()
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	uris := []string{
		"ftp://user:pw-hunter2@h/x?password=hunter2",
		"s3://b/p?access_token=hunter2&bogus=1",
		"s3://b/%zz?token=hunter2",
		"gs:///p?token=hunter2",
		"mem://x?token=hunter2",
	}
	for _, uri := range uris {
		for _, open := range []func(context.Context, string) (*Location, error){Open, OpenOutput} {
			l, err := open(ctx, uri)
			if err == nil {
				l.Close()
				t.Errorf("open(%q) succeeded", uri)
				continue
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("open(%q) error leaks the secret: %v", uri, err)
			}
		}
	}
}

func TestRedactErr(t *testing.T) {
	base := fmt.Errorf("dial https://h/?sig=a%%2Fb and a/b: %w", errSentinel)
	err := redactErr(base, []string{"a/b"})
	if got, want := err.Error(), "dial https://h/?sig=REDACTED and REDACTED: sentinel"; got != want {
		t.Errorf("redactErr = %q, want %q", got, want)
	}
	if !errors.Is(err, errSentinel) {
		t.Error("redactErr hides the wrapped error from errors.Is")
	}
	if redactErr(base, nil) != base || redactErr(base, []string{"absent"}) != base || redactErr(nil, []string{"x"}) != nil {
		t.Error("redactErr changed an error with nothing to hide")
	}
	l := &Location{URI: "mem://x", secrets: []string{"zz"}}
	if got := l.redact(errors.New("zz")).Error(); got != "REDACTED" {
		t.Errorf("Location.redact = %q", got)
	}
}

var errSentinel = errors.New("sentinel")

func TestSecretParams(t *testing.T) {
	tests := map[string]bool{
		"sig": true, "SIG": true, "secret_key_path": true, "kmskeyid": true, "token": true,
		"X-Amz-Signature": true, "password": true, "x-amz-credential": true,
		"endpoint": false, "region": false, "use_path_style": false, "sv": false, "signed": false,
	}
	for name, want := range tests {
		if got := isSecretParam(name); got != want {
			t.Errorf("isSecretParam(%q) = %v, want %v", name, got, want)
		}
	}
	got := secretValues("token=a&token=&region=r&sig=a%2Fb&%zz=1")
	if d := cmp.Diff([]string{"a", "a%2Fb", "a/b"}, got); d != "" {
		t.Errorf("secretValues (-want +got):\n%s", d)
	}
}

// FuzzRedact checks that String never panics and never shows the value of
// a secret-looking query parameter, whatever the rest of the URI is.
func FuzzRedact(f *testing.F) {
	f.Add("s3://b/p", "token", "hunter2")
	f.Add("azblob://c/%zz", "sig", "abc/def")
	f.Add("/plain/path", "password", "pw")
	f.Fuzz(func(t *testing.T, base, name, value string) {
		if len(value) < 6 || !isSecretParam(name) || strings.Contains(base, value) ||
			strings.Contains(name, value) || !strings.Contains(base, "://") || strings.ContainsAny(base, "?#") {
			return
		}
		uri := base + "?" + url.QueryEscape(name) + "=" + url.QueryEscape(value)
		got := (&Location{URI: uri}).String()
		if strings.Contains(got, value) || strings.Contains(got, url.QueryEscape(value)) {
			t.Errorf("String(%q) = %q shows the secret", uri, got)
		}
	})
}
