package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Environment variables through which an operator hands its URI policy to
// the worker of a Job, so that the worker refuses what the manager refuses.
const (
	EnvAllowedSchemes   = "MLDATA_ALLOWED_SCHEMES"
	EnvAllowedEndpoints = "MLDATA_ALLOWED_ENDPOINTS"
)

// DefaultAllowedSchemes are the schemes a cluster accepts unless told
// otherwise: object stores only. file:// (and plain paths) would read the
// filesystem of the process that opens them, mem:// is a test store.
var DefaultAllowedSchemes = []string{"s3", "gs", "azblob"}

// Flags that widen a Policy, named in refusals so that the message says
// what an administrator would change.
const (
	FlagAllowedSchemes   = "--allowed-schemes"
	FlagAllowedEndpoints = "--allowed-endpoints"
)

// identityParams are query parameters that make the opener take an
// identity from the machine it runs on (a profile of its AWS config, a
// token file, a key file) instead of the resource's own credentials. In a
// cluster they would lend the manager's or the pod's files to whoever wrote
// the URI, so they are refused whatever the policy allows. role= is not
// among them: a role is assumed with the caller's credentials, which are
// always the resource's own (its Secret, or its allowed service account),
// and the cloud's trust policy decides.
var identityParams = map[string][]string{
	"s3": {"profile", "web_identity_token_file", "credential_source", "credential_process"},
	"gs": {"private_key_path", "access_id"},
}

// Policy decides which URIs a cluster's manager and workers may open: which
// schemes, and which custom endpoints. Endpoints of the clouds' own
// services (no endpoint= in the URI) are always allowed by name; a custom
// endpoint is refused when its address is loopback, link-local (cloud
// metadata services live at 169.254.169.254), private, shared (100.64/10,
// often pod and service ranges), unspecified or multicast, or when its name
// is one that resolves inside a cluster or host (single-label names,
// localhost, *.local, *.internal, *.svc, *.cluster.local), unless an
// allowed endpoint matches it.
//
// A Policy is pure: CheckURI and CheckAddr never touch the network. The
// manager additionally refuses, at connect time, every address CheckAddr
// refuses (DialContext), so that a name resolving to an internal address
// is caught too.
//
// The zero Policy is not useful; use DefaultPolicy or NewPolicy.
type Policy struct {
	schemes []string
	nets    []netip.Prefix
	hosts   []string // lower case; "*.example.com" matches subdomains
	raw     []string // endpoints as given, for Endpoints
}

// DefaultPolicy allows s3, gs and azblob and no custom internal endpoint.
func DefaultPolicy() *Policy {
	p, _ := NewPolicy(nil, nil)
	return p
}

// NewPolicy builds a policy from allowed schemes (nil means
// DefaultAllowedSchemes; "file" covers plain paths too) and allowed
// endpoints: CIDRs ("127.0.0.1/32", "10.0.0.0/8"), addresses, host names
// ("minio.storage.svc"), or "*.suffix" for every subdomain of suffix.
// A host name entry also allows its port-less form.
func NewPolicy(schemes, endpoints []string) (*Policy, error) {
	p := &Policy{}
	if schemes == nil {
		schemes = DefaultAllowedSchemes
	}
	for _, s := range schemes {
		s = strings.ToLower(strings.TrimSpace(s))
		switch s {
		case "":
			continue
		case "s3", "gs", "azblob", "file", "mem":
		default:
			return nil, fmt.Errorf("%s: unknown scheme %q; use s3, gs, azblob, file or mem", FlagAllowedSchemes, s)
		}
		if !slices.Contains(p.schemes, s) {
			p.schemes = append(p.schemes, s)
		}
	}
	for _, e := range endpoints {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" {
			continue
		}
		p.raw = append(p.raw, e)
		if pfx, err := netip.ParsePrefix(e); err == nil {
			p.nets = append(p.nets, pfx.Masked())
			continue
		}
		if a, err := netip.ParseAddr(e); err == nil {
			p.nets = append(p.nets, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		if strings.ContainsAny(e, "/:@?#") {
			return nil, fmt.Errorf("%s: %q is neither a CIDR, an address nor a host name", FlagAllowedEndpoints, e)
		}
		p.hosts = append(p.hosts, e)
	}
	return p, nil
}

// Schemes are the allowed schemes.
func (p *Policy) Schemes() []string { return slices.Clone(p.schemes) }

// Endpoints are the allowed endpoints as given.
func (p *Policy) Endpoints() []string { return slices.Clone(p.raw) }

// Env is the policy as the environment variables PolicyFromEnv reads.
func (p *Policy) Env() map[string]string {
	return map[string]string{
		EnvAllowedSchemes:   strings.Join(p.schemes, ","),
		EnvAllowedEndpoints: strings.Join(p.raw, ","),
	}
}

// PolicyFromEnv reads the policy a Job hands its worker. ok is false when
// the environment holds none (a local run: nothing is refused).
func PolicyFromEnv(getenv func(string) string) (p *Policy, ok bool, err error) {
	schemes, set := getenv(EnvAllowedSchemes), false
	if schemes != "" {
		set = true
	}
	if !set {
		return nil, false, nil
	}
	p, err = NewPolicy(splitList(schemes), splitList(getenv(EnvAllowedEndpoints)))
	return p, err == nil, err
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// RefusedError says that a policy refuses a URI or an address. Its message
// names what was refused, why, and the manager flag that would allow it.
type RefusedError struct {
	// Field is where the URI came from (e.g. spec.source.uri), when known.
	Field string
	// URI is the refused URI, redacted.
	URI string
	// Reason says what is refused.
	Reason string
	// Flag is the manager flag that widens the policy; "" when no flag
	// can (identity parameters).
	Flag string
}

func (e *RefusedError) Error() string {
	var b strings.Builder
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(" ")
	}
	if e.URI != "" {
		fmt.Fprintf(&b, "%q: ", e.URI)
	}
	b.WriteString(e.Reason)
	if e.Flag != "" {
		fmt.Fprintf(&b, " (allowed by the operator's manager flag %s)", e.Flag)
	}
	return b.String()
}

// IsRefused reports whether err is, or wraps, a RefusedError.
func IsRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}

// CheckURI tells whether uri may be opened. field, when not empty, names
// where the URI came from in the refusal (e.g. "spec.source.uri").
func (p *Policy) CheckURI(field, uri string) error {
	refuse := func(reason, flag string) error {
		return &RefusedError{Field: field, URI: redactRaw(uri), Reason: reason, Flag: flag}
	}
	if !strings.Contains(uri, "://") {
		if !slices.Contains(p.schemes, "file") {
			return refuse("local paths are not allowed in this cluster: they would read the filesystem of the manager or the worker pod; use "+strings.Join(p.displaySchemes(), ", "), FlagAllowedSchemes)
		}
		return nil
	}
	u, err := url.Parse(uri)
	if err != nil {
		return refuse("not a valid URI", "")
	}
	scheme := strings.ToLower(u.Scheme)
	if !slices.Contains(p.schemes, scheme) {
		why := fmt.Sprintf("scheme %s is not allowed in this cluster; allowed: %s", scheme, strings.Join(p.displaySchemes(), ", "))
		if scheme == "file" {
			why = "file URIs are not allowed in this cluster: they would read the filesystem of the manager or the worker pod; allowed: " + strings.Join(p.displaySchemes(), ", ")
		}
		return refuse(why, FlagAllowedSchemes)
	}
	q := u.Query()
	for _, k := range identityParams[scheme] {
		if q.Has(k) {
			return refuse(fmt.Sprintf("query parameter %s takes an identity from the machine that opens the URI; credentials come from the resource's Secret or service account only; remove it", k), "")
		}
	}
	for _, ep := range endpointsOf(scheme, q) {
		if err := p.checkEndpoint(ep); err != nil {
			return refuse(err.Error(), FlagAllowedEndpoints)
		}
	}
	return nil
}

// CheckCredentials applies the endpoint rules to the endpoints that
// credentials (a Secret's data) name: AWS_ENDPOINT_URL(_S3), the Azure
// domain and a connection string's BlobEndpoint.
func (p *Policy) CheckCredentials(secret string, creds map[string]string) error {
	check := func(key, ep string) error {
		if ep == "" {
			return nil
		}
		if err := p.checkEndpoint(ep); err != nil {
			field := fmt.Sprintf("Secret %s key %s", secret, key)
			if secret == "" {
				field = "the Secret's key " + key
			}
			return &RefusedError{Field: field, Reason: err.Error(), Flag: FlagAllowedEndpoints}
		}
		return nil
	}
	for _, k := range []string{AWSEndpointURL, AWSEndpointURLS3, AzureStorageDomain} {
		if err := check(k, creds[k]); err != nil {
			return err
		}
	}
	if v, _ := parseBool(creds[AzureStorageIsLocalEmulator]); v {
		if err := check(AzureStorageIsLocalEmulator, "127.0.0.1"); err != nil {
			return err
		}
	}
	for part := range strings.SplitSeq(creds[AzureStorageConnectionString], ";") {
		if k, v, ok := strings.Cut(part, "="); ok && strings.EqualFold(k, "BlobEndpoint") {
			if err := check(AzureStorageConnectionString+" BlobEndpoint", v); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *Policy) displaySchemes() []string {
	if len(p.schemes) == 0 {
		return []string{"(none)"}
	}
	return p.schemes
}

// endpointsOf are the custom endpoints a URI's query names.
func endpointsOf(scheme string, q url.Values) []string {
	var out []string
	switch scheme {
	case "s3":
		// Every value: a repeated parameter must not hide one.
		out = append(out, q["endpoint"]...)
	case "azblob":
		out = append(out, q["domain"]...)
		if v, _ := parseBool(q.Get("localemu")); v {
			// The emulator's domain must be a loopback address.
			out = append(out, "127.0.0.1")
		}
	}
	return out
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "yes":
		return true, nil
	}
	return false, nil
}

// checkEndpoint applies the rules to one endpoint: a URL, host:port or host.
func (p *Policy) checkEndpoint(ep string) error {
	host := ep
	if strings.Contains(ep, "://") {
		u, err := url.Parse(ep)
		if err != nil {
			return fmt.Errorf("endpoint %q is not a valid URL", ep)
		}
		host = u.Hostname()
	} else if h, _, err := net.SplitHostPort(ep); err == nil {
		host = h
	} else if i := strings.IndexByte(ep, '/'); i >= 0 {
		host = ep[:i]
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	if host == "" {
		return fmt.Errorf("endpoint %q names no host", ep)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if err := p.CheckAddr(a); err != nil {
			return fmt.Errorf("endpoint %s: %w", ep, err)
		}
		return nil
	}
	if p.hostAllowed(host) {
		return nil
	}
	if internalName(host) {
		return fmt.Errorf("endpoint %s: host %s names a service inside the cluster or host; add it to the allowed endpoints", ep, host)
	}
	return nil
}

func (p *Policy) hostAllowed(host string) bool {
	host = strings.TrimSuffix(host, ".")
	for _, h := range p.hosts {
		if h == host || (strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:])) {
			return true
		}
	}
	return false
}

// internalName reports names that resolve inside a cluster or a host:
// single labels (completed by the pod's DNS search path, e.g. "minio" →
// minio.<namespace>.svc.cluster.local), localhost and the reserved
// internal suffixes.
func internalName(host string) bool {
	host = strings.TrimSuffix(host, ".")
	if !strings.Contains(host, ".") {
		return true
	}
	for _, s := range []string{".localhost", ".local", ".internal", ".svc", ".cluster.local", ".home.arpa", ".intranet", ".lan", ".corp"} {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// CheckAddr tells whether an address may be connected to: refused when it
// is loopback, link-local, private, shared, unspecified or multicast and no
// allowed endpoint covers it.
func (p *Policy) CheckAddr(a netip.Addr) error {
	a = a.Unmap()
	for _, n := range p.nets {
		if n.Contains(a) {
			return nil
		}
	}
	var what string
	switch {
	case a.IsLoopback():
		what = "loopback"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		what = "link-local (cloud metadata services live there)"
	case a.IsPrivate():
		what = "private"
	case sharedAddressSpace.Contains(a):
		what = "shared (carrier-grade NAT, often pod or service ranges)"
	case a.IsUnspecified():
		what = "unspecified"
	case a.IsMulticast(), a.IsInterfaceLocalMulticast():
		what = "multicast"
	default:
		return nil
	}
	return fmt.Errorf("address %s is %s; add it (or its range) to the allowed endpoints", a, what)
}

// Control is a net.Dialer Control function that refuses connections to
// addresses CheckAddr refuses, after name resolution, so that a host name
// pointing at an internal address is refused too.
func (p *Policy) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &RefusedError{Reason: fmt.Sprintf("connection to %s: not an address", address), Flag: FlagAllowedEndpoints}
	}
	if err := p.CheckAddr(ap.Addr()); err != nil {
		return &RefusedError{Reason: "connection refused by the operator's endpoint policy: " + err.Error(), Flag: FlagAllowedEndpoints}
	}
	return nil
}

// HTTPClient returns an HTTP client whose every connection passes Control,
// with no proxy from the environment (a proxy would connect on the
// caller's behalf, past the check). Timeouts on the whole call come from
// the caller's context.
func (p *Policy) HTTPClient() *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: p.Control}
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: t}
}

// policyClientKey carries an HTTP client for openWith through a context.
type policyClientKey struct{}

// OpenGuarded opens uri as a source with creds, like OpenWithCredentials,
// after checking it against p, and with every connection to the store
// checked by p (HTTPClient). It is how a shared operator opens a user's
// URI.
func OpenGuarded(ctx context.Context, p *Policy, field, uri string, creds map[string]string, secret string) (*Location, error) {
	if err := p.CheckURI(field, uri); err != nil {
		return nil, err
	}
	if err := p.CheckCredentials(secret, creds); err != nil {
		return nil, err
	}
	ctx = context.WithValue(ctx, policyClientKey{}, p.HTTPClient())
	return OpenWithCredentials(ctx, uri, creds)
}

// guardedClient is the HTTP client OpenGuarded put in ctx, or nil.
func guardedClient(ctx context.Context) *http.Client {
	c, _ := ctx.Value(policyClientKey{}).(*http.Client)
	return c
}

// ListLimitError says that a listing held more entries than
// Location.MaxListEntries allows.
type ListLimitError struct {
	URI   string
	Limit int
}

func (e *ListLimitError) Error() string {
	return fmt.Sprintf("%s: listing stopped after %d objects, the most this operator lists (manager flag --max-list-objects); narrow the URI's prefix or include patterns, or raise the limit", e.URI, e.Limit)
}

// ReadFileLimit reads key (relative to the prefix) whole, failing with a
// clear error instead of reading past max bytes.
func (l *Location) ReadFileLimit(ctx context.Context, key string, max int64, flag string) ([]byte, error) {
	r, err := l.NewReader(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, l.redact(fmt.Errorf("%s: read %s: %w", l, key, err))
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %s is larger than %d bytes, the most this operator reads (manager flag %s)", l, key, max, flag)
	}
	return data, nil
}
