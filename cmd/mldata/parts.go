package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/storage"
)

func init() { subcommands = append(subcommands, newPartsCmd) }

type partsFlags struct {
	split, build, format string
	verify               bool
}

func newPartsCmd() *cobra.Command {
	var f partsFlags
	cmd := &cobra.Command{
		Use:   "parts URI",
		Short: "Print the part files of a published build, for other tools to read",
		Long: `Parts prints the part files of the build published under URI (the output of
mldata build: it follows latest.json to the build's manifest), or of the build
--build names, one URI per line, so that DuckDB, Polars, pandas or Hugging
Face datasets read exactly that build (docs/reading.md). Parts of a build may
lie in older builds' folders (an incremental build reuses the parts of
unchanged source files), so list them rather than globbing a folder.

--format json prints the build id, the manifest's URI, the dataset digest and
every part with its split, rows, bytes and SHA-256. The digest is a SHA-256
over the build's part list (split, path, rows, bytes and SHA-256 of every
part, in manifest order; see docs/reading.md): record it with what you
trained, and 'mldata parts URI --build ID --verify' later proves the build
still holds the same bytes. --verify reads every listed part and fails,
naming the part, when its size or SHA-256 differs from the manifest.`,
		Example: `  mldata parts out/churn --split train
  mldata parts s3://ml/datasets/churn --format json
  mldata parts s3://ml/datasets/churn --build 20261127T012141856Z-95156b --verify`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runParts(cmd.Context(), args[0], f, cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.split, "split", "", "only this split's parts (default: every split)")
	fl.StringVar(&f.build, "build", "", "this build id instead of the published one")
	fl.StringVar(&f.format, "format", "uris", "output: uris (one per line) or json")
	fl.BoolVar(&f.verify, "verify", false, "read every listed part and check its size and SHA-256 against the manifest")
	return cmd
}

// partsOutput is what 'mldata parts --format json' prints.
type partsOutput struct {
	BuildID     string `json:"build_id"`
	ManifestURI string `json:"manifest_uri"`
	// Published is true when the build is the one latest.json points at.
	Published bool   `json:"published"`
	Digest    string `json:"digest"`
	Format    string `json:"format"`
	// Split is the --split filter; "" when every split is listed.
	Split string     `json:"split,omitempty"`
	Rows  int64      `json:"rows"`
	Bytes int64      `json:"bytes"`
	Parts []partInfo `json:"parts"`
}

type partInfo struct {
	URI    string `json:"uri"`
	Split  string `json:"split"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256,omitempty"`
}

func runParts(ctx context.Context, uri string, f partsFlags, stdout io.Writer) error {
	if f.format != "uris" && f.format != "json" {
		return usagef("--format %q: use uris or json", f.format)
	}
	loc, err := storage.Open(ctx, uri)
	if err != nil {
		return err
	}
	defer loc.Close()
	m, published, err := readBuild(ctx, loc, f.build)
	if err != nil {
		return err
	}
	parts, err := m.PartsOf(f.split)
	if err != nil {
		return usagef("%v", err)
	}
	if f.verify {
		for _, p := range parts {
			if err := verifyPart(ctx, loc, p); err != nil {
				return err
			}
		}
	}
	if f.format == "uris" {
		for _, p := range parts {
			if _, err := fmt.Fprintln(stdout, loc.URIOf(p.Path)); err != nil {
				return err
			}
		}
		return nil
	}
	out := partsOutput{
		BuildID: m.BuildID, ManifestURI: loc.URIOf(manifest.Key(m.BuildID)), Published: published,
		Digest: manifest.Digest(m), Format: m.Output.Format, Split: f.split, Parts: []partInfo{},
	}
	for _, p := range parts {
		out.Rows += p.Rows
		out.Bytes += p.Bytes
		out.Parts = append(out.Parts, partInfo{URI: loc.URIOf(p.Path), Split: p.Split, Rows: p.Rows, Bytes: p.Bytes, SHA256: p.SHA256})
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(data, '\n'))
	return err
}

// readBuild returns the manifest of build id under loc, or of the published
// build when id is "", and whether it is the published one.
func readBuild(ctx context.Context, loc *storage.Location, id string) (*manifest.Manifest, bool, error) {
	p, m, err := manifest.ReadLatest(ctx, loc)
	if id == "" {
		if err != nil {
			return nil, false, fmt.Errorf("%s: no dataset to list (%w); give the output of mldata build", loc, err)
		}
		return m, true, nil
	}
	published := err == nil && p.BuildID == id
	if published {
		return m, true, nil
	}
	m, err = manifest.Read(ctx, loc, manifest.Key(id))
	if storage.IsNotExist(err) {
		return nil, false, fmt.Errorf("%s: build %s has no manifest (%s); it never finished or was pruned by --history-limit", loc, id, manifest.Key(id))
	}
	if err != nil {
		return nil, false, err
	}
	if m.BuildID != id {
		return nil, false, fmt.Errorf("%s: %s records build id %q, not %q", loc, manifest.Key(id), m.BuildID, id)
	}
	return m, false, nil
}

// verifyPart reads one part and checks its size and SHA-256 against the
// manifest.
func verifyPart(ctx context.Context, loc *storage.Location, p manifest.Part) error {
	r, err := loc.NewHashingReader(ctx, p.Path)
	if err != nil {
		return fmt.Errorf("verify %s: %w", loc.URIOf(p.Path), err)
	}
	defer r.Close()
	if err := r.Drain(); err != nil {
		return fmt.Errorf("verify %s: %w", loc.URIOf(p.Path), err)
	}
	if r.N() != p.Bytes {
		return fmt.Errorf("verify %s: %d bytes, the manifest records %d: the part changed after the build", loc.URIOf(p.Path), r.N(), p.Bytes)
	}
	if p.SHA256 == "" {
		return nil // manifests written before parts were hashed record sizes only
	}
	if got := r.Sum(); got != p.SHA256 {
		return fmt.Errorf("verify %s: SHA-256 %s, the manifest records %s: the part changed after the build", loc.URIOf(p.Path), got, p.SHA256)
	}
	return nil
}
