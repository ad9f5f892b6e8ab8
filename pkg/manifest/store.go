package manifest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mldata-io/mldata/pkg/storage"
)

// ErrNoBuild means the output location has no published build.
var ErrNoBuild = errors.New("no published build")

// ReadLatest follows the publish pointer and returns it with its manifest.
// It returns an error wrapping ErrNoBuild when nothing was published yet.
func ReadLatest(ctx context.Context, loc *storage.Location) (*Pointer, *Manifest, error) {
	data, err := loc.ReadFile(ctx, PointerKey)
	if storage.IsNotExist(err) {
		return nil, nil, fmt.Errorf("%s: %w", loc, ErrNoBuild)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", PointerKey, err)
	}
	var p Pointer
	if err := json.Unmarshal(data, &p); err != nil || p.Manifest == "" {
		if err == nil {
			err = errors.New("no manifest key")
		}
		return nil, nil, fmt.Errorf("%s: %s is damaged (%v); rebuild with --full to republish", loc, PointerKey, err)
	}
	m, err := Read(ctx, loc, p.Manifest)
	if err != nil {
		return &p, nil, err
	}
	return &p, m, nil
}

// Read loads the manifest stored at key.
func Read(ctx context.Context, loc *storage.Location, key string) (*Manifest, error) {
	data, err := loc.ReadFile(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", key, err)
	}
	m, err := Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return m, nil
}

// Publish writes the manifest and then the pointer that makes it the
// published build. Until the pointer is written, readers keep seeing the
// previous build; each object write is atomic.
func Publish(ctx context.Context, loc *storage.Location, m *Manifest, now time.Time) (*Pointer, error) {
	data, err := Marshal(m)
	if err != nil {
		return nil, err
	}
	key := Key(m.BuildID)
	if err := loc.WriteFile(ctx, key, data); err != nil {
		return nil, fmt.Errorf("write manifest: %w", err)
	}
	p := &Pointer{BuildID: m.BuildID, Manifest: key, PublishedAt: now.UTC()}
	data, err = Marshal(p)
	if err != nil {
		return nil, err
	}
	if err := loc.WriteFile(ctx, PointerKey, data); err != nil {
		return nil, fmt.Errorf("write %s: %w", PointerKey, err)
	}
	return p, nil
}
