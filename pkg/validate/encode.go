package validate

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"sort"
)

// A Partial can be encoded, so that the workers of a sharded build — other
// processes, other machines — each observe their own rows and a last step
// merges what they saw into results that are exactly those of one process
// observing every row. Encoding keeps everything a Partial holds: for a
// unique rule that is one 8-byte key and the first location of every
// distinct value the shard saw (plus its clipped text when the key is a
// hash), so cross-shard duplicates are found exactly, not estimated.

type wirePartial struct {
	Rows      int64
	FileIndex []int // sorted
	FileName  []string
	Rules     []wireRule
}

type wireRule struct {
	Failures, Nulls int64
	Samples         []wireSample
	Extreme         wireNumber
	ExtremeAt       uint64
	ExtremeText     string
	HasExtreme      bool
	Uniq            *wireUniq
}

type wireSample struct {
	At    uint64
	Value string
	Key   uint64
}

type wireNumber struct {
	Kind byte
	I    int64
	U    uint64
	F    float64
}

type wireUniq struct {
	// Keys, At and Text are the first occurrences, sorted by key so the
	// encoding does not depend on map order.
	Keys    []uint64
	At      []uint64
	Text    []int64
	Arena   []byte
	NonNull int64
	Dups    []wireSample
}

// MarshalBinary encodes p. The encoding is deterministic: equal partials
// give equal bytes.
func (p *Partial) MarshalBinary() ([]byte, error) {
	w := wirePartial{Rows: p.rows, Rules: make([]wireRule, len(p.rules))}
	for i := range p.files {
		w.FileIndex = append(w.FileIndex, i)
	}
	sort.Ints(w.FileIndex)
	for _, i := range w.FileIndex {
		w.FileName = append(w.FileName, p.files[i])
	}
	for i, st := range p.rules {
		r := wireRule{Failures: st.failures, Nulls: st.nulls, Samples: wireSamples(st.samples),
			Extreme:   wireNumber{Kind: st.extreme.kind, I: st.extreme.i, U: st.extreme.u, F: st.extreme.f},
			ExtremeAt: uint64(st.extremeAt), ExtremeText: st.extremeText, HasExtreme: st.hasExtreme}
		if u := st.uniq; u != nil {
			wu := &wireUniq{Arena: u.arena, NonNull: u.nonNull, Dups: wireSamples(u.dups)}
			wu.Keys = make([]uint64, 0, len(u.first))
			for k := range u.first {
				wu.Keys = append(wu.Keys, k)
			}
			sort.Slice(wu.Keys, func(a, b int) bool { return wu.Keys[a] < wu.Keys[b] })
			wu.At, wu.Text = make([]uint64, len(wu.Keys)), make([]int64, len(wu.Keys))
			for j, k := range wu.Keys {
				f := u.first[k]
				wu.At[j], wu.Text[j] = uint64(f.at), f.text
			}
			r.Uniq = wu
		}
		w.Rules[i] = r
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&w); err != nil {
		return nil, fmt.Errorf("encode validation state: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodePartial decodes a partial that MarshalBinary encoded for a
// validator with the same rules, so that it can be merged by Results.
func (v *Validator) DecodePartial(data []byte) (*Partial, error) {
	var w wirePartial
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&w); err != nil {
		return nil, fmt.Errorf("decode validation state: %w", err)
	}
	if len(w.Rules) != len(v.rules) {
		return nil, fmt.Errorf("decode validation state: it has %d rules, the build has %d; the shard ran with other rules", len(w.Rules), len(v.rules))
	}
	p := v.NewPartial()
	p.rows = w.Rows
	if len(w.FileName) != len(w.FileIndex) {
		return nil, fmt.Errorf("decode validation state: the file list is damaged")
	}
	for j, i := range w.FileIndex {
		p.files[i] = w.FileName[j]
	}
	for i, r := range w.Rules {
		st := &p.rules[i]
		st.failures, st.nulls, st.samples = r.Failures, r.Nulls, fromWire(r.Samples)
		st.extreme = number{kind: r.Extreme.Kind, i: r.Extreme.I, u: r.Extreme.U, f: r.Extreme.F}
		st.extremeAt, st.extremeText, st.hasExtreme = loc(r.ExtremeAt), r.ExtremeText, r.HasExtreme
		if (r.Uniq != nil) != (st.uniq != nil) {
			return nil, fmt.Errorf("decode validation state: rule %d is not the same rule; the shard ran with other rules", i+1)
		}
		if u := r.Uniq; u != nil {
			if len(u.At) != len(u.Keys) || len(u.Text) != len(u.Keys) {
				return nil, fmt.Errorf("decode validation state: rule %d is damaged", i+1)
			}
			st.uniq.arena, st.uniq.nonNull, st.uniq.dups = u.Arena, u.NonNull, fromWire(u.Dups)
			st.uniq.first = make(map[uint64]firstSeen, len(u.Keys))
			for j, k := range u.Keys {
				if t := u.Text[j]; t >= int64(len(u.Arena)) {
					return nil, fmt.Errorf("decode validation state: rule %d is damaged", i+1)
				}
				st.uniq.first[k] = firstSeen{at: loc(u.At[j]), text: u.Text[j]}
			}
		}
	}
	return p, nil
}

func wireSamples(s samples) []wireSample {
	out := make([]wireSample, len(s))
	for i, x := range s {
		out[i] = wireSample{At: uint64(x.at), Value: x.value, Key: x.key}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].At < out[b].At })
	return out
}

func fromWire(ws []wireSample) samples {
	var s samples
	for _, x := range ws {
		s = append(s, sample{at: loc(x.At), value: x.Value, key: x.Key})
	}
	return s
}
