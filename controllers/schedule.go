package controllers

import (
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mldata-io/mldata/api/v1alpha1"
)

// scheduleSpec is the schedule part of a DriftCheck's or DatasetProfile's
// spec, with the resource's creation time (the start of its schedule).
type scheduleSpec struct {
	Schedule                v1alpha1.CronSchedule
	TimeZone                v1alpha1.TimeZone
	StartingDeadlineSeconds *int64
	Created                 time.Time
}

// schedulePlan is nextRun's answer.
type schedulePlan struct {
	// Due is the scheduled time to run now; zero when none is due.
	Due time.Time
	// Missed is a scheduled time that passed by more than
	// startingDeadlineSeconds: skipped, and recorded as handled.
	Missed time.Time
	// Exists is true when Due already has a Job (created by a reconcile
	// whose status write the cache does not show yet).
	Exists bool
	// Next is the first scheduled time after now.
	Next time.Time
	// LastScheduleTime is the latest scheduled time handled, rebuilt from
	// the Jobs' scheduled-time annotations when status lost it.
	LastScheduleTime *metav1.Time
}

// nextRun decides which scheduled run is due at now, from the spec, the
// recorded lastScheduleTime and the resource's Jobs, as the CronJob
// controller does: only the most recent missed time runs (at most
// maxMissed are looked at), and not when it is older than
// startingDeadlineSeconds. Runs asked for by mldata.io/requested-at
// (run ids starting with "run-") do not count as scheduled.
func nextRun(spec scheduleSpec, last *metav1.Time, owned []batchv1.Job, now time.Time) (schedulePlan, error) {
	sched, err := parseSchedule(spec.Schedule, spec.TimeZone)
	if err != nil {
		return schedulePlan{}, err
	}
	p := schedulePlan{LastScheduleTime: last}
	if last == nil {
		for i := range owned {
			j := &owned[i]
			if strings.HasPrefix(j.Labels[v1alpha1.LabelRunID], requestedRunPrefix) {
				continue
			}
			if t, ok := scheduledTime(j); ok && (p.LastScheduleTime == nil || t.After(p.LastScheduleTime.Time)) {
				p.LastScheduleTime = &metav1.Time{Time: t}
			}
		}
	}
	earliest := spec.Created
	if p.LastScheduleTime != nil {
		earliest = p.LastScheduleTime.Time
	}
	if sd := spec.StartingDeadlineSeconds; sd != nil {
		if lim := now.Add(-time.Duration(*sd) * time.Second); lim.After(earliest) {
			earliest = lim
		}
	}
	due, ok, next := mostRecent(sched, earliest, now)
	p.Next = next
	if !ok {
		return p, nil
	}
	for i := range owned {
		if t, has := scheduledTime(&owned[i]); has && t.Equal(due) && !strings.HasPrefix(owned[i].Labels[v1alpha1.LabelRunID], requestedRunPrefix) {
			p.Exists = true
		}
	}
	if sd := spec.StartingDeadlineSeconds; sd != nil && now.Sub(due) > time.Duration(*sd)*time.Second {
		p.Missed = due
	} else {
		p.Due = due
	}
	return p, nil
}

// scheduleInterval is the time between two runs a resource asks for, for
// the mldata_schedule_interval_seconds gauge: intervalSeconds, or the gap
// between the cron schedule's next two times after now; 0 for a resource
// without either, or whose schedule does not parse.
func scheduleInterval(schedule v1alpha1.CronSchedule, tz v1alpha1.TimeZone, intervalSeconds *int32, now time.Time) time.Duration {
	if schedule == "" {
		if intervalSeconds == nil || *intervalSeconds <= 0 {
			return 0
		}
		return time.Duration(*intervalSeconds) * time.Second
	}
	sched, err := parseSchedule(schedule, tz)
	if err != nil {
		return 0
	}
	next := sched.Next(now)
	return sched.Next(next).Sub(next)
}
