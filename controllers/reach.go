package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mldata-io/mldata/internal/worker"
	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/storage"
)

// What the manager may reach in users' storage, and with which identity.
//
// The manager never uses its own identity on a user's data. It opens a
// remote store (s3, gs, azblob) only with the credentials of the Secret
// the resource names, and only at an endpoint the URI policy allows; every
// connection is checked again after name resolution. A resource without a
// Secret is not listed by the manager: its change detection runs in the
// Job, under the Job's service account, and the worker ends in seconds,
// without reading data, when nothing changed. Local schemes (file, mem)
// involve no identity; they are refused unless the administrator allows
// them (--allowed-schemes), which only a single-user or test install does.
//
// Every storage call the manager makes has a deadline (StorageTimeout);
// listings stop at MaxListObjects entries and manifests at
// MaxManifestBytes; errors reach conditions as storage.SafeMessage gives
// them (the store's code and message, never a response body).

// Defaults of Reach.
const (
	DefaultStorageTimeout       = 30 * time.Second
	DefaultMaxListObjects       = 100_000
	DefaultMaxManifestBytes     = 16 << 20
	DefaultWorkerServiceAccount = "mldata-worker"
)

// Condition reasons of refusals and limits.
const (
	// ReasonURIRefused: a URI of the spec is refused by the URI policy.
	ReasonURIRefused = worker.ReasonURIRefused
	// ReasonServiceAccountNotAllowed: spec.serviceAccountName names an
	// account the operator does not let resources use.
	ReasonServiceAccountNotAllowed = "ServiceAccountNotAllowed"
	// ReasonLimitExceeded: a listing or a manifest is larger than the
	// manager reads.
	ReasonLimitExceeded = "LimitExceeded"
)

// FlagAllowedServiceAccounts is the manager flag of the service account
// allow-list, named in refusals.
const FlagAllowedServiceAccounts = "--allowed-service-accounts"

// Reach bounds what the manager reaches on behalf of a resource. The zero
// value is the secure default: object-store schemes only, no internal
// endpoints, the default deadline and limits, and only the dedicated
// worker service account.
type Reach struct {
	// Policy decides the URIs and endpoints; nil is storage.DefaultPolicy.
	Policy *storage.Policy
	// StorageTimeout bounds each storage call (open plus list, or open
	// plus read); 0 is DefaultStorageTimeout.
	StorageTimeout time.Duration
	// MaxListObjects bounds a listing's entries; 0 is the default.
	MaxListObjects int
	// MaxManifestBytes bounds a manifest read; 0 is the default.
	MaxManifestBytes int64
	// ServiceAccounts a resource may name in spec.serviceAccountName; nil
	// is DefaultWorkerServiceAccount alone. A resource that names none
	// runs as its namespace's default account (its token not mounted).
	ServiceAccounts []string
	// Limits are the ceilings, and the defaults, of spec.limits (the
	// manager's --max-* flags); zero fields are format's defaults.
	Limits format.Limits
}

func (r Reach) policy() *storage.Policy {
	if r.Policy == nil {
		return storage.DefaultPolicy()
	}
	return r.Policy
}

func (r Reach) timeout() time.Duration {
	if r.StorageTimeout <= 0 {
		return DefaultStorageTimeout
	}
	return r.StorageTimeout
}

func (r Reach) maxList() int {
	if r.MaxListObjects <= 0 {
		return DefaultMaxListObjects
	}
	return r.MaxListObjects
}

func (r Reach) maxManifest() int64 {
	if r.MaxManifestBytes <= 0 {
		return DefaultMaxManifestBytes
	}
	return r.MaxManifestBytes
}

func (r Reach) serviceAccounts() []string {
	if r.ServiceAccounts == nil {
		return []string{DefaultWorkerServiceAccount}
	}
	return r.ServiceAccounts
}

// WorkerEnv is the policy as the worker's environment (see
// storage.PolicyFromEnv), so that the Job refuses what the manager does.
func (r Reach) WorkerEnv() map[string]string { return r.policy().Env() }

// admissionError says why the manager will not run a resource; the
// resource is Stalled with its reason until its spec or the operator's
// flags change.
type admissionError struct {
	reason string
	err    error
}

func (e *admissionError) Error() string { return e.err.Error() }
func (e *admissionError) Unwrap() error { return e.err }

// admit checks a resource's own URIs and service account against the
// operator's settings. The error, an *admissionError, names the field and
// the flag that would allow it.
func (r Reach) admit(uris []worker.URIField, serviceAccount string) error {
	if err := worker.CheckURIs(r.policy(), uris); err != nil {
		return &admissionError{reason: ReasonURIRefused, err: errors.Unwrap(err)}
	}
	if serviceAccount != "" && !slices.Contains(r.serviceAccounts(), serviceAccount) {
		allowed := strings.Join(r.serviceAccounts(), ", ")
		if allowed == "" {
			allowed = "none"
		}
		return &admissionError{reason: ReasonServiceAccountNotAllowed, err: fmt.Errorf(
			"spec.serviceAccountName %q is not allowed by this operator (allowed: %s; manager flag %s); remove the field to run as the namespace's default account, or use an allowed one",
			serviceAccount, allowed, FlagAllowedServiceAccounts)}
	}
	return nil
}

// refusal turns err into a stalling error when it is a refusal that only
// a change of the spec or of the manager's flags can lift: a URI or service
// account outside the policy, or a source over a limit. Other errors
// (and nil) give nil.
func refusal(err error) error {
	var ae *admissionError
	var le *storage.ListLimitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae):
		return &stallingError{reason: ae.reason, err: ae}
	case storage.IsRefused(err):
		return &stallingError{reason: ReasonURIRefused, err: err}
	case errors.As(err, &le):
		return &stallingError{reason: ReasonLimitExceeded, err: err}
	}
	return nil
}

// remoteScheme reports URIs of object stores, which need an identity.
func remoteScheme(uri string) bool {
	for _, s := range []string{"s3://", "gs://", "azblob://"} {
		if strings.HasPrefix(strings.ToLower(uri), s) {
			return true
		}
	}
	return false
}

// StorageLister lists sources for change detection, within Reach: with the
// credentials of the source's Secret only, at allowed endpoints, within the
// deadline and the object limit. A remote source without a Secret is
// errNotListable: the Job detects changes itself.
type StorageLister struct{ Reach Reach }

// List lists uri.
func (s StorageLister) List(ctx context.Context, uri string, include []string, creds map[string]string) ([]storage.Object, error) {
	ctx, cancel := context.WithTimeout(ctx, s.Reach.timeout())
	defer cancel()
	loc, err := s.Reach.open(ctx, uri, creds)
	if err != nil {
		return nil, err
	}
	defer loc.Close()
	loc.MaxListEntries = s.Reach.maxList()
	objs, err := loc.List(ctx, include)
	if err != nil {
		return nil, storeError(err)
	}
	return objs, nil
}

// open opens uri as a source for the manager: remote stores with creds
// only, through the guarded opener.
func (r Reach) open(ctx context.Context, uri string, creds map[string]string) (*storage.Location, error) {
	var loc *storage.Location
	var err error
	switch {
	case remoteScheme(uri) && creds == nil:
		return nil, errNotListable
	case remoteScheme(uri):
		loc, err = storage.OpenGuarded(ctx, r.policy(), "", uri, creds, "")
	default:
		if err = r.policy().CheckURI("", uri); err == nil {
			loc, err = storage.Open(ctx, uri)
		}
	}
	if err != nil {
		return nil, storeError(err)
	}
	return loc, nil
}

// readManifest reads a finished build's manifest with the credentials of
// the output's Secret (read through secrets), within Reach. A remote output
// without a Secret is not read: status then keeps the worker's summary.
func (r Reach) readManifest(ctx context.Context, secrets client.Reader, ns, secret, uri string) (*manifest.Manifest, error) {
	base, key, err := worker.SplitManifestURI(uri)
	if err != nil {
		return nil, err
	}
	var creds map[string]string
	if secret != "" {
		if creds, err = secretCredentials(ctx, secrets, ns, secret); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	loc, err := r.open(ctx, base, creds)
	if err != nil {
		return nil, err
	}
	defer loc.Close()
	data, err := loc.ReadFileLimit(ctx, key, r.maxManifest(), "--max-manifest-bytes")
	if err != nil {
		return nil, storeError(err)
	}
	return manifest.Unmarshal(data)
}

// manifestReader is readManifest for one resource, as the reconcilers'
// ReadManifest hook takes it.
func (r Reach) manifestReader(secrets client.Reader, ns, secret string) func(context.Context, string) (*manifest.Manifest, error) {
	return func(ctx context.Context, uri string) (*manifest.Manifest, error) {
		return r.readManifest(ctx, secrets, ns, secret, uri)
	}
}

// safeError carries a storage error whose message is fit for a condition
// (storage.SafeMessage) while errors.Is/As still see the original.
type safeError struct {
	msg string
	err error
}

func (e *safeError) Error() string { return e.msg }
func (e *safeError) Unwrap() error { return e.err }

// storeError makes err's message safe for status; sentinel errors of this
// package pass unchanged.
func storeError(err error) error {
	if err == nil || errors.Is(err, errNotListable) {
		return err
	}
	return &safeError{msg: storage.SafeMessage(err, 2048), err: err}
}

// manifestUnreadWarning is the status warning of a published build whose
// manifest the manager did not read (too large, unreachable in time): its
// status then holds the Job's summary only.
func manifestUnreadWarning(err error) string {
	return "the manager did not read the build's manifest, so status lists no schema columns or changes: " + err.Error()
}
