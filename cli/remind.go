package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"claudemesh.dev/cli/internal/brokerclient"
	"claudemesh.dev/cli/internal/config"
	"claudemesh.dev/cli/internal/reminder"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

// remindOptions are the flags of "remind".
type remindOptions struct {
	meshSlug string
	in       string
	at       string
	cron     string
	to       string
	tz       string
	asJSON   bool
}

func newRemindCommand(env *Env) *cobra.Command {
	var o remindOptions
	cmd := &cobra.Command{
		Use:   "remind <message...> (--in DELAY | --at TIME | --cron EXPR)",
		Short: "Remind yourself (or message others) later, once or on a cron schedule",
		Long: `Schedule a message on the broker. It is kept in the broker's database, so it
fires after the broker restarts too; one that came due while the broker was
down fires once when it is back.

When:
  --in DELAY   once, after a delay: 90 (seconds), 90s, 10m, 1.5h, 2d, 1h30m
  --at TIME    once: HH:MM is the next such time (tomorrow when it has passed
               today); or an ISO time, 2026-03-01T14:30 (local) or
               2026-03-01T14:30:00+01:00
  --cron EXPR  every time a 5-field cron expression matches (minute hour
               day-of-month month day-of-week), read in this machine's time
               zone (or --tz)

To whom (--to):
  self (the default) is you: your member, so every Claude Code session of
  yours gets it, also one started after this command, as a reminder
  (subtype "reminder": your session acts on it without replying).
  @group, * (everyone) and a 64-hex key go as given; a peer's name is
  matched against the peers online as "claudemesh send" does and stored as
  that peer's member key, so it reaches the member's sessions of the moment
  it fires. A name no peer online has is passed to the broker, which
  accepts a member's unique display name, offline members included.
  Messages to others arrive as ordinary messages from you.

"remind list" shows your pending schedules, "remind cancel ID" cancels one
(a unique prefix of the ID is enough). To be reminded of a text that starts
with the word "list" or "cancel", quote the whole text.`,
		Example: `  claudemesh remind "stand up and stretch" --in 45m
  claudemesh remind check the deploy --at 14:30
  claudemesh remind "weekly review" --cron "0 9 * * 1" --tz Europe/Berlin
  claudemesh remind "release train leaves" --in 2h --to @eng
  claudemesh remind list
  claudemesh remind cancel 1a2b3c4d`,
		Args: needArgs(1, -1, `remind needs a message and a time, like: claudemesh remind "stand up" --in 10m`),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRemind(cmd.Context(), env, o, strings.Join(args, " "))
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.in, "in", "", "fire once after this delay (90, 90s, 10m, 1.5h, 2d)")
	f.StringVar(&o.at, "at", "", "fire once at HH:MM (the next one) or an ISO time")
	f.StringVar(&o.cron, "cron", "", `fire on a 5-field cron expression, like "0 9 * * 1-5"`)
	f.StringVar(&o.to, "to", "self", "self, a peer's name, @group, * or a 64-hex key")
	f.StringVar(&o.tz, "tz", "", "IANA time zone of --cron and --at (default: this machine's)")
	f.StringVar(&o.meshSlug, "mesh", "", "the mesh (needed when several are joined)")
	f.BoolVar(&o.asJSON, "json", false, `print the broker's answer: {"scheduledId","deliverAt","cron"}`)
	cmd.AddCommand(newRemindListCommand(env), newRemindCancelCommand(env))
	return cmd
}

// remindWhen reads the timing flags: exactly one of --in, --at and --cron.
// It warns on stderr when a cron expression runs in UTC because the local
// zone has no name it can tell.
func remindWhen(env *Env, o remindOptions) (reminder.When, error) {
	now := env.NowFunc()
	zone, known := o.tz, true
	if zone == "" {
		zone, known = reminder.LocalZone(env.Getenv)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return reminder.When{}, fmt.Errorf("--tz %q: not an IANA time zone, like Europe/Berlin or America/New_York", o.tz)
	}
	var w reminder.When
	set := 0
	if o.in != "" {
		set++
		if w.In, err = reminder.ParseIn(o.in); err != nil {
			return w, fmt.Errorf("--in %w", err)
		}
	}
	if o.at != "" {
		set++
		if o.tz != "" {
			now = now.In(loc)
		}
		if w.At, err = reminder.ParseAt(o.at, now); err != nil {
			return w, fmt.Errorf("--at %w", err)
		}
	}
	if strings.TrimSpace(o.cron) != "" {
		set++
		w.Cron, w.Zone = o.cron, zone
		if !known {
			_, _ = fmt.Fprintln(env.Stderr, "claudemesh: this machine's time zone has no IANA name I can tell, so the cron expression is read in UTC; pass --tz (or set $TZ) to choose")
		}
	}
	switch set {
	case 0:
		return w, errors.New("say when: --in 10m, --at 14:30 or --cron \"0 9 * * 1-5\"")
	case 1:
		return w, nil
	}
	return w, errors.New("give one of --in, --at and --cron")
}

func runRemind(ctx context.Context, env *Env, o remindOptions, text string) error {
	if strings.TrimSpace(text) == "" {
		return &ExitError{Code: ExitUsage, Err: errors.New("the message is empty: say what to remind of")}
	}
	when, err := remindWhen(env, o)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	c, m, err := oneShot(ctx, env, o.meshSlug)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(ctx, oneShotRequestTimeout)
	defer cancel()

	var peers []*edgev1.PeerInfo
	if reminder.NeedsPeers(o.to) {
		if peers, err = otherPeers(ctx, c); err != nil {
			return fmt.Errorf("list the peers of %s: %w", m.Slug, err)
		}
	}
	target, err := reminder.Resolve(o.to, m.Pubkey, peers)
	if err != nil {
		return &ExitError{Code: ExitFailure, Err: err}
	}
	sched, err := reminder.NewSchedule(target, text, when, env.NowFunc())
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	ack, err := requestAs[*edgev1.ScheduledAck](ctx, c, sched)
	if err != nil {
		return scheduleError(err, m)
	}
	if o.asJSON {
		return writeFrameFields(env, ack)
	}
	what := "Reminder " + shortRef(ack.GetScheduledId())
	if !target.Self {
		what += " → " + target.Name
	}
	now := env.NowFunc()
	if ack.Cron != nil {
		_, err = fmt.Fprintf(env.Stdout, "✓ %s every %s (%s), next %s\n", what, ack.GetCron(), when.Zone, reminder.FireTime(ack.GetDeliverAt(), now))
	} else {
		_, err = fmt.Fprintf(env.Stdout, "✓ %s at %s\n", what, reminder.FireTime(ack.GetDeliverAt(), now))
	}
	return err
}

// scheduleError turns a refused schedule into a command error: a cron
// expression the broker cannot parse is a usage error.
func scheduleError(err error, m *config.Mesh) error {
	var be *brokerclient.Error
	if errors.As(err, &be) {
		code := ExitFailure
		if be.Code == "invalid_cron" {
			code = ExitUsage
		}
		return &ExitError{Code: code, Err: fmt.Errorf("the broker of %s refused the schedule: %s", m.Slug, be.Message)}
	}
	return fmt.Errorf("schedule on %s: %w", m.Slug, err)
}

func newRemindListCommand(env *Env) *cobra.Command {
	var (
		meshSlug string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List your pending reminders and scheduled messages",
		Example: "  claudemesh remind list\n  claudemesh remind list --mesh dev-team --json",
		Args:    needArgs(0, 0, `remind list takes no arguments; to be reminded of a text starting with "list", quote it: claudemesh remind "list the files" --in 10m`),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, m, err := oneShot(cmd.Context(), env, meshSlug)
			if err != nil {
				return err
			}
			defer func() { _ = c.Close() }()
			ctx, cancel := context.WithTimeout(cmd.Context(), oneShotRequestTimeout)
			defer cancel()
			list, err := requestAs[*edgev1.ScheduledList](ctx, c, &edgev1.ListScheduled{})
			if err != nil {
				return fmt.Errorf("list the schedules in %s: %w", m.Slug, err)
			}
			if asJSON {
				fields, err := frameFields(list)
				if err != nil {
					return err
				}
				msgs, ok := fields["messages"]
				if !ok {
					msgs = []any{}
				}
				return writeJSON(env.Stdout, msgs)
			}
			return printSchedules(env, m, list.GetMessages())
		},
	}
	cmd.Flags().StringVar(&meshSlug, "mesh", "", "the mesh (needed when several are joined)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the scheduled_list entries as JSON")
	return cmd
}

// messageColumn is how much of a message the list shows.
const messageColumn = 60

func printSchedules(env *Env, m *config.Mesh, list []*edgev1.ScheduledMessage) error {
	if len(list) == 0 {
		_, err := fmt.Fprintf(env.Stdout, "No pending reminders in %s.\n", m.Slug)
		return err
	}
	now := env.NowFunc()
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "ID\tNEXT\tTO\tCRON\tMESSAGE")
	for _, s := range list {
		to := s.GetTo()
		if to == "" || strings.EqualFold(to, m.Pubkey) {
			to = "(self)"
		} else if len(to) == 64 {
			to = to[:12] + "…"
		}
		cron := "-"
		if s.Cron != nil {
			cron = s.GetCron()
			if s.GetTimezone() != "" {
				cron += " (" + s.GetTimezone() + ")"
			}
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", shortRef(s.GetId()), reminder.FireTime(s.GetDeliverAt(), now), to, cron, clip(s.GetMessage(), messageColumn))
	}
	return tw.Flush()
}

func newRemindCancelCommand(env *Env) *cobra.Command {
	var (
		meshSlug string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:     "cancel <id>",
		Short:   "Cancel a pending reminder or scheduled message (a unique id prefix is enough)",
		Example: "  claudemesh remind cancel 1a2b3c4d",
		Args:    needArgs(1, 1, "remind cancel needs the id that \"claudemesh remind list\" shows, like: claudemesh remind cancel 1a2b3c4d"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := strings.TrimSpace(args[0])
			if id == "" {
				return &ExitError{Code: ExitUsage, Err: errors.New("the id is empty: \"claudemesh remind list\" shows the ids")}
			}
			c, m, err := oneShot(cmd.Context(), env, meshSlug)
			if err != nil {
				return err
			}
			defer func() { _ = c.Close() }()
			ctx, cancel := context.WithTimeout(cmd.Context(), oneShotRequestTimeout)
			defer cancel()
			ack, err := requestAs[*edgev1.CancelScheduledAck](ctx, c, &edgev1.CancelScheduled{ScheduledId: id})
			if err != nil {
				return scheduleError(err, m)
			}
			if asJSON {
				if err := writeFrameFields(env, ack); err != nil {
					return err
				}
			}
			if !ack.GetOk() {
				return &ExitError{Code: ExitFailure, Err: fmt.Errorf("no pending reminder %q of yours in %s: \"claudemesh remind list --mesh %s\" shows them", id, m.Slug, m.Slug)}
			}
			if asJSON {
				return nil
			}
			_, err = fmt.Fprintf(env.Stdout, "✓ Cancelled %s\n", shortRef(cmp.Or(ack.GetScheduledId(), id)))
			return err
		},
	}
	cmd.Flags().StringVar(&meshSlug, "mesh", "", "the mesh (needed when several are joined)")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print the broker's answer: {"scheduledId","ok"}`)
	return cmd
}

// requestAs sends a request and expects an answer of type T.
func requestAs[T proto.Message](ctx context.Context, c *brokerclient.Client, msg proto.Message) (T, error) {
	var zero T
	reply, err := c.Request(ctx, msg)
	if err != nil {
		return zero, err
	}
	out, ok := reply.Msg.(T)
	if !ok {
		return zero, fmt.Errorf("the broker answered %s", reply.Type)
	}
	return out, nil
}

// shortRef is the first 8 characters of an id.
func shortRef(id string) string { return id[:min(8, len(id))] }

// clip shortens s to n runes, marking the cut with "…", on one line.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
