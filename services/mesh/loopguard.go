package mesh

import (
	"context"
	"sync"
	"time"

	"connectrpc.com/connect"

	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/rpcerr"
)

// loopGuard stops two members (agents, usually) from messaging each other
// forever. It counts the direct messages between each pair of members of a
// mesh in a window; past the limit, further direct messages between them are
// held (refused with reason "loop_guard") and both are told once, by a
// "loop_guard" system event. A human prompting either member (a
// UserPromptSubmit hook setting it "working") resets its pairs, and so does
// a window without messages.
type loopGuard struct {
	max    int
	window time.Duration

	mu    sync.Mutex
	pairs map[pairKey]*pairCount
}

type pairKey struct {
	mesh, a, b string
}

type pairCount struct {
	start time.Time
	count int
	held  bool
}

func newLoopGuard(maxMessages int, window time.Duration) *loopGuard {
	return &loopGuard{max: maxMessages, window: window, pairs: map[pairKey]*pairCount{}}
}

func newPairKey(mesh, x, y string) pairKey {
	if x > y {
		x, y = y, x
	}
	return pairKey{mesh: mesh, a: x, b: y}
}

// check counts a send and refuses it when its pair is over the limit. Only
// messages to one member count: broadcasts and groups are not a dialogue.
func (g *loopGuard) check(ctx context.Context, s *Service, from sender, recipients []recipient, now time.Time) error {
	if len(recipients) != 1 || !recipients[0].direct {
		return nil
	}
	to := recipients[0].memberID
	key := newPairKey(from.meshID, from.member.ID, to)
	g.mu.Lock()
	p := g.pairs[key]
	if p == nil || now.Sub(p.start) > g.window {
		p = &pairCount{start: now}
		g.pairs[key] = p
	}
	p.count++
	over, first := p.count > g.max, false
	if over && !p.held {
		p.held, first = true, true
	}
	g.sweep(now)
	g.mu.Unlock()
	if !over {
		return nil
	}
	if first {
		data := map[string]any{
			"members":   []any{from.member.ID, to},
			"count":     p.count - 1,
			"windowSec": int64(g.window / time.Second),
			"reason":    "too many messages between two members without a human prompt",
		}
		ev := systemEvent(from.meshID, "loop_guard", data, meshv1.Priority_PRIORITY_NOW, now)
		s.publish(from.meshID, ev, func(o *session) bool { return o.memberID == from.member.ID || o.memberID == to })
		s.log.WarnContext(ctx, "loop guard holding messages", "mesh_id", from.meshID, "a", from.member.ID, "b", to)
	}
	return rpcerr.WithReason(connect.CodeResourceExhausted, "loop_guard",
		"held by the loop guard: more than %d messages between you and this peer in %s without a human prompt; it resets when a person prompts either of you, or after %s without messages",
		g.max, g.window, g.window)
}

// humanActivity resets the pairs of a member a person just prompted.
func (g *loopGuard) humanActivity(meshID, memberID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k := range g.pairs {
		if k.mesh == meshID && (k.a == memberID || k.b == memberID) {
			delete(g.pairs, k)
		}
	}
}

// sweep forgets pairs whose window ended; the caller holds the lock.
func (g *loopGuard) sweep(now time.Time) {
	if len(g.pairs) < 1024 {
		return
	}
	for k, p := range g.pairs {
		if now.Sub(p.start) > g.window {
			delete(g.pairs, k)
		}
	}
}
