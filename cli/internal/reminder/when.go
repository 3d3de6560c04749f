// Package reminder turns what a user or a model gives a reminder — when
// (a delay, a clock time, an ISO time or a cron expression with a time
// zone) and to whom — into a schedule frame. "claudemesh remind" and the MCP
// tool schedule_reminder share it, so that both read times the same way.
package reminder

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// durationForm is a classic "remind --in" duration: a number (decimals
// allowed) and an optional unit, seconds by default.
var durationForm = regexp.MustCompile(`^(\d+(?:\.\d+)?)\s*([a-z]*)$`)

// units are the unit words of the classic forms.
//
//nolint:gochecknoglobals // read-only table.
var units = map[string]time.Duration{
	"": time.Second, "s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

// ParseIn reads a delay: a Go duration ("1h30m", "90s", "1.5h") or a
// classic one, a number with an optional unit (s, sec, m, min, h, hr, d,
// day; seconds without one): "90", "10m", "2d", "1.5 hours". It must be
// positive.
func ParseIn(s string) (time.Duration, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	d, err := time.ParseDuration(s)
	if err != nil {
		m := durationForm.FindStringSubmatch(s)
		var unit time.Duration
		if m != nil {
			unit = units[m[2]]
		}
		if unit == 0 {
			return 0, fmt.Errorf("%q is not a duration: use a number with s, m, h or d, like 90s, 10m, 1.5h or 2d", s)
		}
		n, _ := strconv.ParseFloat(m[1], 64) // the pattern makes it a number
		if n*float64(unit) > math.MaxInt64 {
			return 0, fmt.Errorf("%q is too far ahead", s)
		}
		d = time.Duration(n * float64(unit))
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: the delay must be more than zero", s)
	}
	return d, nil
}

// clockForm is a time of day: H:MM or HH:MM, optionally :SS.
var clockForm = regexp.MustCompile(`^(\d{1,2}):(\d{2})(?::(\d{2}))?$`)

// localLayouts are the ISO forms without a zone, read in the given zone.
//
//nolint:gochecknoglobals // read-only list.
var localLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"}

// ParseAt reads a moment: a time of day ("14:30", "9:05:30"), meaning its
// next occurrence after now in now's zone (tomorrow when it has passed
// today), or an ISO 8601 time, with a zone ("2026-03-01T14:30:00+01:00",
// "…Z") or without one (read in now's zone; "2026-03-01 14:30" too). An ISO
// time must be in the future.
func ParseAt(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if m := clockForm.FindStringSubmatch(s); m != nil {
		h, _ := strconv.Atoi(m[1])
		mi, _ := strconv.Atoi(m[2])
		sec, _ := strconv.Atoi(m[3]) // "" when left out: 0
		if h > 23 || mi > 59 || sec > 59 {
			return time.Time{}, fmt.Errorf("%q is not a time of day", s)
		}
		y, mo, d := now.Date()
		at := time.Date(y, mo, d, h, mi, sec, 0, now.Location())
		if !at.After(now) {
			at = time.Date(y, mo, d+1, h, mi, sec, 0, now.Location())
		}
		return at, nil
	}
	at, err := time.Parse(time.RFC3339Nano, s)
	for _, layout := range localLayouts {
		if err == nil {
			break
		}
		at, err = time.ParseInLocation(layout, s, now.Location())
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a time: use HH:MM (the next one) or ISO 8601 like 2026-03-01T14:30 or 2026-03-01T14:30:00+01:00", s)
	}
	if !at.After(now) {
		return time.Time{}, fmt.Errorf("%s is in the past", at.Format(time.RFC3339))
	}
	return at, nil
}
