package mesh

import (
	"cmp"
	"context"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"claudemesh.dev/db"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
)

// publish queues an event for every session of a mesh that include admits.
func (s *Service) publish(meshID string, ev *meshv1.SubscribeResponse, include func(*session) bool) {
	for _, sess := range s.hub.mesh(meshID) {
		if include != nil && !include(sess) {
			continue
		}
		if !sess.deliver(ev) {
			s.overflow(sess)
		}
	}
}

// overflow ends a session's subscription because its events do not fit:
// the edge closes the socket as a slow consumer.
func (s *Service) overflow(sess *session) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.overflowed.Swap(true) {
		return
	}
	close(sess.sub)
	sess.sub = make(chan struct{})
	s.log.Warn("session overflowed its event buffer", "presence_id", sess.presenceID)
}

// systemEvent builds a broker event push.
func systemEvent(meshID, event string, data map[string]any, priority meshv1.Priority, now time.Time) *meshv1.SubscribeResponse {
	st, err := structpb.NewStruct(data)
	if err != nil {
		// data is built here from strings, numbers and groups; a failure is a
		// bug, and an empty payload beats dropping the event.
		st = &structpb.Struct{}
	}
	return &meshv1.SubscribeResponse{Event: &meshv1.SubscribeResponse_System{System: &meshv1.SystemEvent{
		Id:         db.NewID(),
		MeshId:     meshID,
		Event:      event,
		Data:       st,
		Priority:   priority,
		CreateTime: timestamp(now),
	}}}
}

// othersOf admits sessions of other members than sess's: a member's own
// sessions are not told about each other, as in the classic broker.
func othersOf(sess *session) func(*session) bool {
	return func(o *session) bool { return o.memberID != sess.memberID }
}

// announceJoin tells the mesh a session joined, or returned when its member
// had a saved state (coalesced: see joins.go). A hidden session comes and
// goes unannounced.
func (s *Service) announceJoin(sess *session, restored *db.PeerState) {
	view := sess.snapshot()
	if !view.visible {
		return
	}
	data := map[string]any{
		"name":   view.displayName,
		"pubkey": sess.routingKey(),
		"groups": groupsData(view.groups),
	}
	event := "peer_joined"
	if restored != nil {
		event = "peer_returned"
		data["lastSeenAt"] = isoTime(restored.LastSeenAt)
		data["summary"] = restored.LastSummary
	}
	s.joins.add(sess.meshID, joinNotice{sess: sess, event: event, data: data})
}

// announceLeave tells the mesh a session left.
func (s *Service) announceLeave(sess *session, now time.Time) {
	view := sess.snapshot()
	if !view.visible || s.joins.forget(sess) {
		return
	}
	data := map[string]any{"name": view.displayName, "pubkey": sess.routingKey()}
	s.publish(sess.meshID, systemEvent(sess.meshID, "peer_left", data, meshv1.Priority_PRIORITY_LOW, now), othersOf(sess))
}

// announceStale tells this replica's sessions that presences of a replica
// that stopped heartbeating are gone.
func (s *Service) announceStale(stale []db.Presence, now time.Time) {
	for _, p := range stale {
		if !p.Visible {
			continue
		}
		key, err := s.memberPubkey(context.Background(), p.MemberID)
		if err != nil {
			continue
		}
		data := map[string]any{"name": p.DisplayName, "pubkey": cmp.Or(p.SessionPubkey, key)}
		s.publish(p.MeshID, systemEvent(p.MeshID, "peer_left", data, meshv1.Priority_PRIORITY_LOW, now),
			func(o *session) bool { return o.memberID != p.MemberID })
	}
}

func groupsData(gs []db.GroupRole) []any {
	out := make([]any, 0, len(gs))
	for _, g := range gs {
		m := map[string]any{"name": g.Name}
		if g.Role != "" {
			m["role"] = g.Role
		}
		out = append(out, m)
	}
	return out
}

// isoTime formats a time as the classic protocol does.
func isoTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
