package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"gocloud.dev/blob"
	"gocloud.dev/blob/azureblob"
	"gocloud.dev/blob/gcsblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcp"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/option"
)

// ErrNoCredentials is returned by OpenWithCredentials when the credentials
// hold nothing that authenticates to the URI's store (e.g. a Secret with
// only AWS_REGION for an s3:// URI). The caller may then fall back to other
// means, such as letting a Job with its own identity read the store.
var ErrNoCredentials = errors.New("no credentials for this store")

// Credential keys: the environment variable names under which the same
// credentials reach a worker pod (envFrom of a Secret), so that one Secret
// serves both the controller and the Job.
const (
	AWSAccessKeyID     = "AWS_ACCESS_KEY_ID"
	AWSSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	AWSSessionToken    = "AWS_SESSION_TOKEN"
	AWSRegion          = "AWS_REGION"
	AWSDefaultRegion   = "AWS_DEFAULT_REGION"
	AWSEndpointURL     = "AWS_ENDPOINT_URL"
	AWSEndpointURLS3   = "AWS_ENDPOINT_URL_S3"

	AzureStorageAccount          = "AZURE_STORAGE_ACCOUNT"
	AzureStorageKey              = "AZURE_STORAGE_KEY"
	AzureStorageSASToken         = "AZURE_STORAGE_SAS_TOKEN"
	AzureStorageConnectionString = "AZURE_STORAGE_CONNECTION_STRING"
	AzureStorageDomain           = "AZURE_STORAGE_DOMAIN"
	AzureStorageProtocol         = "AZURE_STORAGE_PROTOCOL"
	AzureStorageIsCDN            = "AZURE_STORAGE_IS_CDN"
	AzureStorageIsLocalEmulator  = "AZURE_STORAGE_IS_LOCAL_EMULATOR"

	// GoogleCredentialsJSON holds a service-account JSON key. Any other key
	// whose value is a service-account JSON key (e.g. "key.json") is
	// accepted too.
	GoogleCredentialsJSON = "GOOGLE_APPLICATION_CREDENTIALS_JSON"
)

// OpenWithCredentials opens uri as a source, like Open, but authenticates
// to s3://, gs:// and azblob:// stores with creds — the data of a
// Kubernetes Secret, keyed by the environment variable names listed above
// — instead of the process's environment and identity. Nothing is read from
// or written to the environment for the credentials, so that concurrent
// opens with different credentials (a controller serving many namespaces)
// never see each other's. The URI's query parameters mean what they mean to
// Open; parameters that name files or profiles on the local machine
// (profile, web_identity_token_file, private_key_path) are refused, since
// with explicit credentials they would read the opener's files.
//
// Local and mem:// URIs ignore creds. When creds hold nothing for the
// URI's store, the error wraps ErrNoCredentials. Credential values never
// appear in errors.
func OpenWithCredentials(ctx context.Context, uri string, creds map[string]string) (*Location, error) {
	if creds == nil {
		creds = map[string]string{}
	}
	return openWith(ctx, uri, false, creds)
}

// openBucketWithCredentials opens the bucket of bucketURL (scheme, host and
// query of a remote URI) with explicit credentials.
func openBucketWithCredentials(ctx context.Context, bucketURL *url.URL, creds map[string]string) (*blob.Bucket, error) {
	switch bucketURL.Scheme {
	case "s3":
		return openS3(ctx, bucketURL, creds)
	case "azblob":
		return openAzure(ctx, bucketURL, creds)
	case "gs":
		return openGCS(ctx, bucketURL, creds)
	}
	return nil, fmt.Errorf("no credentials support for scheme %q", bucketURL.Scheme)
}

// credentialSecrets are the credential values to scrub from errors.
func credentialSecrets(creds map[string]string) []string {
	var out []string
	for k, v := range creds {
		switch k {
		case AWSRegion, AWSDefaultRegion, AWSEndpointURL, AWSEndpointURLS3, AzureStorageAccount,
			AzureStorageDomain, AzureStorageProtocol, AzureStorageIsCDN, AzureStorageIsLocalEmulator:
			continue
		}
		// Short values (flags, empty strings) would scrub ordinary words.
		if len(v) >= 8 {
			out = append(out, v)
		}
	}
	return out
}

// s3Options are the s3blob and aws query parameters, as s3blob.URLOpener
// and gocloud.dev/aws.V2ConfigFromURLParams read them.
type s3Options struct {
	region, endpoint              string
	usePathStyle, disableHTTPS    bool
	accelerate, dualStack, fips   bool
	anonymous                     bool
	role, roleSession, roleExtID  string
	roleDuration                  time.Duration
	rateLimit                     int64
	reqChecksum                   aws.RequestChecksumCalculation
	respChecksum                  aws.ResponseChecksumValidation
	sseType                       s3types.ServerSideEncryption
	kmsKeyID                      string
	hostnameImmutable, hasPathOpt bool
}

func parseS3Query(q url.Values) (*s3Options, error) {
	o := &s3Options{}
	for param, values := range q {
		v := values[0]
		var err error
		switch param {
		case "region":
			o.region = v
		case "endpoint":
			o.endpoint = v
		case "use_path_style", "s3ForcePathStyle":
			o.usePathStyle, err = strconv.ParseBool(v)
			o.hasPathOpt = true
		case "hostname_immutable":
			o.hostnameImmutable, err = strconv.ParseBool(v)
		case "disable_https":
			o.disableHTTPS, err = strconv.ParseBool(v)
		case "accelerate":
			o.accelerate, err = strconv.ParseBool(v)
		case "dualstack":
			o.dualStack, err = strconv.ParseBool(v)
		case "fips":
			o.fips, err = strconv.ParseBool(v)
		case "anonymous":
			o.anonymous, err = strconv.ParseBool(v)
		case "role":
			if !strings.HasPrefix(v, "arn:") {
				return nil, fmt.Errorf("query parameter role must be an ARN (arn:…), not %q", v)
			}
			o.role = v
		case "role_session_name":
			o.roleSession = v
		case "role_external_id":
			o.roleExtID = v
		case "role_duration":
			o.roleDuration, err = time.ParseDuration(v)
		case "rate_limiter_capacity":
			o.rateLimit, err = strconv.ParseInt(v, 10, 32)
		case "request_checksum_calculation":
			switch strings.ToLower(v) {
			case "when_supported":
				o.reqChecksum = aws.RequestChecksumCalculationWhenSupported
			case "when_required":
				o.reqChecksum = aws.RequestChecksumCalculationWhenRequired
			default:
				err = errors.New("want when_supported or when_required")
			}
		case "response_checksum_validation":
			switch strings.ToLower(v) {
			case "when_supported":
				o.respChecksum = aws.ResponseChecksumValidationWhenSupported
			case "when_required":
				o.respChecksum = aws.ResponseChecksumValidationWhenRequired
			default:
				err = errors.New("want when_supported or when_required")
			}
		case "ssetype":
			for _, t := range s3types.ServerSideEncryptionAes256.Values() {
				if strings.EqualFold(string(t), v) {
					o.sseType = t
				}
			}
			if o.sseType == "" {
				err = errors.New("not a server-side encryption type")
			}
		case "kmskeyid":
			o.kmsKeyID = v
		case "awssdk":
			// Selects the SDK version in gocloud; there is only v2.
		case "profile", "web_identity_token_file":
			return nil, fmt.Errorf("query parameter %s reads the local machine's AWS configuration, which does not apply with the credentials of a Secret; remove it", param)
		default:
			return nil, fmt.Errorf("unknown query parameter %q for s3://", param)
		}
		if err != nil {
			return nil, fmt.Errorf("query parameter %s=%q: %w", param, v, err)
		}
	}
	if o.role == "" && (o.roleSession != "" || o.roleExtID != "" || o.roleDuration != 0) {
		return nil, errors.New("query parameter role is required with role_session_name, role_external_id or role_duration")
	}
	return o, nil
}

// openS3 builds the S3 client from the query and creds alone: no shared
// config files, no environment, no instance metadata.
func openS3(ctx context.Context, u *url.URL, creds map[string]string) (*blob.Bucket, error) {
	o, err := parseS3Query(u.Query())
	if err != nil {
		return nil, err
	}
	if o.region == "" {
		o.region = firstOf(creds, AWSRegion, AWSDefaultRegion)
	}
	if o.endpoint == "" {
		o.endpoint = firstOf(creds, AWSEndpointURLS3, AWSEndpointURL)
	}
	var provider aws.CredentialsProvider
	switch {
	case o.anonymous:
		if o.role != "" {
			return nil, errors.New("query parameter role cannot be combined with anonymous=true")
		}
		provider = aws.AnonymousCredentials{}
	case creds[AWSAccessKeyID] != "" && creds[AWSSecretAccessKey] != "":
		provider = aws.NewCredentialsCache(awscreds.NewStaticCredentialsProvider(creds[AWSAccessKeyID], creds[AWSSecretAccessKey], creds[AWSSessionToken]))
	default:
		return nil, fmt.Errorf("%w: s3:// needs %s and %s", ErrNoCredentials, AWSAccessKeyID, AWSSecretAccessKey)
	}
	if o.region == "" {
		return nil, fmt.Errorf("no AWS region: add region=… to the URI's query or %s to the credentials", AWSRegion)
	}
	var limiter retry.RateLimiter = ratelimit.None
	if o.rateLimit > 0 {
		limiter = ratelimit.NewTokenRateLimit(uint(o.rateLimit))
	}
	newRetryer := func() aws.Retryer {
		return retry.NewStandard(func(so *retry.StandardOptions) { so.RateLimiter = limiter })
	}
	if o.role != "" {
		stsClient := sts.New(sts.Options{Region: o.region, Credentials: provider, Retryer: newRetryer(), HTTPClient: httpClientOf(ctx)})
		provider = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, o.role, func(ao *stscreds.AssumeRoleOptions) {
			if o.roleSession != "" {
				ao.RoleSessionName = o.roleSession
			}
			if o.roleExtID != "" {
				ao.ExternalID = aws.String(o.roleExtID)
			}
			if o.roleDuration != 0 {
				ao.Duration = o.roleDuration
			}
		}))
	}
	opts := s3.Options{
		Region:                     o.region,
		Credentials:                provider,
		Retryer:                    newRetryer(),
		UseAccelerate:              o.accelerate,
		UsePathStyle:               o.usePathStyle || (!o.hasPathOpt && o.hostnameImmutable),
		RequestChecksumCalculation: o.reqChecksum,
		ResponseChecksumValidation: o.respChecksum,
	}
	opts.EndpointOptions.DisableHTTPS = o.disableHTTPS
	if hc := guardedClient(ctx); hc != nil {
		opts.HTTPClient = hc
	}
	if o.dualStack {
		opts.EndpointOptions.UseDualStackEndpoint = aws.DualStackEndpointStateEnabled
	}
	if o.fips {
		opts.EndpointOptions.UseFIPSEndpoint = aws.FIPSEndpointStateEnabled
	}
	if o.endpoint != "" {
		opts.BaseEndpoint = aws.String(o.endpoint)
	}
	client := s3.New(opts)
	return s3blob.OpenBucket(ctx, client, u.Host, &s3blob.Options{
		EncryptionType:             o.sseType,
		KMSEncryptionID:            o.kmsKeyID,
		RequestChecksumCalculation: o.reqChecksum,
	})
}

// openAzure mirrors azureblob's environment handling with creds in place
// of the environment; the URL's query is parsed by azureblob itself.
func openAzure(ctx context.Context, u *url.URL, creds map[string]string) (*blob.Bucket, error) {
	account := creds[AzureStorageAccount]
	protocol := creds[AzureStorageProtocol]
	connStr := firstOf(creds, AzureStorageConnectionString, "AZURE_STORAGEBLOB_CONNECTIONSTRING")
	for part := range strings.SplitSeq(connStr, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		if account == "" && k == "AccountName" {
			account = v
		} else if protocol == "" && k == "DefaultEndpointsProtocol" {
			protocol = v
		}
	}
	isCDN, _ := strconv.ParseBool(creds[AzureStorageIsCDN])
	isEmu, _ := strconv.ParseBool(creds[AzureStorageIsLocalEmulator])
	key, sas := creds[AzureStorageKey], creds[AzureStorageSASToken]
	var makeClient func(azureblob.ServiceURL, azureblob.ContainerName) (*container.Client, error)
	switch {
	case account != "" && key != "":
		makeClient = func(svc azureblob.ServiceURL, name azureblob.ContainerName) (*container.Client, error) {
			cred, err := azblob.NewSharedKeyCredential(account, key)
			if err != nil {
				// The SDK's message names the key's encoding problem, not
				// the key.
				return nil, fmt.Errorf("%s: %w", AzureStorageKey, err)
			}
			containerURL, err := url.JoinPath(string(svc), string(name))
			if err != nil {
				return nil, err
			}
			return container.NewClientWithSharedKeyCredential(containerURL, cred, azureOptions(ctx))
		}
	case sas != "":
		makeClient = func(svc azureblob.ServiceURL, name azureblob.ContainerName) (*container.Client, error) {
			containerURL, err := url.JoinPath(string(svc), string(name))
			if err != nil {
				return nil, err
			}
			return container.NewClientWithNoCredential(containerURL, azureOptions(ctx))
		}
	case connStr != "":
		makeClient = func(_ azureblob.ServiceURL, name azureblob.ContainerName) (*container.Client, error) {
			return container.NewClientFromConnectionString(connStr, string(name), azureOptions(ctx))
		}
	default:
		return nil, fmt.Errorf("%w: azblob:// needs %s with %s or %s, or %s", ErrNoCredentials,
			AzureStorageAccount, AzureStorageKey, AzureStorageSASToken, AzureStorageConnectionString)
	}
	opener := &azureblob.URLOpener{
		MakeClient: makeClient,
		ServiceURLOptions: azureblob.ServiceURLOptions{
			AccountName: account, SASToken: sas, StorageDomain: creds[AzureStorageDomain],
			Protocol: protocol, IsCDN: isCDN, IsLocalEmulator: isEmu,
		},
	}
	return opener.OpenBucketURL(ctx, u)
}

// openGCS authenticates with a service-account JSON key from creds. Only
// the service_account type is accepted: other credential configurations
// (external_account, impersonation) can make the opener read local files
// or call URLs that the JSON names.
func openGCS(ctx context.Context, u *url.URL, creds map[string]string) (*blob.Bucket, error) {
	if _, ok := u.Query()["private_key_path"]; ok {
		return nil, errors.New("query parameter private_key_path reads a file of the local machine, which does not apply with the credentials of a Secret; remove it")
	}
	keyJSON := serviceAccountKey(creds)
	if keyJSON == nil {
		return nil, fmt.Errorf("%w: gs:// needs a service-account JSON key in %s (or in any key, e.g. key.json)", ErrNoCredentials, GoogleCredentialsJSON)
	}
	gc, err := google.CredentialsFromJSONWithTypeAndParams(ctx, keyJSON, google.ServiceAccount, google.CredentialsParams{
		Scopes:         []string{"https://www.googleapis.com/auth/cloud-platform"},
		UniverseDomain: u.Query().Get("universe_domain"),
	})
	if err != nil {
		// The parser's messages describe the JSON's shape, never its values.
		return nil, fmt.Errorf("service-account key: %w", err)
	}
	transport := gcp.DefaultTransport()
	if hc := guardedClient(ctx); hc != nil {
		transport = hc.Transport.(*http.Transport)
	}
	client, err := gcp.NewHTTPClient(transport, gc.TokenSource)
	if err != nil {
		return nil, err
	}
	var sa struct {
		ClientEmail string `json:"client_email"`
	}
	_ = json.Unmarshal(keyJSON, &sa)
	opts := gcsblob.Options{GoogleAccessID: sa.ClientEmail}
	if ud, err := gc.GetUniverseDomain(); err == nil && ud != "" {
		opts.ClientOptions = append(opts.ClientOptions, option.WithUniverseDomain(ud))
	}
	opener := &gcsblob.URLOpener{Client: client, TokenSource: gcp.CredentialsTokenSource(gc), Options: opts}
	return opener.OpenBucketURL(ctx, u)
}

// serviceAccountKey finds a service-account JSON key among creds:
// GOOGLE_APPLICATION_CREDENTIALS_JSON first, then any value that is one,
// in key order.
func serviceAccountKey(creds map[string]string) []byte {
	isKey := func(v string) bool {
		var k struct {
			Type       string `json:"type"`
			PrivateKey string `json:"private_key"`
		}
		return json.Unmarshal([]byte(v), &k) == nil && k.Type == string(google.ServiceAccount) && k.PrivateKey != ""
	}
	if v := creds[GoogleCredentialsJSON]; v != "" && isKey(v) {
		return []byte(v)
	}
	keys := make([]string, 0, len(creds))
	for k := range creds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if isKey(creds[k]) {
			return []byte(creds[k])
		}
	}
	return nil
}

// httpClientOf is the guarded HTTP client of ctx (see OpenGuarded) as the
// AWS SDK takes it, or nil for the SDK's own.
func httpClientOf(ctx context.Context) sts.HTTPClient {
	if hc := guardedClient(ctx); hc != nil {
		return hc
	}
	return nil
}

// azureOptions route an Azure client through the guarded HTTP client of
// ctx, if any.
func azureOptions(ctx context.Context) *container.ClientOptions {
	hc := guardedClient(ctx)
	if hc == nil {
		return nil
	}
	return &container.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: hc}}
}

func firstOf(m map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := m[k]; v != "" {
			return v
		}
	}
	return ""
}
