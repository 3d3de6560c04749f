package scheduler

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func mustParse(t *testing.T, expr string, loc *time.Location) cronSpec {
	t.Helper()
	spec, err := parseCron(expr, loc)
	require.NoError(t, err, expr)
	return spec
}

// fires lists the next n fires after from, in loc's wall-clock time.
func fires(spec cronSpec, from time.Time, n int) []string {
	out := make([]string, 0, n)
	t := from
	for range n {
		t = spec.next(t)
		if t.IsZero() {
			return append(out, "never")
		}
		out = append(out, t.In(spec.loc).Format("2006-01-02 15:04 MST"))
	}
	return out
}

func TestCronNextSpringForward(t *testing.T) {
	t.Parallel()
	ny := mustLoad(t, "America/New_York")
	// New York skips 02:00-03:00 on 2025-03-09. The 02:30 slot fires an hour
	// later, once; the day is not skipped.
	spec := mustParse(t, "30 2 * * *", ny)
	from := time.Date(2025, 3, 7, 12, 0, 0, 0, ny)
	require.Equal(t, []string{
		"2025-03-08 02:30 EST",
		"2025-03-09 03:30 EDT",
		"2025-03-10 02:30 EDT",
	}, fires(spec, from, 3))

	// Every half hour: the skipped hour's slots fall on the next hour's, and
	// each instant fires once.
	spec = mustParse(t, "*/30 * * * *", ny)
	require.Equal(t, []string{
		"2025-03-09 01:30 EST",
		"2025-03-09 03:00 EDT",
		"2025-03-09 03:30 EDT",
		"2025-03-09 04:00 EDT",
	}, fires(spec, time.Date(2025, 3, 9, 1, 15, 0, 0, ny), 4))
}

func TestCronNextFallBack(t *testing.T) {
	t.Parallel()
	ny := mustLoad(t, "America/New_York")
	// 01:00-02:00 happens twice on 2025-11-02: a fixed 01:30 fires once.
	spec := mustParse(t, "30 1 * * *", ny)
	require.Equal(t, []string{
		"2025-11-01 01:30 EDT",
		"2025-11-02 01:30 EDT",
		"2025-11-03 01:30 EST",
	}, fires(spec, time.Date(2025, 10, 31, 12, 0, 0, 0, ny), 3))

	// Every half hour keeps its rhythm through the repeated hour.
	spec = mustParse(t, "*/30 * * * *", ny)
	require.Equal(t, []string{
		"2025-11-02 01:00 EDT",
		"2025-11-02 01:30 EDT",
		"2025-11-02 01:00 EST",
		"2025-11-02 01:30 EST",
		"2025-11-02 02:00 EST",
	}, fires(spec, time.Date(2025, 11, 2, 0, 45, 0, 0, ny), 5))
}

func TestCronNextWeekdays(t *testing.T) {
	t.Parallel()
	berlin := mustLoad(t, "Europe/Berlin")
	// Weekdays at 09:00 Berlin time, across the weekend on which Berlin
	// moves to summer time (2025-03-30): still 09:00 local.
	spec := mustParse(t, "0 9 * * 1-5", berlin)
	got := fires(spec, time.Date(2025, 3, 27, 10, 0, 0, 0, berlin), 3)
	require.Equal(t, []string{"2025-03-28 09:00 CET", "2025-03-31 09:00 CEST", "2025-04-01 09:00 CEST"}, got)
	friday := spec.next(time.Date(2025, 3, 27, 10, 0, 0, 0, berlin))
	require.Equal(t, 71*time.Hour, spec.next(friday).Sub(friday), "the weekend is an hour short")

	// Names and Vixie day matching: the 1st of the month or any Monday.
	spec = mustParse(t, "0 12 1 * MON", time.UTC)
	require.Equal(t, []string{"2025-03-31 12:00 UTC", "2025-04-01 12:00 UTC", "2025-04-07 12:00 UTC"},
		fires(spec, time.Date(2025, 3, 29, 0, 0, 0, 0, time.UTC), 3))
}

func TestCronNextEdges(t *testing.T) {
	t.Parallel()
	spec := mustParse(t, "* * * * *", time.UTC)
	at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	require.Equal(t, at.Add(time.Minute), spec.next(at), "strictly after a slot")
	require.Equal(t, at.Add(time.Minute), spec.next(at.Add(time.Second)))
	require.Equal(t, at, spec.next(at.Add(-time.Microsecond)))

	// February 29th comes.
	spec = mustParse(t, "0 0 29 2 *", time.UTC)
	require.Equal(t, time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC), spec.next(at))
	// February 30th does not.
	spec = mustParse(t, "0 0 30 2 *", time.UTC)
	require.True(t, spec.next(at).IsZero())
}

func TestParseCronRefuses(t *testing.T) {
	t.Parallel()
	for expr, reason := range map[string]string{
		"":                        "expected exactly 5 fields",
		"* * * *":                 "expected exactly 5 fields",
		"0 * * * * *":             "expected exactly 5 fields",
		"@every 1s":               "expected exactly 5 fields",
		"@daily a b c d":          "descriptors",
		"TZ=UTC * * * *":          "TZ=",
		"TZ=UTC\t*\t*\t*\t*":      "TZ=",
		"61 * * * *":              "above maximum",
		"* 24 * * *":              "above maximum",
		"* * * 13 *":              "above maximum",
		"*/0 * * * *":             "step of range should be a positive number",
		"a * * * *":               "failed to parse",
		"5-1 * * * *":             "beginning of range",
		"* * * * MON-FOO":         "failed to parse",
		"-1 * * * *":              "failed to parse",
		"* * 0 * *":               "below minimum",
		"99999999999999999 * * *": "expected exactly 5 fields",
	} {
		_, err := parseCron(expr, time.UTC)
		require.Error(t, err, "%q", expr)
		require.Contains(t, err.Error(), reason, "%q", expr)
	}
}

func FuzzParseCron(f *testing.F) {
	for _, seed := range []string{"* * * * *", "30 2 * * *", "0 9 * * 1-5", "*/15 1-3 1,15 JAN-MAR MON", "TZ=UTC * * * *", "5-1/0 * * * *"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		spec, err := parseCron(expr, time.UTC)
		if err != nil {
			return
		}
		from := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		if next := spec.next(from); !next.IsZero() && !next.After(from) {
			t.Fatalf("%q: next %s is not after %s", expr, next, from)
		}
	})
}
