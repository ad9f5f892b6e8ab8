package testservers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FaultProxy is an HTTP reverse proxy on 127.0.0.1 in front of an S3
// server, that injects faults into the requests its Injector picks: a 503,
// a connection reset before the request is passed on, a connection reset
// after the store has answered (the write happened, the response is lost),
// or a delay. The AWS SDK sees exactly what it would see from a flaky
// network or store, and retries as it would.
//
// Requests keep their Host header, so SigV4 signatures made for the proxy's
// address still verify at the server. Path-style URLs are assumed
// (/bucket/key), as S3Server.URI makes them.
type FaultProxy struct {
	// Endpoint is http://127.0.0.1:PORT, to use instead of the server's.
	Endpoint string
	Faults   *Injector

	upstream *url.URL
	srv      *http.Server
	ln       net.Listener
	client   *http.Client
}

// NewFaultProxy starts a proxy in front of the S3 server at upstream
// (http://host:port), stopped when t ends.
func NewFaultProxy(t testing.TB, upstream string, faults *Injector) *FaultProxy {
	t.Helper()
	p, err := StartFaultProxy(upstream, faults)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// StartFaultProxy starts a proxy; the caller closes it.
func StartFaultProxy(upstream string, faults *Injector) (*FaultProxy, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("fault proxy upstream %q: %w", upstream, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &FaultProxy{
		Endpoint: "http://" + ln.Addr().String(),
		Faults:   faults,
		upstream: u,
		ln:       ln,
		client: &http.Client{
			Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16, DisableCompression: true},
			// Redirects go back to the client, as the server sent them.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// Close stops the proxy.
func (p *FaultProxy) Close() error {
	err := p.srv.Close()
	p.client.CloseIdleConnections()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// URI is S3Server.URI with the proxy as the endpoint.
func (p *FaultProxy) URI(s *S3Server, bucket, prefix string) string {
	return fmt.Sprintf("s3://%s/%s?endpoint=%s&use_path_style=true&region=%s",
		bucket, strings.TrimPrefix(prefix, "/"), url.QueryEscape(p.Endpoint), s.Region)
}

// Classify returns the kind of an S3 request and its object key (the path
// after the bucket, unescaped; "" for bucket calls).
func Classify(r *http.Request) (Op, string) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	_, key, _ := strings.Cut(path, "/")
	q := r.URL.Query()
	switch r.Method {
	case http.MethodGet:
		if key == "" || q.Has("list-type") {
			return OpList, key
		}
		if q.Has("uploadId") || q.Has("uploads") {
			return OpOther, key
		}
		return OpGet, key
	case http.MethodHead:
		if key == "" {
			return OpOther, key
		}
		return OpHead, key
	case http.MethodPut:
		if key == "" || q.Has("uploadId") || r.Header.Get("X-Amz-Copy-Source") != "" {
			return OpOther, key
		}
		if r.Header.Get("If-None-Match") != "" {
			return OpPutIfAbsent, key
		}
		return OpPut, key
	case http.MethodDelete:
		if key == "" || q.Has("uploadId") {
			return OpOther, key
		}
		return OpDelete, key
	}
	return OpOther, key
}

func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, key := Classify(r)
	fault, delay := p.Faults.Decide(op, key)
	switch fault {
	case FaultError:
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>injected fault</Message><Resource>%s</Resource></Error>`, r.URL.Path)
		return
	case FaultReset:
		reset(w)
		return
	case FaultSlow:
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	resp, err := p.forward(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if fault == FaultDrop {
		// The store has applied the request; read its whole answer so that
		// it is done, and lose it.
		_, _ = io.Copy(io.Discard, resp.Body)
		reset(w)
		return
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// hopHeaders are not passed on (RFC 9110 7.6.1).
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func (p *FaultProxy) forward(r *http.Request) (*http.Response, error) {
	u := *p.upstream
	u.Path, u.RawPath, u.RawQuery = r.URL.Path, r.URL.RawPath, r.URL.RawQuery
	// A request the client gave up on still reaches the store, as it
	// would over a real network.
	out, err := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, u.String(), r.Body)
	if err != nil {
		return nil, err
	}
	out.Header = r.Header.Clone()
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	out.Host = r.Host // the signature covers it
	out.ContentLength = r.ContentLength
	if r.ContentLength == 0 {
		out.Body = http.NoBody
	}
	return p.client.Do(out)
}

// reset closes the client's connection with a TCP reset.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("fault proxy: the connection cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
