package worker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/mldata-io/mldata/api/v1alpha1"
)

// Resource is one resource of a manifest file: exactly one field is set.
type Resource struct {
	Build   *v1alpha1.DatasetBuild
	Profile *v1alpha1.DatasetProfile
	Drift   *v1alpha1.DriftCheck
}

// Kind returns the resource's kind.
func (r Resource) Kind() string {
	switch {
	case r.Build != nil:
		return KindDatasetBuild
	case r.Profile != nil:
		return KindDatasetProfile
	}
	return KindDriftCheck
}

// Name returns the resource's metadata.name.
func (r Resource) Name() string {
	switch {
	case r.Build != nil:
		return r.Build.Name
	case r.Profile != nil:
		return r.Profile.Name
	}
	return r.Drift.Name
}

// ParseManifests reads YAML (or JSON) documents of the three kinds. Unknown
// fields are errors, so that a typo shows up before the manifest goes to
// Git; the API server's CEL rules and defaults are not applied (the worker
// applies the same defaults itself).
func ParseManifests(data []byte) ([]Resource, error) {
	rd := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []Resource
	for i := 1; ; i++ {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if tm.APIVersion != v1alpha1.GroupVersion.String() {
			return nil, fmt.Errorf("document %d: apiVersion %q: mldata runs %s resources", i, tm.APIVersion, v1alpha1.GroupVersion)
		}
		var r Resource
		var obj metav1.Object
		switch tm.Kind {
		case KindDatasetBuild:
			r.Build = &v1alpha1.DatasetBuild{}
			err, obj = yaml.UnmarshalStrict(doc, r.Build), r.Build
		case KindDatasetProfile:
			r.Profile = &v1alpha1.DatasetProfile{}
			err, obj = yaml.UnmarshalStrict(doc, r.Profile), r.Profile
		case KindDriftCheck:
			r.Drift = &v1alpha1.DriftCheck{}
			err, obj = yaml.UnmarshalStrict(doc, r.Drift), r.Drift
		default:
			return nil, fmt.Errorf("document %d: kind %q: use DatasetBuild, DatasetProfile or DriftCheck", i, tm.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("document %d (%s): %w", i, tm.Kind, err)
		}
		if obj.GetName() == "" {
			return nil, fmt.Errorf("document %d (%s): metadata.name is required", i, tm.Kind)
		}
		for _, o := range out {
			if o.Kind() == r.Kind() && o.Name() == r.Name() {
				return nil, fmt.Errorf("document %d: %s %q appears twice", i, tm.Kind, r.Name())
			}
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, errors.New("no resources in the manifest")
	}
	return out, nil
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.Bytes()
}

// Resolver finds what references point at. The controller resolves them
// from the API server; RunLocal from the resources of the same file.
type Resolver interface {
	// BuildOutput returns the output.uri of the named DatasetBuild and its
	// published build id ("" when none).
	BuildOutput(name string) (uri, buildID string, err error)
	// ProfileReport returns the reportURI of the named DatasetProfile.
	ProfileReport(name string) (string, error)
}

// ErrNotReady is wrapped by Resolver errors for references that exist but
// have not published a result yet.
var ErrNotReady = errors.New("has not published a result yet")

// ErrNotFound is wrapped by Resolver errors for references to resources that
// do not exist.
var ErrNotFound = errors.New("not found")

// ResolveProfileSource resolves a DatasetProfile's source into an Input.
func ResolveProfileSource(src v1alpha1.ProfileSource, r Resolver) (*Input, error) {
	return resolve(string(src.URI), src.Format, src.Include, src.Split, src.DatasetBuildRef, nil, r)
}

// ResolveDriftInput resolves one side of a DriftCheck into an Input.
func ResolveDriftInput(in v1alpha1.DriftInput, r Resolver) (*Input, error) {
	return resolve(string(in.URI), in.Format, in.Include, in.Split, in.DatasetBuildRef, in.DatasetProfileRef, r)
}

func resolve(uri string, f v1alpha1.SourceFormat, include []string, sp v1alpha1.SplitName, b *v1alpha1.DatasetBuildRef, p *v1alpha1.DatasetProfileRef, r Resolver) (*Input, error) {
	switch {
	case b != nil:
		out, published, err := r.BuildOutput(string(b.Name))
		if err != nil {
			return nil, err
		}
		in := &Input{URI: out, Split: string(b.Split), BuildID: b.BuildID}
		if in.Split == "" {
			in.Split = string(sp)
		}
		if published == "" {
			return nil, fmt.Errorf("DatasetBuild %s: %w", b.Name, ErrNotReady)
		}
		return in, nil
	case p != nil:
		rep, err := r.ProfileReport(string(p.Name))
		if err != nil {
			return nil, err
		}
		return &Input{URI: rep, Profile: true}, nil
	case uri != "":
		return &Input{URI: uri, Format: string(f), Include: include, Split: string(sp)}, nil
	}
	return nil, errors.New("the input needs uri, datasetBuildRef or datasetProfileRef")
}

// Ran is one resource after RunLocal, with the status the controller would
// write, and the error of its run if it failed.
type Ran struct {
	Resource
	Err error
}

// RunLocal runs every resource in process, builds first, then profiles,
// then drift checks (so that references within the set resolve), and fills
// each one's status as the controller would. It stops at nothing: a failed
// resource is reported in its status and Err, and the ones that depend on it
// fail with ReferenceNotReady.
func RunLocal(ctx context.Context, rs []Resource, opt Options) []Ran {
	res := &localResolver{}
	var out []Ran
	gen := func(m metav1.ObjectMeta) int64 {
		if m.Generation == 0 {
			return 1
		}
		return m.Generation
	}
	for _, r := range rs {
		if r.Build == nil {
			continue
		}
		b := r.Build
		var br *BuildResult
		var err error
		if Shards(&b.Spec) > 1 {
			br, err = runSharded(ctx, b.Name, &b.Spec, opt)
		} else {
			br, err = RunBuild(ctx, &b.Spec, opt)
		}
		if err != nil {
			ApplyBuild(&b.Status, gen(b.ObjectMeta), terminated(FailureSummary(KindDatasetBuild, err)), nil, opt.now())
		} else {
			ApplyBuild(&b.Status, gen(b.ObjectMeta), terminated(br.Summary()), br.Result.Manifest, opt.now())
		}
		res.builds = append(res.builds, b)
		out = append(out, Ran{Resource: r, Err: err})
	}
	for _, r := range rs {
		if r.Profile == nil {
			continue
		}
		p := r.Profile
		var pr *ProfileResult
		src, err := ResolveProfileSource(p.Spec.Source, res)
		if err == nil {
			pr, err = RunProfile(ctx, &Task{Kind: KindDatasetProfile, Name: p.Name, Profile: &p.Spec, Source: src}, opt)
		}
		if err != nil {
			ApplyProfile(&p.Status, gen(p.ObjectMeta), terminated(FailureSummary(KindDatasetProfile, referenceReason(err))), opt.now())
		} else {
			ApplyProfile(&p.Status, gen(p.ObjectMeta), terminated(pr.Summary()), opt.now())
		}
		res.profiles = append(res.profiles, p)
		out = append(out, Ran{Resource: r, Err: err})
	}
	for _, r := range rs {
		if r.Drift == nil {
			continue
		}
		d := r.Drift
		var dr *DriftResult
		base, err := ResolveDriftInput(d.Spec.Baseline, res)
		var cur *Input
		if err == nil {
			cur, err = ResolveDriftInput(d.Spec.Current, res)
		}
		if err == nil {
			dr, err = RunDrift(ctx, &Task{Kind: KindDriftCheck, Name: d.Name, Drift: &d.Spec, Baseline: base, Current: cur}, opt)
		}
		now := metav1.NewTime(opt.now())
		if err != nil {
			ApplyDrift(&d.Status, gen(d.ObjectMeta), terminated(FailureSummary(KindDriftCheck, referenceReason(err))), "", nil, opt.now())
		} else {
			d.Status.LastScheduleTime = &now
			ApplyDrift(&d.Status, gen(d.ObjectMeta), terminated(dr.Summary()), "", nil, opt.now())
		}
		out = append(out, Ran{Resource: r, Err: err})
	}
	return out
}

// terminated returns the summary as the controller reads it back from a
// Job's termination message: encoded within 4 KiB and decoded, so that
// `mldata run` shows the status the cluster would (the same bounded lists).
// A summary that cannot be encoded stays as it is; the worker would fail to
// write it, and the controller would fall back to the Job's own reason.
func terminated(s *Summary) *Summary {
	data, err := s.Encode()
	if err != nil {
		return s
	}
	back, err := DecodeSummary(data)
	if err != nil {
		return s
	}
	return back
}

// referenceReason gives reference errors their condition reason.
func referenceReason(err error) error {
	var f *Failure
	switch {
	case errors.As(err, &f):
		return err
	case errors.Is(err, ErrNotFound):
		return &Failure{Reason: v1alpha1.ReasonReferenceNotFound, Err: err}
	case errors.Is(err, ErrNotReady):
		return &Failure{Reason: v1alpha1.ReasonReferenceNotReady, Err: err}
	}
	return err
}

type localResolver struct {
	builds   []*v1alpha1.DatasetBuild
	profiles []*v1alpha1.DatasetProfile
}

func (l *localResolver) BuildOutput(name string) (string, string, error) {
	for _, b := range l.builds {
		if b.Name == name {
			return string(b.Spec.Output.URI), b.Status.BuildID, nil
		}
	}
	return "", "", fmt.Errorf("DatasetBuild %s is %w in the manifest", name, ErrNotFound)
}

func (l *localResolver) ProfileReport(name string) (string, error) {
	for _, p := range l.profiles {
		if p.Name == name {
			if p.Status.ReportURI == "" {
				return "", fmt.Errorf("DatasetProfile %s: %w", name, ErrNotReady)
			}
			return p.Status.ReportURI, nil
		}
	}
	return "", fmt.Errorf("DatasetProfile %s is %w in the manifest", name, ErrNotFound)
}

// StatusYAML renders a resource's kind, name and status as the controller
// would write them, for `mldata run`.
func StatusYAML(r Resource) ([]byte, error) {
	var status any
	switch {
	case r.Build != nil:
		status = r.Build.Status
	case r.Profile != nil:
		status = r.Profile.Status
	default:
		status = r.Drift.Status
	}
	doc := struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   map[string]string `json:"metadata"`
		Status     any               `json:"status"`
	}{v1alpha1.GroupVersion.String(), r.Kind(), map[string]string{"name": r.Name()}, status}
	return yaml.Marshal(doc)
}
