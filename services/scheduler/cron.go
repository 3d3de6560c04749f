package scheduler

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// cronParser reads the 5 standard fields (minute, hour, day of month, month,
// day of week) with robfig/cron's syntax: lists, ranges, steps, month and
// weekday names, "?". No seconds and no descriptors (@every 1s, @daily), so
// nothing fires more often than once a minute.
//
//nolint:gochecknoglobals // a stateless parser, configured once.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// cronSearchDays bounds the search for a next fire: five years, as
// robfig/cron's own.
const cronSearchDays = 5*366 + 1

// maxDSTShift bounds how far a time zone transition moves a wall-clock time
// (an hour in practice; Lord Howe moves 30 minutes).
const maxDSTShift = 3 * time.Hour

// cronSpec is a parsed cron expression read in a time zone.
type cronSpec struct {
	spec *cron.SpecSchedule
	loc  *time.Location
}

// parseCron parses a 5-field cron expression to be read in loc. The error
// is the parser's reason.
func parseCron(expr string, loc *time.Location) (spec cronSpec, err error) {
	fields := strings.Fields(expr)
	if len(fields) != 5 {
		return cronSpec{}, fmt.Errorf("expected exactly 5 fields (minute hour day-of-month month day-of-week), found %d", len(fields))
	}
	if strings.ContainsAny(expr, "=@") {
		return cronSpec{}, errors.New("descriptors (@daily) and TZ= prefixes are not accepted; give the time zone separately")
	}
	defer func() {
		// The parser is third-party code fed user input: a panic in it is an
		// invalid expression, not a dead broker.
		if r := recover(); r != nil {
			spec, err = cronSpec{}, fmt.Errorf("cannot parse: %v", r)
		}
	}()
	parsed, err := cronParser.Parse(strings.Join(fields, " "))
	if err != nil {
		return cronSpec{}, err
	}
	s, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return cronSpec{}, errors.New("not a field-based expression")
	}
	return cronSpec{spec: s, loc: loc}, nil
}

// next returns the first fire strictly after t, or the zero time if there is
// none within five years.
//
// Fires are wall-clock slots in the schedule's time zone, each fired once:
// a slot that a daylight-saving gap skips fires as much later as the gap is
// long (30 2 * * * fires at 03:30 on the day New York springs forward, and
// an every-hour slot lands on the hour after the gap, firing once), and a
// slot that a fall-back repeats fires at its first occurrence only, except
// in expressions whose hour field is *, which fire on both passes. As in
// Vixie cron, day of month and day of week match either when both are
// restricted.
func (c cronSpec) next(t time.Time) time.Time {
	local := t.In(c.loc)
	// Calendar dates in UTC, so that stepping a day is always 24 hours. The
	// day before t's counts too: a gap can move its late slots past t.
	day := time.Date(local.Year(), local.Month(), local.Day()-1, 0, 0, 0, 0, time.UTC)
	for range cronSearchDays {
		if c.dayMatches(day) {
			if fire, ok := c.firstOnDay(day, t); ok {
				return fire
			}
		}
		day = day.AddDate(0, 0, 1)
	}
	return time.Time{}
}

// firstOnDay returns the earliest slot of a calendar day after t.
func (c cronSpec) firstOnDay(day, t time.Time) (time.Time, bool) {
	var best time.Time
	for h := range 24 {
		if c.spec.Hour&(1<<uint(h)) == 0 {
			continue
		}
		hour := c.at(day, h, 0)
		if !hour.Add(time.Hour + maxDSTShift).After(t) {
			continue // every minute of this hour is long past
		}
		if !best.IsZero() && hour.Add(-maxDSTShift).After(best) {
			break // later hours come later still
		}
		for m := range 60 {
			if c.spec.Minute&(1<<uint(m)) == 0 {
				continue
			}
			fire := c.at(day, h, m)
			if !fire.After(t) && c.spec.Hour&starBit != 0 {
				// Every-hour expressions keep their rhythm through a
				// fall-back: the repeated hour's slots fire again.
				fire = c.repeat(fire)
			}
			if fire.After(t) && (best.IsZero() || fire.Before(best)) {
				best = fire
			}
		}
	}
	return best, !best.IsZero()
}

// repeat returns the second occurrence of a wall-clock time that a
// fall-back repeats, or fire itself.
func (c cronSpec) repeat(fire time.Time) time.Time {
	local := fire.In(c.loc)
	_, before := local.Zone()
	_, after := fire.Add(maxDSTShift).In(c.loc).Zone()
	if after >= before {
		return fire
	}
	again := fire.Add(time.Duration(before-after) * time.Second).In(c.loc)
	if again.Hour() != local.Hour() || again.Minute() != local.Minute() {
		return fire
	}
	return again.UTC()
}

// at is the instant of a wall-clock slot. Go resolves a wall time inside a
// gap to either side of it; the slot fires after the gap, shifted by its
// length, so that no slot fires before its wall-clock time.
func (c cronSpec) at(day time.Time, h, m int) time.Time {
	fire := time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, c.loc)
	want := time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, time.UTC)
	got := time.Date(fire.Year(), fire.Month(), fire.Day(), fire.Hour(), fire.Minute(), 0, 0, time.UTC)
	if shift := want.Sub(got); shift > 0 {
		fire = fire.Add(shift)
	}
	return fire.UTC()
}

// starBit marks a field given as * (or ?) in robfig/cron's bit sets.
const starBit = 1 << 63

// dayMatches reports whether a calendar day is in the expression's months
// and days, with robfig/cron's (Vixie) rule for day of month and of week.
func (c cronSpec) dayMatches(day time.Time) bool {
	s := c.spec
	if s.Month&(1<<uint(day.Month())) == 0 {
		return false
	}
	dom := s.Dom&(1<<uint(day.Day())) != 0
	dow := s.Dow&(1<<uint(day.Weekday())) != 0
	if s.Dom&starBit != 0 || s.Dow&starBit != 0 {
		return dom && dow
	}
	return dom || dow
}
