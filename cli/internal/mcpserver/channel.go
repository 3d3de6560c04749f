package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"claudemesh.dev/cli/internal/meshmsg"
	"claudemesh.dev/edge/frame"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

// channelMethod is the notification Claude Code turns into a
// <channel source="claudemesh" ...> block in the session.
const channelMethod = "notifications/claude/channel"

// writeTimeout bounds one notification write to stdout.
const writeTimeout = 10 * time.Second

// channelParams is the notification's params. Claude Code drops a
// notification whose meta is not a flat map of strings, and meta keys that
// are not identifiers.
type channelParams struct {
	Content string            `json:"content"`
	Meta    map[string]string `json:"meta,omitempty"`
}

// onFrame handles what a broker session pushes.
func (s *Server) onFrame(l *meshLink, f frame.Frame) {
	switch m := f.Msg.(type) {
	case *edgev1.Push:
		s.onPush(l, m)
	case *edgev1.StateChange:
		s.onStateChange(l, m)
	case *edgev1.Error:
		s.log.Warn("the broker reported an error", "mesh", l.mesh.Slug, "code", m.GetCode(), "message", m.GetMessage())
	}
}

// onPush queues a peer message for the model, or writes a system event
// straight to the channel (events are news, not mail: they are not kept).
func (s *Server) onPush(l *meshLink, p *edgev1.Push) {
	msg := meshmsg.Decode(p, l.sessionKey.Secret, l.member.Secret)
	if msg.Kind == "system" {
		if s.opts.Mode != ModeOff && s.channelOpen() {
			s.notify(channelParams{Content: msg.Text, Meta: map[string]string{
				"kind": "system", "event": msg.Event, "mesh_slug": l.mesh.Slug, "mesh_id": l.mesh.MeshID,
			}})
		}
		return
	}
	added, dropped := s.inbox.add(&item{link: l, msg: msg})
	if dropped != nil {
		s.log.Warn("too many messages waiting for the model; the oldest will come again later",
			"mesh", dropped.link.mesh.Slug, "message", dropped.msg.ID)
	}
	if added {
		s.wake()
	}
}

// onStateChange tells the model about shared state another peer changed.
func (s *Server) onStateChange(l *meshLink, c *edgev1.StateChange) {
	if s.opts.Mode == ModeOff || !s.channelOpen() {
		return
	}
	value, err := json.Marshal(c.GetValue())
	if err != nil {
		value = []byte("?")
	}
	s.notify(channelParams{
		Content: fmt.Sprintf("[state] %s = %s (set by %s)", c.GetKey(), value, c.GetUpdatedBy()),
		Meta:    map[string]string{"kind": "state_change", "key": c.GetKey(), "updated_by": c.GetUpdatedBy(), "mesh_slug": l.mesh.Slug},
	})
}

// notify writes one channel notification and reports whether it was
// written.
func (s *Server) notify(p channelParams) bool {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := s.tr.notify(ctx, channelMethod, p); err != nil {
		s.log.Warn("channel notification not written", "err", err)
		return false
	}
	return true
}

// pushLoop writes waiting messages to the channel whenever something
// changed, until ctx ends.
func (s *Server) pushLoop(ctx context.Context) {
	// A lapsed hook claim hands messages back without any event, so look
	// again now and then.
	tick := time.NewTicker(offerTTL)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-tick.C:
		}
		s.pushWaiting()
	}
}

// pushWaiting writes what the mode asks for: in push mode each message
// (acked once written), in inbox mode a notice per new message.
func (s *Server) pushWaiting() {
	if !s.channelOpen() {
		return
	}
	now := s.opts.Now()
	switch s.opts.Mode {
	case ModePush:
		holder := newHolder()
		fresh := func(it *item) bool { return it.channelled.IsZero() }
		for _, it := range s.inbox.claim(holder, writeTimeout+time.Second, fresh) {
			if !s.notify(channelParams{Content: it.msg.Text, Meta: messageMeta(it, now)}) {
				s.inbox.release(holder)
				return
			}
			if s.opts.ConfirmChannel {
				s.inbox.markChannelled(it, now)
				continue
			}
			if s.inbox.remove(it) {
				it.link.session.Ack(it.msg.ID)
			}
		}
	case ModeInbox:
		for _, it := range s.inbox.unnotified() {
			s.notify(channelParams{
				Content: fmt.Sprintf("[inbox] New message from %s. Use check_messages to read.", it.msg.FromName),
				Meta:    map[string]string{"kind": "inbox_notification", "from_name": it.msg.FromName, "mesh_slug": it.link.mesh.Slug},
			})
		}
	}
}

// messageMeta is the channel meta of a peer message (classic §7.3).
func messageMeta(it *item, now time.Time) map[string]string {
	m := it.msg
	meta := map[string]string{
		"from_id":      m.From,
		"from_name":    m.FromName,
		"mesh_slug":    it.link.mesh.Slug,
		"mesh_id":      it.link.mesh.MeshID,
		"priority":     m.Priority,
		"kind":         m.Kind,
		"message_id":   m.ID,
		"delivered_at": now.UTC().Format(time.RFC3339),
	}
	if !m.SentAt.IsZero() {
		meta["sent_at"] = m.SentAt.UTC().Format(time.RFC3339)
	}
	if m.Subtype != "" {
		meta["subtype"] = m.Subtype
	}
	if m.Kind == "group" {
		meta["group"] = m.Target
	}
	return meta
}

// confirmLoop acks channelled messages as the transcript shows them, until
// ctx ends.
func (s *Server) confirmLoop(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s.confirmChannelled()
	}
}

// confirmChannelled acks the channelled messages the transcript shows: the
// message id (in the channel tag's meta) or, for a text long enough not to
// match by chance, the text as JSON encodes it.
func (s *Server) confirmChannelled() {
	items := s.inbox.channelledItems()
	if len(items) == 0 {
		return
	}
	needles := make([]string, 0, 2*len(items))
	for _, it := range items {
		needles = append(needles, it.msg.ID, textNeedle(it.msg.Text))
	}
	found := s.transcript.scan(needles)
	for _, it := range items {
		if (found[it.msg.ID] || found[textNeedle(it.msg.Text)]) && s.inbox.remove(it) {
			it.link.session.Ack(it.msg.ID)
		}
	}
}

// textNeedle is how a message text appears inside a JSON string, or "" for
// a text too short to tell apart.
func textNeedle(text string) string {
	if len(text) < 24 {
		return ""
	}
	b, err := json.Marshal(text)
	if err != nil {
		return ""
	}
	return string(b[1 : len(b)-1])
}

// handOver reports whether a hook or check_messages may hand an item to the
// model: any item not channelled, and a channelled one the transcript has
// not confirmed within ConfirmWait (the channel most likely dropped it).
func (s *Server) handOver(it *item) bool {
	return it.channelled.IsZero() || s.opts.Now().Sub(it.channelled) >= s.opts.ConfirmWait
}
