package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/robfig/cron/v3"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/jobs"
	"github.com/mldata-io/mldata/internal/worker"
	"github.com/mldata-io/mldata/pkg/storage"
)

// apiResolver resolves datasetBuildRef and datasetProfileRef from the API
// server, within one namespace.
type apiResolver struct {
	c  client.Reader
	ns string
	// revisions collects what each resolved reference points at, for the
	// inputs digest.
	revisions []string
}

func (r *apiResolver) BuildOutput(name string) (string, string, error) {
	var b v1alpha1.DatasetBuild
	if err := r.c.Get(context.Background(), types.NamespacedName{Namespace: r.ns, Name: name}, &b); err != nil {
		if apierrors.IsNotFound(err) {
			return "", "", fmt.Errorf("DatasetBuild %s: %w", name, worker.ErrNotFound)
		}
		return "", "", err
	}
	r.revisions = append(r.revisions, "build:"+name+"="+b.Status.BuildID)
	return string(b.Spec.Output.URI), b.Status.BuildID, nil
}

func (r *apiResolver) ProfileReport(name string) (string, error) {
	var p v1alpha1.DatasetProfile
	if err := r.c.Get(context.Background(), types.NamespacedName{Namespace: r.ns, Name: name}, &p); err != nil {
		if apierrors.IsNotFound(err) {
			return "", fmt.Errorf("DatasetProfile %s: %w", name, worker.ErrNotFound)
		}
		return "", err
	}
	if p.Status.ReportURI == "" {
		return "", fmt.Errorf("DatasetProfile %s: %w", name, worker.ErrNotReady)
	}
	r.revisions = append(r.revisions, "profile:"+name+"="+p.Status.ReportURI)
	return p.Status.ReportURI, nil
}

// resolvedInput is one input of a run, resolved, with whether the
// controller should list it (a plain URI) and the Secret it needs.
type resolvedInput struct {
	in     *worker.Input
	byURI  bool
	secret string
}

// inputsDigest identifies what a run would read: the resolved inputs, the
// build ids and reports references point at, and, for plain URIs, their
// listing, made with the credentials of the input's Secret (read through
// secrets) when it has one. provable is false when a URI could not be
// listed (no usable credentials, or listing failed): unchanged inputs then
// cannot be proven and the run is not skipped. err is a stalling error
// when the operator refuses an input (an endpoint in its Secret outside the
// URI policy): no Job is started for what its worker would refuse too.
func inputsDigest(ctx context.Context, l SourceLister, secrets client.Reader, ns string, revisions []string, ins []resolvedInput) (digest string, provable bool, err error) {
	parts := append([]string{}, revisions...)
	sort.Strings(parts)
	provable = true
	for _, ri := range ins {
		parts = append(parts, mustJSON(ri.in))
		if !ri.byURI {
			continue
		}
		if l == nil {
			provable = false
			continue
		}
		objs, lerr := listSource(ctx, l, secrets, ns, ri.in.URI, ri.in.Include, ri.secret)
		if lerr != nil {
			var le *storage.ListLimitError
			if stall := refusal(lerr); stall != nil && !errors.As(lerr, &le) {
				return "", false, stall
			}
			// Not listable by the manager (no Secret, too many
			// objects, the store failing): the run is not skipped.
			provable = false
			continue
		}
		parts = append(parts, listingDigest(objs))
	}
	return jobs.ShortID(parts...), provable, nil
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// referenceOutcome turns a reference error into the reconcile's outcome: a
// reference that does not exist stalls (a user must create it or fix the
// name), one without a result yet waits (its watch wakes the referrer),
// and any other error, e.g. from the API server, is returned as it is, to
// be retried with backoff.
func referenceOutcome(err error) error {
	switch {
	case errors.Is(err, worker.ErrNotFound):
		return &stallingError{reason: v1alpha1.ReasonReferenceNotFound, err: err}
	case errors.Is(err, worker.ErrNotReady):
		return &waitingError{reason: v1alpha1.ReasonReferenceNotReady, err: err}
	}
	return fmt.Errorf("resolving references: %w", err)
}

// parseSchedule parses a cron schedule with an optional time zone, as
// CronJobs do.
func parseSchedule(s v1alpha1.CronSchedule, tz v1alpha1.TimeZone) (cron.Schedule, error) {
	spec := string(s)
	if tz != "" {
		if _, err := time.LoadLocation(string(tz)); err != nil {
			return nil, fmt.Errorf("timeZone %q: %w", tz, err)
		}
		spec = "CRON_TZ=" + string(tz) + " " + spec
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", s, err)
	}
	return sched, nil
}

// maxMissed caps the scheduled times looked at between two reconciles, as
// the CronJob controller does, so that a long outage does not loop.
const maxMissed = 100

// mostRecent returns the latest scheduled time in (earliest, now], whether
// there is one, and the next time after now.
func mostRecent(sched cron.Schedule, earliest, now time.Time) (last time.Time, ok bool, next time.Time) {
	n := 0
	for t := sched.Next(earliest); !t.After(now); t = sched.Next(t) {
		last, ok = t, true
		if n++; n > maxMissed {
			// Jump close to now: only the last missed run matters.
			earliest = now.Add(-time.Minute)
			for t2 := sched.Next(earliest); !t2.After(now); t2 = sched.Next(t2) {
				last = t2
			}
			break
		}
	}
	return last, ok, sched.Next(now)
}
