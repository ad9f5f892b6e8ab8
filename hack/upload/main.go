// Command upload copies the files of a local folder to an object-storage
// prefix (any URI mldata reads: s3://…, gs://…, azblob://…, file://…), with
// credentials from the environment. The demo uses it to put the sample data
// into the local S3 server.
//
// Usage: go run ./hack/upload DIR URI
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mldata-io/mldata/pkg/storage"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: upload DIR URI")
		os.Exit(2)
	}
	if err := upload(context.Background(), os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "upload:", err)
		os.Exit(1)
	}
}

func upload(ctx context.Context, dir, uri string) error {
	loc, err := storage.OpenOutput(ctx, uri)
	if err != nil {
		return err
	}
	defer loc.Close()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		if err := loc.WriteFile(ctx, e.Name(), data); err != nil {
			return err
		}
		fmt.Printf("%s -> %s\n", filepath.Join(dir, e.Name()), loc.URIOf(e.Name()))
	}
	return nil
}
