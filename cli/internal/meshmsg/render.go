package meshmsg

import (
	"strings"
	"time"
)

// Render is the compact text of a message for a model or a terminal:
//
//	[dev-team] from Alice (direct, now, 14:03:07):
//	<text>
//
// with the mesh slug (left out when ""), the sender, the kind (with the
// group for group messages), the priority when it is not "next", and the
// local time (in now's location) of sending, or its date when that was not
// today. Reminders are marked "[REMINDER]"; system events and webhooks are
// their one line followed by the time.
func Render(m Message, meshSlug string, now time.Time) string {
	var b strings.Builder
	if meshSlug != "" {
		b.WriteString("[" + meshSlug + "] ")
	}
	when := When(m.SentAt, now)
	if m.Kind == kindSystem || m.Kind == kindWebhook {
		b.WriteString(m.Text)
		if when != "" {
			b.WriteString(" (" + when + ")")
		}
		return b.String()
	}
	if m.Kind == kindReminder {
		b.WriteString("[REMINDER] ")
	}
	b.WriteString("from " + m.FromName)
	details := make([]string, 0, 3)
	switch m.Kind {
	case kindDirect, kindBroadcast:
		details = append(details, m.Kind)
	case kindGroup:
		details = append(details, m.Target)
	}
	if m.Priority != "" && m.Priority != priorityNext {
		details = append(details, m.Priority)
	}
	if when != "" {
		details = append(details, when)
	}
	if len(details) > 0 {
		b.WriteString(" (" + strings.Join(details, ", ") + ")")
	}
	b.WriteString(":\n" + m.Text)
	return b.String()
}

// RenderAll renders messages with Render, separated by "\n---\n". slug
// gives each message's mesh slug from its mesh id; nil leaves slugs out.
func RenderAll(ms []Message, slug func(meshID string) string, now time.Time) string {
	parts := make([]string, 0, len(ms))
	for _, m := range ms {
		s := ""
		if slug != nil {
			s = slug(m.MeshID)
		}
		parts = append(parts, Render(m, s, now))
	}
	return strings.Join(parts, "\n---\n")
}

// When is the local time of t, HH:MM:SS on now's day, else the date and
// minute; "" for the zero time.
func When(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	loc := now.Location()
	t = t.In(loc)
	ty, tm, td := t.Date()
	ny, nm, nd := now.In(loc).Date()
	if ty == ny && tm == nm && td == nd {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04")
}
