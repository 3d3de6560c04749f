package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/config"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

// remindEnv is an Env at a fixed moment in Berlin, with $TZ set to tz.
func remindEnv(t *testing.T, tz string) (*Env, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	now := time.Date(2026, 3, 28, 14, 0, 0, 0, berlin)
	return &Env{
		Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		Getenv: func(k string) string {
			switch k {
			case "TZ":
				return tz
			case "CLAUDEMESH_CONFIG_DIR":
				return t.TempDir()
			}
			return ""
		},
		NowFunc: func() time.Time { return now },
	}, &stdout, &stderr
}

func TestRemindWhen(t *testing.T) {
	t.Parallel()
	env, _, stderr := remindEnv(t, "Europe/Berlin")
	now := env.NowFunc()

	w, err := remindWhen(env, remindOptions{in: "90"})
	require.NoError(t, err)
	require.Equal(t, 90*time.Second, w.In)

	w, err = remindWhen(env, remindOptions{at: "9:30"})
	require.NoError(t, err)
	require.True(t, w.At.Equal(time.Date(2026, 3, 29, 9, 30, 0, 0, now.Location())), w.At.String())

	// --tz moves --at into that zone: 9:30 in New York is later today.
	w, err = remindWhen(env, remindOptions{at: "9:30", tz: "America/New_York"})
	require.NoError(t, err)
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	require.True(t, w.At.Equal(time.Date(2026, 3, 28, 9, 30, 0, 0, ny)), w.At.String())

	w, err = remindWhen(env, remindOptions{cron: "0 9 * * 1-5"})
	require.NoError(t, err)
	require.Equal(t, "0 9 * * 1-5", w.Cron)
	require.Empty(t, stderr.String())
	// Which zone a cron runs in without --tz depends on this machine, unless
	// it has no name: then UTC, and the user is told.
	w, err = remindWhen(env, remindOptions{cron: "0 9 * * 1-5", tz: "Asia/Tokyo"})
	require.NoError(t, err)
	require.Equal(t, "Asia/Tokyo", w.Zone)

	for name, tc := range map[string]struct {
		o    remindOptions
		want string
	}{
		"None":      {remindOptions{}, "say when"},
		"Two":       {remindOptions{in: "10m", cron: "* * * * *"}, "one of --in, --at and --cron"},
		"BadIn":     {remindOptions{in: "soon"}, `--in "soon" is not a duration`},
		"ZeroIn":    {remindOptions{in: "0"}, "more than zero"},
		"BadAt":     {remindOptions{at: "teatime"}, `--at "teatime" is not a time`},
		"PastAt":    {remindOptions{at: "2026-03-28T13:00"}, "in the past"},
		"BadZone":   {remindOptions{cron: "* * * * *", tz: "Mars/Olympus"}, `--tz "Mars/Olympus"`},
		"BlankCron": {remindOptions{cron: "  "}, "say when"},
	} {
		_, err := remindWhen(env, tc.o)
		require.ErrorContains(t, err, tc.want, name)
	}
}

// TestRemindUsage checks that what no broker would take fails with exit
// code 2 before connecting: the config dir is empty.
func TestRemindUsage(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"NoMessage":    {[]string{"remind", "--in", "10m"}, "remind needs a message"},
		"BlankMessage": {[]string{"remind", " ", "--in", "10m"}, "message is empty"},
		"NoWhen":       {[]string{"remind", "stand up"}, "say when"},
		"Several":      {[]string{"remind", "stand up", "--in", "10m", "--at", "14:30"}, "one of --in, --at and --cron"},
		"ListArgs":     {[]string{"remind", "list", "the", "files"}, `quote it`},
		"CancelNoID":   {[]string{"remind", "cancel"}, "needs the id"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env, _, _ := remindEnv(t, "")
			root := NewRootCommand(env)
			root.SetArgs(tc.args)
			err := root.Execute()
			var exit *ExitError
			require.ErrorAs(t, err, &exit)
			require.Equal(t, ExitUsage, exit.Code, err.Error())
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestPrintSchedules(t *testing.T) {
	t.Parallel()
	env, stdout, _ := remindEnv(t, "")
	now := env.NowFunc()
	self := strings.Repeat("a", 64)
	cron, zone := "0 9 * * 1-5", "Europe/Berlin"
	m := &config.Mesh{Slug: "team", Pubkey: self}

	require.NoError(t, printSchedules(env, m, nil))
	require.Equal(t, "No pending reminders in team.\n", stdout.String())
	stdout.Reset()

	require.NoError(t, printSchedules(env, m, []*edgev1.ScheduledMessage{
		{Id: "1a2b3c4d-0000-4000-8000-000000000001", To: "", Message: "stand up", DeliverAt: now.Add(3 * time.Second).UnixMilli()},
		{Id: "5e6f7a8b-0000-4000-8000-000000000002", To: self, Message: "standup\nnotes " + strings.Repeat("x", 80), DeliverAt: time.Date(2026, 3, 29, 9, 0, 0, 0, now.Location()).UnixMilli(), Cron: &cron, Timezone: &zone},
		{Id: "9c0d1e2f-0000-4000-8000-000000000003", To: "@eng", Message: "deploy", DeliverAt: now.Add(time.Hour).UnixMilli()},
		{Id: "30313233-0000-4000-8000-000000000004", To: strings.Repeat("b", 64), Message: "hi bob", DeliverAt: now.Add(2 * time.Hour).UnixMilli()},
	}))
	lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
	require.Len(t, lines, 5, stdout.String())
	require.Regexp(t, `^ID\s+NEXT\s+TO\s+CRON\s+MESSAGE$`, lines[0])
	require.Regexp(t, `^1a2b3c4d\s+2026-03-28 14:00:03 CET \(in 3s\)\s+\(self\)\s+-\s+stand up$`, lines[1])
	require.Regexp(t, `^5e6f7a8b\s+2026-03-29 09:00:00 CEST \(in 18h\)\s+\(self\)\s+0 9 \* \* 1-5 \(Europe/Berlin\)\s+standup notes x+…$`, lines[2])
	_, shown, ok := strings.Cut(lines[2], "(Europe/Berlin)")
	require.True(t, ok)
	require.Len(t, []rune(strings.TrimSpace(shown)), messageColumn)
	require.Regexp(t, `^9c0d1e2f\s+.*\s+@eng\s+-\s+deploy$`, lines[3])
	require.Regexp(t, `^30313233\s+.*\s+bbbbbbbbbbbb…\s+-\s+hi bob$`, lines[4])
}
