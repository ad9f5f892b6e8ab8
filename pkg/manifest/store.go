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

// ErrConflict means another build published on top of the same previous
// build first.
var ErrConflict = errors.New("another build published first")

// ReadLatest follows the publish pointer and returns it with its manifest.
// It returns an error wrapping ErrNoBuild when nothing was published yet.
//
// A build that claimed a generation but died before rewriting latest.json
// is complete (its manifest is written before its claim), so ReadLatest
// rolls the pointer forward to it.
func ReadLatest(ctx context.Context, loc *storage.Location) (*Pointer, *Manifest, error) {
	data, err := loc.ReadFile(ctx, PointerKey)
	var p *Pointer
	switch {
	case storage.IsNotExist(err):
		p = &Pointer{}
	case err != nil:
		return nil, nil, fmt.Errorf("read %s: %w", PointerKey, err)
	default:
		if p, err = decodePointer(data); err != nil {
			// The claims below hold every published pointer: rebuild
			// latest.json from them.
			p = &Pointer{}
		}
	}
	rolled := false
	for {
		data, err := loc.ReadFile(ctx, GenerationKey(p.Generation+1))
		if storage.IsNotExist(err) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read publish claim: %w", err)
		}
		next, err := decodePointer(data)
		if err == nil && next.Generation != p.Generation+1 {
			// Each claim must advance the generation, or rolling forward
			// would read the same claim for ever.
			err = fmt.Errorf("it says generation %d", next.Generation)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: publish claim %s is damaged: %v", loc, GenerationKey(p.Generation+1), err)
		}
		p, rolled = next, true
	}
	if p.BuildID == "" {
		return nil, nil, fmt.Errorf("%s: %w", loc, ErrNoBuild)
	}
	if rolled {
		if data, err := Marshal(p); err == nil {
			_ = loc.WriteFile(ctx, PointerKey, data) // a repair; readers roll forward anyway
		}
	}
	m, err := Read(ctx, loc, p.Manifest)
	if err != nil {
		return p, nil, err
	}
	return p, m, nil
}

func decodePointer(data []byte) (*Pointer, error) {
	var p Pointer
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, err
	}
	if p.Manifest == "" || p.BuildID == "" {
		return nil, errors.New("no build_id or manifest key")
	}
	return &p, nil
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

// Publish makes m the published build, on top of the build prev names (nil
// for the first build):
//
//  1. the manifest is written;
//  2. generation prev+1 is claimed with a create-if-absent write, so of two
//     builds racing from the same previous build exactly one wins, and the
//     other gets ErrConflict having changed nothing visible;
//  3. latest.json is rewritten, last.
//
// Every object write is atomic, so readers see the old build or the new one.
// The returned pointer is non-nil once the claim is made, even with an error:
// the build is then published and its files must be kept.
func Publish(ctx context.Context, loc *storage.Location, m *Manifest, prev *Pointer, now time.Time) (*Pointer, error) {
	data, err := Marshal(m)
	if err != nil {
		return nil, err
	}
	key := Key(m.BuildID)
	if err := loc.WriteFile(ctx, key, data); err != nil {
		return nil, fmt.Errorf("write manifest: %w", err)
	}
	var gen int64 = 1
	if prev != nil {
		gen = prev.Generation + 1
	}
	p := &Pointer{Generation: gen, BuildID: m.BuildID, Manifest: key, PublishedAt: now.UTC()}
	if data, err = Marshal(p); err != nil {
		return nil, err
	}
	if err := loc.WriteFileIfAbsent(ctx, GenerationKey(gen), data); err != nil {
		if errors.Is(err, storage.ErrExists) {
			_ = loc.Delete(ctx, key)
			return nil, fmt.Errorf("%w: a build published generation %d of %s while this one ran; nothing was published — run the build again to build on top of it", ErrConflict, gen, loc)
		}
		return nil, fmt.Errorf("claim publish generation %d: %w", gen, err)
	}
	// From here on the build is published: readers roll forward to the claim.
	if err := loc.WriteFile(ctx, PointerKey, data); err != nil {
		return p, fmt.Errorf("build %s is published (claim %s) but %s could not be updated: %w", m.BuildID, GenerationKey(gen), PointerKey, err)
	}
	return p, nil
}
