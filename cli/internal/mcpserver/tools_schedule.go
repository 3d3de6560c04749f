package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"claudemesh.dev/cli/internal/reminder"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

type scheduleReminderInput struct {
	Message   string  `json:"message" jsonschema:"what to remind of, or the message to send"`
	InSeconds float64 `json:"in_seconds,omitempty" jsonschema:"fire once, this many seconds from now"`
	DeliverAt string  `json:"deliver_at,omitempty" jsonschema:"fire once at this time: ISO 8601 (2026-03-01T14:30:00+01:00) or HH:MM (the next one)"`
	Cron      string  `json:"cron,omitempty" jsonschema:"fire on a 5-field cron expression, e.g. 0 9 * * 1-5"`
	To        string  `json:"to,omitempty" jsonschema:"yourself (default), a peer name, 64-hex key, @group or *"`
	Timezone  string  `json:"timezone,omitempty" jsonschema:"IANA zone of cron and HH:MM (default: this machine's)"`
	MeshSlug  string  `json:"mesh_slug,omitempty" jsonschema:"the mesh (default: the first)"`
}

type cancelScheduledInput struct {
	ID       string `json:"id" jsonschema:"the id list_scheduled or schedule_reminder showed (a unique prefix is enough)"`
	MeshSlug string `json:"mesh_slug,omitempty" jsonschema:"the mesh (default: every joined mesh)"`
}

type listScheduledInput struct {
	MeshSlug string `json:"mesh_slug,omitempty" jsonschema:"only this mesh"`
}

func (s *Server) addScheduleTools() {
	tool(s, "schedule_reminder", "Remind yourself later (in_seconds, deliver_at or cron), or send a message to peers later. Survives restarts.", s.scheduleReminder)
	tool(s, "list_scheduled", "List your pending reminders and scheduled messages.", s.listScheduled)
	tool(s, "cancel_scheduled", "Cancel a pending reminder or scheduled message by id.", s.cancelScheduled)
}

// scheduleWhen reads the timing of schedule_reminder.
func (s *Server) scheduleWhen(in scheduleReminderInput) (reminder.When, error) {
	zone := strings.TrimSpace(in.Timezone)
	if zone == "" {
		zone, _ = reminder.LocalZone(os.Getenv)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return reminder.When{}, fmt.Errorf("timezone %q: use an IANA zone like Europe/Berlin", in.Timezone)
	}
	given := 0
	for _, ok := range []bool{in.InSeconds != 0, strings.TrimSpace(in.DeliverAt) != "", strings.TrimSpace(in.Cron) != ""} {
		if ok {
			given++
		}
	}
	if given != 1 {
		return reminder.When{}, errors.New("give exactly one of in_seconds, deliver_at and cron")
	}
	w := reminder.When{Cron: in.Cron}
	if strings.TrimSpace(in.Cron) != "" {
		w.Zone = zone
	}
	switch {
	case in.InSeconds < 0 || math.IsNaN(in.InSeconds) || in.InSeconds > math.MaxInt64/float64(time.Second):
		return w, errors.New("in_seconds must be a positive number of seconds")
	case in.InSeconds > 0:
		w.In = time.Duration(in.InSeconds * float64(time.Second))
	}
	if at := strings.TrimSpace(in.DeliverAt); at != "" {
		if w.At, err = reminder.ParseAt(at, s.opts.Now().In(loc)); err != nil {
			return w, fmt.Errorf("deliver_at: %w", err)
		}
	}
	return w, nil
}

func (s *Server) scheduleReminder(ctx context.Context, in scheduleReminderInput) (string, error) {
	when, err := s.scheduleWhen(in)
	if err != nil {
		return "", err
	}
	l, err := s.pickLink(in.MeshSlug)
	if err != nil {
		return "", err
	}
	var peers []*edgev1.PeerInfo
	if reminder.NeedsPeers(in.To) {
		if peers, err = s.peersOf(ctx, l); err != nil {
			return "", err
		}
	}
	target, err := reminder.Resolve(in.To, l.mesh.Pubkey, peers)
	if err != nil {
		return "", err
	}
	msg, err := reminder.NewSchedule(target, in.Message, when, s.opts.Now())
	if err != nil {
		return "", err
	}
	ack, err := reply[*edgev1.ScheduledAck](ctx, s, l, msg)
	if err != nil {
		return "", err
	}
	what := "Reminder " + shortID(ack.GetScheduledId())
	if !target.Self {
		what += " → " + target.Name
	}
	next := reminder.FireTime(ack.GetDeliverAt(), s.opts.Now())
	if ack.Cron != nil {
		return fmt.Sprintf("%s: every %s (%s), next %s.", what, ack.GetCron(), when.Zone, next), nil
	}
	return fmt.Sprintf("%s set for %s.", what, next), nil
}

func (s *Server) listScheduled(ctx context.Context, in listScheduledInput) (string, error) {
	links, err := s.pickLinks(in.MeshSlug)
	if err != nil {
		return "", err
	}
	var (
		b     strings.Builder
		total int
		errs  []string
	)
	now := s.opts.Now()
	for _, l := range links {
		list, err := reply[*edgev1.ScheduledList](ctx, s, l, &edgev1.ListScheduled{})
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		for _, m := range list.GetMessages() {
			total++
			b.WriteString(scheduledLine(m, l, len(s.links) > 1, now))
			b.WriteByte('\n')
		}
	}
	if len(errs) == len(links) {
		return "", errors.New(strings.Join(errs, "; "))
	}
	if total == 0 {
		b.WriteString("No pending reminders or scheduled messages.\n")
	}
	for _, e := range errs {
		fmt.Fprintf(&b, "✗ %s\n", e)
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

// scheduledLine is one compact line of list_scheduled.
func scheduledLine(m *edgev1.ScheduledMessage, l *meshLink, withMesh bool, now time.Time) string {
	var b strings.Builder
	b.WriteString("- [" + shortID(m.GetId()) + "] ")
	if withMesh {
		b.WriteString(l.mesh.Slug + ": ")
	}
	to := m.GetTo()
	switch {
	case to == "" || strings.EqualFold(to, l.mesh.Pubkey):
		to = "self"
	case len(to) == 64:
		to = shortKey(to)
	}
	b.WriteString("→ " + to + " ")
	if m.Cron != nil {
		fmt.Fprintf(&b, "every %s", m.GetCron())
		if m.GetTimezone() != "" {
			fmt.Fprintf(&b, " (%s)", m.GetTimezone())
		}
		b.WriteString(", next ")
	} else {
		b.WriteString("at ")
	}
	b.WriteString(reminder.FireTime(m.GetDeliverAt(), now))
	text := []rune(strings.Join(strings.Fields(m.GetMessage()), " "))
	if len(text) > 60 {
		text = append(text[:59], '…')
	}
	fmt.Fprintf(&b, ": %q", string(text))
	return b.String()
}

func (s *Server) cancelScheduled(ctx context.Context, in cancelScheduledInput) (string, error) {
	id := strings.TrimSpace(in.ID)
	if id == "" {
		return "", errors.New("id is empty: list_scheduled shows the ids")
	}
	links, err := s.pickLinks(in.MeshSlug)
	if err != nil {
		return "", err
	}
	var errs []string
	for _, l := range links {
		ack, err := reply[*edgev1.CancelScheduledAck](ctx, s, l, &edgev1.CancelScheduled{ScheduledId: id})
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if ack.GetOk() {
			return fmt.Sprintf("Cancelled %s.", shortID(ack.GetScheduledId())), nil
		}
	}
	if len(errs) > 0 {
		return "", errors.New(strings.Join(errs, "; "))
	}
	return "", fmt.Errorf("no pending schedule %q of yours; list_scheduled shows them", id)
}
