package testservers

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// Azurite's built-in development account. Both values are published in
// Azurite's documentation and accepted by every Azurite; they are not
// secrets.
const (
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// AzuriteServer is Azurite's Blob service.
type AzuriteServer struct {
	// Host is 127.0.0.1:PORT.
	Host string
	// Endpoint is the account's service URL, http://127.0.0.1:PORT/devstoreaccount1.
	Endpoint string
	Account  string
	Key      string
	*proc
}

// Azurite starts Azurite's Blob service for t, stopped when t ends. It
// skips t (or fails it under CI) when Azurite or node is not installed.
func Azurite(t testing.TB) *AzuriteServer {
	t.Helper()
	s, err := StartAzurite(t.TempDir())
	if err != nil {
		handleStartError(t, err)
	}
	attach(t, s)
	return s
}

// StartAzurite starts Azurite's Blob service with its workspace and log in
// dir; the caller stops it.
func StartAzurite(dir string) (*AzuriteServer, error) {
	bin, err := program("azurite", "azurite/node_modules/.bin/azurite-blob")
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("node"); err != nil {
		return nil, &NotInstalledError{Program: "node (for Azurite)", Path: "PATH"}
	}
	p, err := start(spec{
		name: "azurite",
		bin:  bin,
		args: func(addr string) []string {
			return []string{
				"--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(portOf(addr)),
				"--location", dir,
				// The SDK in go.mod may speak a newer service version than
				// this Azurite knows; the calls gocloud makes are old ones.
				"--skipApiVersionCheck",
				"--disableTelemetry",
			}
		},
		ready: func(addr string) string { return "successfully listens on http://" + addr },
	}, dir)
	if err != nil {
		return nil, err
	}
	return &AzuriteServer{
		Host: p.addr, Endpoint: "http://" + p.addr + "/" + AzuriteAccount,
		Account: AzuriteAccount, Key: AzuriteKey, proc: p,
	}, nil
}

// Name returns "azurite".
func (s *AzuriteServer) Name() string { return "azurite" }

// URI returns azblob://container/prefix?localemu=true&protocol=http&domain=127.0.0.1:PORT.
func (s *AzuriteServer) URI(container, prefix string) string {
	return fmt.Sprintf("azblob://%s/%s?localemu=true&protocol=http&domain=%s", container, strings.TrimPrefix(prefix, "/"), s.Host)
}

// Env returns the shared-key settings for the development account.
// azureblob reads them at the first azblob:// open of the process.
func (s *AzuriteServer) Env() []string {
	return []string{"AZURE_STORAGE_ACCOUNT=" + s.Account, "AZURE_STORAGE_KEY=" + s.Key}
}

// CreateBucket creates a container.
func (s *AzuriteServer) CreateBucket(ctx context.Context, name string) error {
	cred, err := container.NewSharedKeyCredential(s.Account, s.Key)
	if err != nil {
		return err
	}
	c, err := container.NewClientWithSharedKeyCredential(s.Endpoint+"/"+name, cred, nil)
	if err != nil {
		return fmt.Errorf("create container %q: %w", name, err)
	}
	if _, err := c.Create(ctx, nil); err != nil {
		return fmt.Errorf("create container %q: %w", name, err)
	}
	return nil
}
