package mesh

import (
	"sync"
	"time"

	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
)

// Join announcements are coalesced: announcing every join to every peer is
// O(N²) frames in a connect storm (a broker restart, a team starting its
// sessions), and a model told "X joined" a hundred times learns nothing. The
// first join after a quiet JoinWindow is announced at once, as peer_joined
// (or peer_returned); the joins of the following window go out together at
// its end, as one peers_joined listing them (a lone one stays peer_joined).

// maxJoinsListed bounds the peers a peers_joined event lists.
const maxJoinsListed = 25

// joinNotice is a join waiting to be announced.
type joinNotice struct {
	sess  *session
	event string
	data  map[string]any
}

// joinBatch is a mesh's joins waiting for the end of the window.
type joinBatch struct {
	pending []joinNotice
	// last is when the mesh last announced a join; open is set while a
	// flush is scheduled.
	last time.Time
	open bool
}

// joinCoalescer batches join announcements per mesh.
type joinCoalescer struct {
	mu      sync.Mutex
	byMesh  map[string]*joinBatch
	window  time.Duration
	publish func(meshID string, notices []joinNotice)
}

func newJoinCoalescer(window time.Duration, publish func(string, []joinNotice)) *joinCoalescer {
	return &joinCoalescer{byMesh: map[string]*joinBatch{}, window: window, publish: publish}
}

// add announces a join now, or queues it for the end of the window. The
// window is wall-clock time: it paces frames, not the broker's clock.
func (c *joinCoalescer) add(meshID string, n joinNotice) {
	if c.window < 0 {
		c.publish(meshID, []joinNotice{n})
		return
	}
	now := time.Now()
	c.mu.Lock()
	b := c.byMesh[meshID]
	if b == nil {
		b = &joinBatch{}
		c.byMesh[meshID] = b
	}
	if !b.open && now.Sub(b.last) >= c.window {
		b.last = now
		c.mu.Unlock()
		c.publish(meshID, []joinNotice{n})
		return
	}
	b.pending = append(b.pending, n)
	if !b.open {
		b.open = true
		time.AfterFunc(c.window-now.Sub(b.last), func() { c.flush(meshID) })
	}
	c.mu.Unlock()
}

// flush announces a mesh's queued joins.
func (c *joinCoalescer) flush(meshID string) {
	c.mu.Lock()
	b := c.byMesh[meshID]
	if b == nil {
		c.mu.Unlock()
		return
	}
	pending := b.pending
	b.pending, b.open, b.last = nil, false, time.Now()
	if len(pending) == 0 {
		delete(c.byMesh, meshID)
	}
	c.mu.Unlock()
	if len(pending) > 0 {
		c.publish(meshID, pending)
	}
}

// forget drops a session's queued join and reports whether there was one:
// a session that leaves before it was announced is never announced at all.
func (c *joinCoalescer) forget(sess *session) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.byMesh[sess.meshID]
	if b == nil {
		return false
	}
	for i, n := range b.pending {
		if n.sess == sess {
			b.pending = append(b.pending[:i], b.pending[i+1:]...)
			return true
		}
	}
	return false
}

// publishJoins tells each session of a mesh about the joins of other
// members: one peer_joined/peer_returned for a single join, else one
// peers_joined listing them.
func (s *Service) publishJoins(meshID string, notices []joinNotice) {
	now := s.now()
	// Most sessions get the whole list, built once; those whose member is
	// among the joiners get it without their own member's sessions.
	joiners := map[string]bool{}
	for _, n := range notices {
		joiners[n.sess.memberID] = true
	}
	all := joinEvent(meshID, "", notices, now)
	filtered := map[string]*meshv1.SubscribeResponse{}
	for _, sess := range s.hub.mesh(meshID) {
		ev := all
		if joiners[sess.memberID] {
			var ok bool
			if ev, ok = filtered[sess.memberID]; !ok {
				ev = joinEvent(meshID, sess.memberID, notices, now)
				filtered[sess.memberID] = ev
			}
		}
		if ev != nil && !sess.deliver(ev) {
			s.overflow(sess)
		}
	}
}

// joinEvent is the announcement of the joins of members other than
// memberID ("" for all), nil when there is none.
func joinEvent(meshID, memberID string, notices []joinNotice, now time.Time) *meshv1.SubscribeResponse {
	var peers []any
	var single joinNotice
	for _, n := range notices {
		if n.sess.memberID == memberID {
			continue
		}
		single = n
		peer := map[string]any{}
		for k, v := range n.data {
			peer[k] = v
		}
		if n.event == "peer_returned" {
			peer["returned"] = true
		}
		peers = append(peers, peer)
	}
	switch len(peers) {
	case 0:
		return nil
	case 1:
		return systemEvent(meshID, single.event, single.data, meshv1.Priority_PRIORITY_LOW, now)
	}
	// The count says how many; list_peers says who, when it matters.
	return systemEvent(meshID, "peers_joined", map[string]any{"peers": peers[:min(len(peers), maxJoinsListed)], "count": len(peers)},
		meshv1.Priority_PRIORITY_LOW, now)
}
