package manifest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mldata-io/mldata/pkg/storage"
)

// ErrNoBuild means the output location has no published build.
var ErrNoBuild = errors.New("no published build")

// ErrConflict means another build published on top of the same previous
// build first.
var ErrConflict = errors.New("another build published first")

// ErrUnknownOutcome means that a build's generation claim could neither be
// confirmed nor ruled out (see Publish). The build may be published; its
// files are kept.
var ErrUnknownOutcome = storage.ErrUnknownOutcome

// GenerationsDir is the folder of the generation claims.
const GenerationsDir = "generations/"

// ReadLatest returns the published build: the claim of the highest
// generation (or latest.json, when it names a higher one), and its
// manifest. It returns an error wrapping ErrNoBuild when nothing was
// published yet.
//
// latest.json is written after the claim, so it may lag behind (a build
// that died between the two, a lost response, a late write of an older
// pointer); the claims are the truth, and ReadLatest rewrites a lagging
// latest.json as a repair.
func ReadLatest(ctx context.Context, loc *storage.Location) (*Pointer, *Manifest, error) {
	data, err := loc.ReadFile(ctx, PointerKey)
	var p *Pointer
	switch {
	case storage.IsNotExist(err):
		p = &Pointer{}
	case err != nil:
		return nil, nil, fmt.Errorf("read %s: %w", PointerKey, err)
	default:
		if p, err = DecodePointer(data); err != nil {
			// The claims below hold every published pointer: rebuild
			// latest.json from them.
			p = &Pointer{}
		}
	}
	claims, err := ListClaims(ctx, loc)
	if err != nil {
		return nil, nil, err
	}
	rolled := false
	if n := len(claims); n > 0 && claims[n-1].Generation > p.Generation {
		key := GenerationKey(claims[n-1].Generation)
		data, err := loc.ReadFile(ctx, key)
		if err != nil {
			return nil, nil, fmt.Errorf("read publish claim: %w", err)
		}
		next, err := DecodePointer(data)
		if err == nil && next.Generation != claims[n-1].Generation {
			// A claim names its own generation; one that does not is
			// damaged, not a newer build.
			err = fmt.Errorf("it says generation %d", next.Generation)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: publish claim %s is damaged: %v", loc, key, err)
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

// Claim is one generation claim found by ListClaims.
type Claim struct {
	Generation int64
	Key        string
	ModTime    time.Time // the store's clock
}

// ListClaims lists the generation claims, lowest generation first.
func ListClaims(ctx context.Context, loc *storage.Location) ([]Claim, error) {
	objs, err := loc.ListDir(ctx, GenerationsDir)
	if err != nil {
		return nil, fmt.Errorf("list publish claims: %w", err)
	}
	var out []Claim
	for _, o := range objs {
		if g, ok := parseGenerationKey(o.Key); ok {
			out = append(out, Claim{Generation: g, Key: o.Key, ModTime: o.ModTime})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Generation < out[j].Generation })
	return out, nil
}

func parseGenerationKey(key string) (int64, bool) {
	name, ok := strings.CutPrefix(key, GenerationsDir)
	if !ok {
		return 0, false
	}
	name, ok = strings.CutSuffix(name, ".json")
	if !ok || strings.Contains(name, "/") {
		return 0, false
	}
	g, err := strconv.ParseInt(name, 10, 64)
	return g, err == nil && g > 0
}

// ReadClaim reads and decodes the claim at key.
func ReadClaim(ctx context.Context, loc *storage.Location, key string) (*Pointer, error) {
	data, err := loc.ReadFile(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read publish claim: %w", err)
	}
	p, err := DecodePointer(data)
	if err != nil {
		return nil, fmt.Errorf("%s: publish claim %s is damaged: %v", loc, key, err)
	}
	return p, nil
}

// DecodePointer decodes latest.json or a claim.
func DecodePointer(data []byte) (*Pointer, error) {
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

// PublishOptions tune Publish.
type PublishOptions struct {
	// Now stamps the claim (Pointer.PublishedAt); zero means time.Now.
	Now time.Time
	// Retry governs writes whose outcome is unknown; zero means
	// storage.DefaultRetry.
	Retry storage.Retry
}

// Publish makes m the published build on top of prev (nil for the first
// build), with PublishWith's protocol.
func Publish(ctx context.Context, loc *storage.Location, m *Manifest, prev *Pointer, now time.Time) (*Pointer, error) {
	return PublishWith(ctx, loc, m, prev, PublishOptions{Now: now})
}

// PublishWith makes m the published build, on top of the build prev names
// (nil for the first build). The protocol is described in the package
// comment; in short:
//
//  1. the manifest is written (a plain write, retried: it is the same
//     bytes every time);
//  2. generation prev+1 is claimed with a create-if-absent write whose
//     outcome is always read back (storage.Location.CreateOnce): the claim
//     holds this build's id, so finding it there means published, even
//     when the write's own response was a timeout or a 412 to the SDK's
//     resend of it; finding another build's claim means ErrConflict;
//  3. latest.json is rewritten, last, and read back after a failed write.
//
// Results:
//
//   - a pointer and nil: published;
//   - a pointer and an error: published (readers follow the claim), but
//     latest.json could not be updated; the error says so;
//   - nil and an error wrapping ErrConflict: another build took the
//     generation; this build's manifest was deleted and its parts may be;
//   - nil and any other error, ErrUnknownOutcome among them: this build may
//     or may not be published; nothing of it may be deleted (pruning
//     removes it later if no claim names it).
func PublishWith(ctx context.Context, loc *storage.Location, m *Manifest, prev *Pointer, opt PublishOptions) (*Pointer, error) {
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	if opt.Retry.Attempts == 0 {
		opt.Retry = storage.DefaultRetry
	}
	data, err := Marshal(m)
	if err != nil {
		return nil, err
	}
	key := Key(m.BuildID)
	if err := writeRetried(ctx, loc, key, data, opt.Retry); err != nil {
		return nil, fmt.Errorf("write manifest: %w", err)
	}
	var gen int64 = 1
	if prev != nil {
		gen = prev.Generation + 1
	}
	p := &Pointer{Generation: gen, BuildID: m.BuildID, Manifest: key, PublishedAt: opt.Now.UTC()}
	if data, err = Marshal(p); err != nil {
		return nil, err
	}
	if err := loc.CreateOnce(ctx, GenerationKey(gen), data, opt.Retry); err != nil {
		if errors.Is(err, storage.ErrExists) {
			// Another build's claim: ours can never be made now, so the
			// manifest is nobody's.
			_ = loc.Delete(context.WithoutCancel(ctx), key)
			return nil, fmt.Errorf("%w: a build published generation %d of %s while this one ran; nothing was published — run the build again to build on top of it", ErrConflict, gen, loc)
		}
		if errors.Is(err, storage.ErrUnknownOutcome) {
			return nil, fmt.Errorf("build %s may or may not be published: the claim of generation %d could not be read back (%w); its files are kept, and the next build or reader of %s finds out", m.BuildID, gen, err, loc)
		}
		return nil, fmt.Errorf("claim publish generation %d: %w", gen, err)
	}
	// From here on the build is published: readers roll forward to the claim.
	if err := writePointer(ctx, loc, p, data, opt.Retry); err != nil {
		return p, fmt.Errorf("build %s is published (claim %s) but %s could not be updated: %w", m.BuildID, GenerationKey(gen), PointerKey, err)
	}
	return p, nil
}

// writeRetried writes data to key, writing again after a failure: the
// write is idempotent.
func writeRetried(ctx context.Context, loc *storage.Location, key string, data []byte, r storage.Retry) error {
	var err error
	for n := 0; n < max(r.Attempts, 1); n++ {
		if err = loc.WriteFile(ctx, key, data); err == nil || ctx.Err() != nil {
			return err
		}
		if n+1 < r.Attempts && !r.Wait(ctx, n) {
			break
		}
	}
	return err
}

// writePointer writes latest.json and, after a failed write, reads it back:
// a pointer at this generation or a later one means done (the write landed,
// or a newer build published meanwhile).
func writePointer(ctx context.Context, loc *storage.Location, p *Pointer, data []byte, r storage.Retry) error {
	var err error
	for n := 0; n < max(r.Attempts, 1); n++ {
		if err = loc.WriteFile(ctx, PointerKey, data); err == nil {
			return nil
		}
		if got, rerr := loc.ReadFile(context.WithoutCancel(ctx), PointerKey); rerr == nil {
			if q, derr := DecodePointer(got); derr == nil && (q.Generation > p.Generation || q.Generation == p.Generation && q.BuildID == p.BuildID) {
				return nil
			}
		}
		if ctx.Err() != nil || n+1 < r.Attempts && !r.Wait(ctx, n) {
			break
		}
	}
	return err
}
