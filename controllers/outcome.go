package controllers

import (
	"errors"
	"fmt"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/worker"
)

// The outcome model. Every reconcile of the three kinds ends in summarize,
// which sets status.observedGeneration and the kstatus conditions (Ready,
// Reconciling, Stalled) from what the reconcile returned:
//
//   - a stallingError: progress needs a change by the user (a refused or
//     invalid spec, a missing Secret or reference, bad input, a run that
//     failed permanently or used its last attempt). Stalled=True,
//     Reconciling=False, Ready=False: kstatus says Failed.
//   - a waitingError: the controller waits for something that changes by
//     itself (a running Job, the next attempt after a transient failure, a
//     referenced result not published yet). Reconciling=True,
//     Stalled=False: kstatus says InProgress.
//   - any other error (the API server, a store that did not answer): the
//     reconcile is retried with the controller's exponential backoff, and
//     Reconciling=True says so.
//   - nil: the resource is where its spec asks. Reconciling=False and
//     Stalled=False, and Ready as the last result set it (True): kstatus
//     says Current.
//
// observedGeneration is set on every path, so that kstatus never mistakes
// a decided resource for one whose spec was not looked at.

// stallingError is a problem only the user can solve.
type stallingError struct {
	reason string
	err    error
}

func (e *stallingError) Error() string { return e.err.Error() }
func (e *stallingError) Unwrap() error { return e.err }

func stalling(reason, format string, args ...any) error {
	return &stallingError{reason: reason, err: fmt.Errorf(format, args...)}
}

// waitingError is progress the controller waits for; after, when not 0,
// is when to look again (watches wake the reconcile for Jobs and
// references).
type waitingError struct {
	reason string
	err    error
	after  time.Duration
}

func (e *waitingError) Error() string { return e.err.Error() }
func (e *waitingError) Unwrap() error { return e.err }

func waiting(reason string, after time.Duration, format string, args ...any) error {
	return &waitingError{reason: reason, after: after, err: fmt.Errorf(format, args...)}
}

// transientError is an error with the condition reason to show while the
// reconcile is retried with backoff (e.g. SourceUnavailable).
type transientError struct {
	reason string
	err    error
}

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// idleError is a resource with nothing to do and no result yet: suspended,
// or waiting for its first scheduled time. It has no Ready condition (it
// is not ready, and nothing is failing or progressing), so kstatus says
// Current and `kubectl wait --for=condition=Ready` keeps waiting.
type idleError struct {
	reason, msg string
}

func (e *idleError) Error() string { return e.msg }

// summarize writes the outcome of a reconcile into conds and observed and
// returns the reconcile's result: res and err as the steps returned them,
// with stalling and waiting outcomes turned into requeues instead of
// errors.
func summarize(conds *[]metav1.Condition, observed *int64, gen int64, res ctrl.Result, err error) (ctrl.Result, error) {
	if errors.Is(err, errStale) {
		// Worked from an outdated copy: nothing to say, run again shortly.
		return ctrl.Result{RequeueAfter: staleRetry}, nil
	}
	*observed = gen
	// Ready keeps its value on some paths below, but it is always an
	// answer for this generation: kubectl wait and Argo CD ignore a
	// condition whose observedGeneration is behind the object's.
	if c := apimeta.FindStatusCondition(*conds, v1alpha1.ConditionReady); c != nil {
		c.ObservedGeneration = gen
	}
	set := func(typ string, s metav1.ConditionStatus, reason, msg string) {
		setCondition(conds, gen, typ, s, reason, msg)
	}
	// Ready keeps its value while work goes on (a published dataset stays
	// readable during a rebuild; a failed run stays failed while its retry
	// waits); it is Unknown until a first result.
	readyUnknown := func(reason, msg string) {
		if apimeta.FindStatusCondition(*conds, v1alpha1.ConditionReady) == nil {
			set(v1alpha1.ConditionReady, metav1.ConditionUnknown, reason, msg)
		}
	}
	var st *stallingError
	var w *waitingError
	var idle *idleError
	switch {
	case errors.As(err, &idle):
		if !apimeta.IsStatusConditionTrue(*conds, v1alpha1.ConditionReady) {
			apimeta.RemoveStatusCondition(conds, v1alpha1.ConditionReady)
		}
		set(v1alpha1.ConditionReconciling, metav1.ConditionFalse, idle.reason, idle.msg)
		set(v1alpha1.ConditionStalled, metav1.ConditionFalse, idle.reason, "")
		return res, nil
	case errors.As(err, &st):
		set(v1alpha1.ConditionReady, metav1.ConditionFalse, st.reason, st.Error())
		set(v1alpha1.ConditionStalled, metav1.ConditionTrue, st.reason, st.Error())
		set(v1alpha1.ConditionReconciling, metav1.ConditionFalse, st.reason, st.Error())
		return ctrl.Result{RequeueAfter: res.RequeueAfter}, nil
	case errors.As(err, &w):
		set(v1alpha1.ConditionReconciling, metav1.ConditionTrue, w.reason, w.Error())
		set(v1alpha1.ConditionStalled, metav1.ConditionFalse, w.reason, "")
		readyUnknown(w.reason, w.Error())
		after := w.after
		if res.RequeueAfter > 0 && (after == 0 || res.RequeueAfter < after) {
			after = res.RequeueAfter
		}
		return ctrl.Result{RequeueAfter: after}, nil
	case err != nil:
		reason := v1alpha1.ReasonReconcileError
		var te *transientError
		if errors.As(err, &te) {
			reason = te.reason
		}
		set(v1alpha1.ConditionReconciling, metav1.ConditionTrue, reason, err.Error())
		set(v1alpha1.ConditionStalled, metav1.ConditionFalse, reason, "")
		readyUnknown(reason, err.Error())
		return ctrl.Result{}, err
	}
	reason := v1alpha1.ReasonSucceeded
	if c := apimeta.FindStatusCondition(*conds, v1alpha1.ConditionReady); c != nil {
		reason = c.Reason
	}
	set(v1alpha1.ConditionReconciling, metav1.ConditionFalse, reason, "")
	set(v1alpha1.ConditionStalled, metav1.ConditionFalse, reason, "")
	return res, nil
}

// suspended is the outcome of a suspended resource with no running Job:
// Current when its last result is good or there is none yet (nothing is
// asked of the controller), Stalled when its last run failed (the failure
// stays until the user resumes and the run succeeds).
func suspended(conds []metav1.Condition) error {
	c := apimeta.FindStatusCondition(conds, v1alpha1.ConditionReady)
	if c == nil || c.Status != metav1.ConditionFalse {
		return &idleError{reason: v1alpha1.ReasonSuspended, msg: "spec.suspend is true: no Job starts"}
	}
	return stalling(c.Reason, "spec.suspend is true and the last run failed: %s", c.Message)
}

// Backoff of retries after a transient failure: retryBase after the first
// failure, doubling, at most retryCap.
const (
	defaultRetryBase = 30 * time.Second
	retryCap         = time.Hour
)

func retryDelay(base time.Duration, failed int32) time.Duration {
	if base <= 0 {
		base = defaultRetryBase
	}
	d := base
	for i := int32(1); i < failed && d < retryCap; i++ {
		d *= 2
	}
	return min(d, retryCap)
}

// attemptGate decides whether the run of inputs key may start now, from
// the attempts recorded in retry. It returns the number of failed attempts
// the new run follows (0 for a first run), or an outcome: nil with
// done=true when key's run succeeded, a waitingError while a retry is not
// due, a stallingError when key failed permanently or used its last
// attempt. last is the Ready condition that recorded the last failure.
func attemptGate(retry *v1alpha1.RetryStatus, key string, maxAttempts int32, last *metav1.Condition, now time.Time) (failed int32, done bool, err error) {
	if retry == nil || retry.Inputs != key {
		return 0, false, nil
	}
	if retry.FailedAttempts == 0 {
		return 0, true, nil
	}
	reason, msg := v1alpha1.ReasonJobFailed, "the last run failed"
	if last != nil && last.Status == metav1.ConditionFalse {
		reason, msg = last.Reason, last.Message
	}
	switch {
	case retry.FailedAttempts >= maxAttempts:
		return 0, false, stalling(v1alpha1.ReasonRetriesExhausted, "%d of %d attempts failed; the last: %s", retry.FailedAttempts, maxAttempts, msg)
	case retry.NextAttemptTime == nil:
		return 0, false, stalling(reason, "%s", msg)
	case now.Before(retry.NextAttemptTime.Time):
		return 0, false, waiting(v1alpha1.ReasonRetryScheduled, retry.NextAttemptTime.Sub(now),
			"attempt %d of %d failed (%s); the next starts at %s", retry.FailedAttempts, maxAttempts, msg, retry.NextAttemptTime.UTC().Format(time.RFC3339))
	}
	return retry.FailedAttempts, false, nil
}

// startAttempt records in retry that a run of key starts.
func startAttempt(retry **v1alpha1.RetryStatus, key string) {
	if *retry == nil || (*retry).Inputs != key {
		*retry = &v1alpha1.RetryStatus{Inputs: key}
		return
	}
	(*retry).NextAttemptTime = nil
}

// recordAttempt records a finished run of key: a success clears the
// failures, a failure counts and, when transient with attempts left,
// schedules the next attempt at end + backoff.
func recordAttempt(retry **v1alpha1.RetryStatus, key string, s *worker.Summary, maxAttempts int32, base time.Duration, end time.Time) {
	if key == "" {
		return
	}
	if *retry == nil || (*retry).Inputs != key {
		*retry = &v1alpha1.RetryStatus{Inputs: key}
	}
	r := *retry
	r.NextAttemptTime = nil
	if s.OK {
		r.FailedAttempts = 0
		return
	}
	r.FailedAttempts++
	if !s.Permanent && r.FailedAttempts < maxAttempts {
		t := metav1.NewTime(end.Add(retryDelay(base, r.FailedAttempts)))
		r.NextAttemptTime = &t
	}
}

// listingFailed records in retry a failed listing of the sources (err)
// and returns the outcome. Failed listings count against maxAttempts as
// failed runs do, with the same backoff: while attempts are left the
// resource waits (Reconciling) for the next listing at now + backoff;
// once maxAttempts listings in a row failed it stalls with the last
// error, and lists again only when something wakes it (a Secret or spec
// change, the next interval). A failure before the next listing was due
// (a watch woke the resource early) is not counted. fresh (a new spec
// generation) starts the count again.
func listingFailed(retry **v1alpha1.RetryStatus, fresh bool, err error, maxAttempts int32, base time.Duration, now time.Time) error {
	if *retry == nil {
		*retry = &v1alpha1.RetryStatus{}
	}
	r := *retry
	if fresh {
		r.FailedListings, r.NextListingTime = 0, nil
	}
	due := r.NextListingTime == nil || !now.Before(r.NextListingTime.Time)
	if due && r.FailedListings < maxAttempts {
		r.FailedListings++
		r.NextListingTime = nil
		if r.FailedListings < maxAttempts {
			t := metav1.NewTime(now.Add(retryDelay(base, r.FailedListings)))
			r.NextListingTime = &t
		}
	}
	if r.FailedListings >= maxAttempts {
		return stalling(v1alpha1.ReasonRetriesExhausted, "%d of %d listings of the sources failed; the last: %v", r.FailedListings, maxAttempts, err)
	}
	return waiting(ReasonSourceUnavailable, r.NextListingTime.Sub(now), "listing %d of %d of the sources failed: %v; the next at %s",
		r.FailedListings, maxAttempts, err, r.NextListingTime.UTC().Format(time.RFC3339))
}

// listingSucceeded clears the failed listings of retry.
func listingSucceeded(retry *v1alpha1.RetryStatus) {
	if retry != nil {
		retry.FailedListings, retry.NextListingTime = 0, nil
	}
}

// attemptRunID is the run id of an attempt: the first keeps the base id,
// retries add their number, so that each attempt gets its own Job.
func attemptRunID(base string, failed int32) string {
	if failed == 0 {
		return base
	}
	return fmt.Sprintf("%s-%d", base, failed+1)
}
