package scheduler_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db/storetest"
)

// nextSpringForward returns the first calendar day after from on which loc
// moves its clocks forward, at local midnight.
func nextSpringForward(t *testing.T, loc *time.Location, from time.Time) time.Time {
	t.Helper()
	local := from.In(loc)
	for d := 1; d <= 400; d++ {
		day := time.Date(local.Year(), local.Month(), local.Day()+d, 0, 0, 0, 0, loc)
		_, before := time.Date(day.Year(), day.Month(), day.Day()-1, 12, 0, 0, 0, loc).Zone()
		_, after := time.Date(day.Year(), day.Month(), day.Day(), 12, 0, 0, 0, loc).Zone()
		if after > before {
			return day
		}
	}
	t.Fatalf("%s has no daylight saving time", loc)
	return time.Time{}
}

func load(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

// entry returns the scheduled_list entry with an id.
func entry(t *testing.T, list []map[string]any, id any) map[string]any {
	t.Helper()
	for _, e := range list {
		if e["id"] == id {
			return e
		}
	}
	t.Fatalf("no schedule %v in %v", id, list)
	return nil
}

func TestRecurring(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		t.Run("AcrossSpringForward", func(t *testing.T) {
			t.Parallel()
			tb := newBundle(t, engine)
			ny := load(t, "America/New_York")
			day := nextSpringForward(t, ny, tb.clock.Now())
			y, m, d := day.Date()
			tb.advanceTo(t, time.Date(y, m, d-1, 12, 0, 0, 0, ny))
			alice := openSession(t, tb.b, tb.alice)

			ack := scheduleOK(t, alice, map[string]any{"message": "nightly", "cron": "30 2 * * *", "timezone": "America/New_York", "recurring": true})
			require.Equal(t, "30 2 * * *", ack["cron"])
			// 02:30 does not exist that night: the fire comes after the gap,
			// at 03:30 EDT, and the day is not skipped.
			first := time.Date(y, m, d, 3, 30, 0, 0, ny)
			require.Equal(t, "EDT", func() string { z, _ := first.Zone(); return z }())
			require.Equal(t, ms(first), ack["deliverAt"])

			tb.advanceTo(t, first.Add(-time.Minute))
			alice.ExpectQuiet(quiet)
			tb.advanceTo(t, first)
			expectFire(t, alice, "nightly")

			e := entry(t, listScheduled(t, alice), ack["scheduledId"])
			second := time.Date(y, m, d+1, 2, 30, 0, 0, ny)
			require.Equal(t, ms(second), e["deliverAt"], "back to 02:30 local the next night")
			require.Equal(t, float64(1), e["firedCount"])
			require.Equal(t, "America/New_York", e["timezone"])
			require.Equal(t, "30 2 * * *", e["cron"])

			tb.advanceTo(t, second)
			expectFire(t, alice, "nightly")
			alice.ExpectQuiet(quiet)
			require.Equal(t, int32(2), tb.schedule(t, ack["scheduledId"].(string)).FiredCount) //nolint:forcetypeassert // checked by scheduleOK
		})

		t.Run("WeekdaysAcrossTheChange", func(t *testing.T) {
			t.Parallel()
			tb := newBundle(t, engine)
			berlin := load(t, "Europe/Berlin")
			sunday := nextSpringForward(t, berlin, tb.clock.Now())
			require.Equal(t, time.Sunday, sunday.Weekday())
			y, m, d := sunday.Date()
			tb.advanceTo(t, time.Date(y, m, d-2, 10, 0, 0, 0, berlin)) // Friday 10:00
			alice := openSession(t, tb.b, tb.alice)
			bob := openSession(t, tb.b, tb.bob)

			ack := scheduleOK(t, alice, map[string]any{"to": "bob", "message": "stand-up", "cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"})
			monday := time.Date(y, m, d+1, 9, 0, 0, 0, berlin)
			require.Equal(t, ms(monday), ack["deliverAt"], "Friday's 09:00 has passed; the weekend is skipped")

			// Saturday and Sunday pass without a fire.
			tb.advanceTo(t, time.Date(y, m, d, 23, 0, 0, 0, berlin))
			bob.ExpectQuiet(quiet)
			tb.advanceTo(t, monday)
			expectFire(t, bob, "stand-up")
			e := entry(t, listScheduled(t, alice), ack["scheduledId"])
			require.Equal(t, ms(time.Date(y, m, d+2, 9, 0, 0, 0, berlin)), e["deliverAt"], "Tuesday, 09:00 summer time")
			require.Equal(t, "bob", e["to"])
		})
	})
}
