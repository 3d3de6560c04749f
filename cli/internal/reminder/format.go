package reminder

import (
	"fmt"
	"time"
)

// FireTime renders a fire time (ms since the epoch) in now's zone, with how
// far ahead it is: "2026-03-01 14:30:00 CET (in 10m)".
func FireTime(ms int64, now time.Time) string {
	t := time.UnixMilli(ms).In(now.Location())
	s := t.Format("2006-01-02 15:04:05 MST")
	if d := t.Sub(now); d > 0 {
		s += " (in " + Ahead(d) + ")"
	} else {
		s += " (due)"
	}
	return s
}

// Ahead renders a positive duration compactly, to the second: "45s",
// "10m", "1h30m", "2d3h".
func Ahead(d time.Duration) string {
	d = d.Round(time.Second)
	days, hours := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	mins, secs := int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	switch {
	case days > 0 && hours > 0:
		return fmt.Sprintf("%dd%dh", days, hours)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	case hours > 0 && mins > 0:
		return fmt.Sprintf("%dh%dm", hours, mins)
	case hours > 0:
		return fmt.Sprintf("%dh", hours)
	case mins > 0 && secs > 0:
		return fmt.Sprintf("%dm%ds", mins, secs)
	case mins > 0:
		return fmt.Sprintf("%dm", mins)
	}
	return fmt.Sprintf("%ds", secs)
}
