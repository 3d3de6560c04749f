package reminder

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

func TestParseIn(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"90":        90 * time.Second,
		"90s":       90 * time.Second,
		"10m":       10 * time.Minute,
		"1.5h":      90 * time.Minute,
		"1h30m":     90 * time.Minute,
		"2d":        48 * time.Hour,
		"1.5 hours": 90 * time.Minute,
		"5min":      5 * time.Minute,
		" 3 sec ":   3 * time.Second,
		"2 days":    48 * time.Hour,
		"250ms":     250 * time.Millisecond,
		"0.5":       500 * time.Millisecond,
		"1D":        24 * time.Hour,
	} {
		got, err := ParseIn(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for in, want := range map[string]string{
		"":                "not a duration",
		"soon":            "not a duration",
		"10 parsecs":      "not a duration",
		"-5m":             "more than zero",
		"0":               "more than zero",
		"0s":              "more than zero",
		"1e300d":          "not a duration",
		"99999999999999d": "too far ahead",
	} {
		_, err := ParseIn(in)
		require.ErrorContains(t, err, want, in)
	}
}

func TestParseAt(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	now := time.Date(2026, 3, 28, 14, 0, 0, 0, berlin) // the day before DST starts

	for in, want := range map[string]time.Time{
		"14:30":                     time.Date(2026, 3, 28, 14, 30, 0, 0, berlin),
		"9:05:30":                   time.Date(2026, 3, 29, 9, 5, 30, 0, berlin), // passed today: tomorrow, in summer time
		"14:00":                     time.Date(2026, 3, 29, 14, 0, 0, 0, berlin), // now is not the future
		"2026-04-01T08:00:00Z":      time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC),
		"2026-04-01T10:00:00+02:00": time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC),
		"2026-04-01T10:00":          time.Date(2026, 4, 1, 10, 0, 0, 0, berlin),
		"2026-04-01 10:00:30":       time.Date(2026, 4, 1, 10, 0, 30, 0, berlin),
	} {
		got, err := ParseAt(in, now)
		require.NoError(t, err, in)
		require.True(t, want.Equal(got), "%s: got %s, want %s", in, got, want)
	}
	for in, want := range map[string]string{
		"25:00":                "not a time of day",
		"12:61":                "not a time of day",
		"noon":                 "not a time",
		"2026-03-28T13:00:00":  "in the past",
		"2020-01-01T00:00:00Z": "in the past",
	} {
		_, err := ParseAt(in, now)
		require.ErrorContains(t, err, want, in)
	}
}

func TestLocalZone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	link := filepath.Join(dir, "localtime")
	require.NoError(t, os.Symlink("../usr/share/zoneinfo/posix/Europe/Berlin", link))
	tzFile := filepath.Join(dir, "timezone")
	require.NoError(t, os.WriteFile(tzFile, []byte("America/New_York\n"), 0o600))
	missing := filepath.Join(dir, "missing")
	env := func(tz string) func(string) string {
		return func(k string) string {
			if k == "TZ" {
				return tz
			}
			return ""
		}
	}

	for name, tc := range map[string]struct {
		local, tz, link, file string
		want                  string
		ok                    bool
	}{
		"GoKnowsTheName":  {"Asia/Tokyo", "", link, tzFile, "Asia/Tokyo", true},
		"TZName":          {"Local", "Europe/Paris", link, tzFile, "Europe/Paris", true},
		"TZPath":          {"Local", ":/usr/share/zoneinfo/Europe/Paris", link, tzFile, "Europe/Paris", true},
		"LocaltimeLink":   {"Local", "", link, tzFile, "Europe/Berlin", true},
		"TimezoneFile":    {"Local", "", missing, tzFile, "America/New_York", true},
		"UTC":             {"UTC", "", missing, missing, "UTC", true},
		"Unknown":         {"Local", "Nowhere/Special", missing, missing, "UTC", false},
		"LocaltimeNoZone": {"Local", "/etc/localtime", missing, missing, "UTC", false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, ok := localZone(tc.local, env(tc.tz), tc.link, tc.file)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.ok, ok)
		})
	}

	name, _ := LocalZone(os.Getenv)
	_, err := time.LoadLocation(name)
	require.NoError(t, err, "the machine's zone %q must load", name)
}

func TestResolve(t *testing.T) {
	t.Parallel()
	self, bob, carol := strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)
	peers := []*edgev1.PeerInfo{
		{DisplayName: "alice-laptop", Pubkey: strings.Repeat("1", 64), MemberPubkey: self},
		{DisplayName: "bob", Pubkey: strings.Repeat("2", 64), MemberPubkey: bob},
		{DisplayName: "Carol", Pubkey: strings.Repeat("3", 64), MemberPubkey: carol},
		{DisplayName: "carla", Pubkey: strings.Repeat("4", 64), MemberPubkey: strings.Repeat("d", 64)},
	}
	for to, want := range map[string]Target{
		"":                      {Name: "yourself", Self: true},
		"self":                  {Name: "yourself", Self: true},
		"Me":                    {Name: "yourself", Self: true},
		self:                    {Name: "yourself", Self: true},
		strings.ToUpper(self):   {Name: "yourself", Self: true},
		"alice-laptop":          {Name: "yourself", Self: true}, // another session of the caller
		"*":                     {To: "*", Name: "*"},
		"@all":                  {To: "*", Name: "*"},
		"@eng/backend":          {To: "@eng/backend", Name: "@eng/backend"},
		"bob":                   {To: bob, Name: "bob"},
		"CAROL":                 {To: carol, Name: "Carol"},
		strings.Repeat("2", 64): {To: bob, Name: "bob"}, // a session key means its member
		strings.Repeat("e", 64): {To: strings.Repeat("e", 64), Name: "peer-eeeeeeee"},
		"dave":                  {To: "dave", Name: "dave"}, // offline: the broker resolves it
	} {
		got, err := Resolve(to, self, peers)
		require.NoError(t, err, to)
		require.Equal(t, want, got, to)
	}
	_, err := Resolve("car", self, peers)
	require.ErrorContains(t, err, "matches 2 peers")
	_, err = Resolve("@", self, peers)
	require.Error(t, err)

	require.False(t, NeedsPeers(" self "))
	require.False(t, NeedsPeers("@eng"))
	require.False(t, NeedsPeers("*"))
	require.True(t, NeedsPeers("bob"))
	require.True(t, NeedsPeers(bob))
}

func TestNewSchedule(t *testing.T) {
	t.Parallel()
	now := time.UnixMilli(1_700_000_000_000)
	self := Target{Name: "yourself", Self: true}
	bob := Target{To: strings.Repeat("b", 64), Name: "bob"}

	s, err := NewSchedule(self, "stand up", When{In: 3 * time.Second}, now)
	require.NoError(t, err)
	require.Empty(t, s.GetTo())
	require.Equal(t, "stand up", s.GetMessage())
	require.Equal(t, int64(1_700_000_003_000), s.GetDeliverAt())
	require.Equal(t, SubtypeReminder, s.GetSubtype())
	require.False(t, s.GetRecurring())
	require.Nil(t, s.Cron)

	s, err = NewSchedule(bob, "ship it", When{At: now.Add(time.Hour)}, now)
	require.NoError(t, err)
	require.Equal(t, bob.To, s.GetTo())
	require.Equal(t, now.Add(time.Hour).UnixMilli(), s.GetDeliverAt())
	require.Nil(t, s.Subtype, "a message to others is not a reminder")

	s, err = NewSchedule(self, "standup", When{Cron: " 0 9 * * 1-5 ", Zone: "Europe/Berlin"}, now)
	require.NoError(t, err)
	require.Equal(t, "0 9 * * 1-5", s.GetCron())
	require.True(t, s.GetRecurring())
	require.Equal(t, "Europe/Berlin", s.GetTimezone())
	require.Zero(t, s.GetDeliverAt())

	s, err = NewSchedule(self, "x", When{Cron: "* * * * *"}, now)
	require.NoError(t, err)
	require.Equal(t, "UTC", s.GetTimezone())

	for name, tc := range map[string]struct {
		msg  string
		w    When
		want string
	}{
		"Empty":    {" ", When{In: time.Second}, "message is empty"},
		"NoWhen":   {"x", When{}, "say when"},
		"Several":  {"x", When{In: time.Second, Cron: "* * * * *"}, "not several"},
		"Negative": {"x", When{In: -time.Second}, "negative"},
	} {
		_, err := NewSchedule(self, tc.msg, tc.w, now)
		require.ErrorContains(t, err, tc.want, name)
	}
}

func TestFireTime(t *testing.T) {
	t.Parallel()
	utc := time.Date(2026, 3, 1, 14, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		3 * time.Second:                   "2026-03-01 14:00:03 UTC (in 3s)",
		10 * time.Minute:                  "2026-03-01 14:10:00 UTC (in 10m)",
		90*time.Second + time.Millisecond: "2026-03-01 14:01:30 UTC (in 1m30s)",
		90 * time.Minute:                  "2026-03-01 15:30:00 UTC (in 1h30m)",
		2 * time.Hour:                     "2026-03-01 16:00:00 UTC (in 2h)",
		51 * time.Hour:                    "2026-03-03 17:00:00 UTC (in 2d3h)",
		48 * time.Hour:                    "2026-03-03 14:00:00 UTC (in 2d)",
		-time.Second:                      "2026-03-01 13:59:59 UTC (due)",
	} {
		require.Equal(t, want, FireTime(utc.Add(d).UnixMilli(), utc), d)
	}
}
