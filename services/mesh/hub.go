package mesh

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/edge/fifo"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
)

// session is a presence served by this replica: a socket attached through
// the edge, or one in its grace period after the socket dropped. It caches
// what routing needs so that the hot path reads no database rows.
type session struct {
	presenceID    string
	meshID        string
	memberID      string
	memberPubkey  string
	sessionPubkey string
	sessionID     string
	connectedAt   time.Time
	// hookToken is what the session's hooks present to set its status.
	hookToken string
	// overflowed is set when events could not be buffered: the subscription
	// ends and the edge closes the socket as a slow consumer.
	overflowed atomic.Bool
	// order lines up the socket's concurrent sends (see sendOrder).
	order sendOrder
	// drainWanted and draining run one drain at a time (see requestDrain).
	drainWanted atomic.Bool
	draining    atomic.Bool
	// claimMu is held by a drain from reading the status to the end of its
	// claim, and by status changes: a change cannot land between the two,
	// so a message sent after a session went busy is never claimed under
	// the idle status read before. Take it before mu.
	claimMu sync.Mutex

	mu          sync.Mutex
	displayName string
	groups      []db.GroupRole
	visible     bool
	status      string
	statusSrc   string
	statusAt    time.Time
	summary     *string
	profile     db.Profile
	stats       db.Stats
	// online is true while a socket is attached; false during the grace
	// period.
	online bool
	grace  *time.Timer
	// events buffers what Subscribe streams to the edge; sub is closed to
	// end the current subscription (a new socket took over, or the session
	// overflowed).
	events *fifo.Queue[*meshv1.SubscribeResponse]
	sub    chan struct{}
	closed bool
}

// eventBuffer is how many events wait for a slow or reconnecting subscriber
// before the session is closed as a slow consumer.
const eventBuffer = 4096

func newSession(p db.Presence, memberPubkey string) *session {
	return &session{
		presenceID:    p.ID,
		meshID:        p.MeshID,
		memberID:      p.MemberID,
		memberPubkey:  memberPubkey,
		sessionPubkey: p.SessionPubkey,
		sessionID:     p.SessionID,
		connectedAt:   p.ConnectedAt,
		displayName:   p.DisplayName,
		groups:        p.Groups,
		visible:       p.Visible,
		status:        p.Status,
		statusSrc:     p.StatusSource,
		statusAt:      p.StatusUpdatedAt,
		summary:       p.Summary,
		profile:       p.Profile,
		stats:         p.Stats,
		online:        true,
		events:        fifo.New[*meshv1.SubscribeResponse](),
		sub:           make(chan struct{}),
	}
}

// routingKey is the pubkey peers address this session by: its session key,
// else its member key.
func (s *session) routingKey() string {
	if s.sessionPubkey != "" {
		return s.sessionPubkey
	}
	return s.memberPubkey
}

// deliver queues an event for the subscriber. It reports false when the
// session's buffer is full, in which case the session must be closed.
func (s *session) deliver(ev *meshv1.SubscribeResponse) bool {
	_, ok := s.events.Push(ev, eventBuffer)
	return ok
}

// snapshot returns the mutable fields under the lock.
func (s *session) snapshot() sessionView {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sessionView{
		displayName: s.displayName,
		groups:      slices.Clone(s.groups),
		visible:     s.visible,
		status:      s.status,
		statusSrc:   s.statusSrc,
		statusAt:    s.statusAt,
		summary:     s.summary,
		profile:     s.profile,
		stats:       s.stats,
		online:      s.online,
	}
}

// sessionView is a consistent copy of a session's mutable fields.
type sessionView struct {
	displayName string
	groups      []db.GroupRole
	visible     bool
	status      string
	statusSrc   string
	statusAt    time.Time
	summary     *string
	profile     db.Profile
	stats       db.Stats
	online      bool
}

// hub indexes this replica's sessions.
type hub struct {
	mu       sync.RWMutex
	sessions map[string]*session
	byMesh   map[string]map[string]*session
	// byKey finds a session by mesh and session key, for direct messages.
	byKey map[meshKey]*session
	// ended keeps the sessions that ended in the last endedLinger, so that
	// a socket whose session ended before it subscribed (replaced or
	// revoked right after its hello) still learns why.
	ended map[string]endedSession
}

type endedSession struct {
	sess *session
	at   time.Time
}

// endedLinger is how long an ended session stays findable for a late
// subscription.
const endedLinger = time.Minute

// meshKey is a session key within a mesh.
type meshKey struct{ mesh, key string }

func newHub() *hub {
	return &hub{
		sessions: map[string]*session{},
		byMesh:   map[string]map[string]*session{},
		byKey:    map[meshKey]*session{},
		ended:    map[string]endedSession{},
	}
}

func (h *hub) add(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sessions[s.presenceID] = s
	m := h.byMesh[s.meshID]
	if m == nil {
		m = map[string]*session{}
		h.byMesh[s.meshID] = m
	}
	m[s.presenceID] = s
	if s.sessionPubkey != "" {
		h.byKey[meshKey{s.meshID, s.sessionPubkey}] = s
	}
}

// remove takes an ended session out of the hub.
func (h *hub) remove(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sessions[s.presenceID] != s {
		return
	}
	now := time.Now()
	for id, e := range h.ended {
		if now.Sub(e.at) > endedLinger {
			delete(h.ended, id)
		}
	}
	h.ended[s.presenceID] = endedSession{sess: s, at: now}
	delete(h.sessions, s.presenceID)
	if m := h.byMesh[s.meshID]; m != nil {
		delete(m, s.presenceID)
		if len(m) == 0 {
			delete(h.byMesh, s.meshID)
		}
	}
	if k := (meshKey{s.meshID, s.sessionPubkey}); h.byKey[k] == s {
		delete(h.byKey, k)
	}
}

// byKeyIn returns the session of a mesh with a session key, or nil.
func (h *hub) byKeyIn(meshID, key string) *session {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.byKey[meshKey{meshID, key}]
}

func (h *hub) get(presenceID string) *session {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.sessions[presenceID]
}

// getEnded returns a session that ended recently, or nil.
func (h *hub) getEnded(presenceID string) *session {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.ended[presenceID].sess
}

// mesh returns the sessions of a mesh, in no particular order.
func (h *hub) mesh(meshID string) []*session {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]*session, 0, len(h.byMesh[meshID]))
	for _, s := range h.byMesh[meshID] {
		out = append(out, s)
	}
	return out
}

// count returns how many sessions a mesh has on this replica.
func (h *hub) count(meshID string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.byMesh[meshID])
}

// all returns every session.
func (h *hub) all() []*session {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		out = append(out, s)
	}
	return out
}
