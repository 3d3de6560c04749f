package mcpserver

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"sync"
	"time"

	"claudemesh.dev/cli/internal/meshmsg"
)

// maxPending bounds the messages held for the model. Past it the oldest is
// dropped without an ack, so the broker delivers it again later: nothing is
// lost, only delayed.
const maxPending = 1000

// offerTTL is how long messages handed to a hook wait for the hook to
// confirm it printed them before they can be handed out again.
const offerTTL = 5 * time.Second

// item is a message waiting to reach the model.
type item struct {
	link *meshLink
	msg  meshmsg.Message
	// claim is who holds the item ("" for nobody) and until when: the
	// channel writer while it writes, or a hook delivery until it confirms.
	claim      string
	claimUntil time.Time
	// notified is set once an inbox-mode notice was written for it.
	notified bool
	// channelled is when its channel notification was written, while it
	// waits for the transcript to confirm the model saw it.
	channelled time.Time
}

func (it *item) claimed(now time.Time) bool {
	return it.claim != "" && now.Before(it.claimUntil)
}

// inbox holds the messages that have not reached the model yet, in arrival
// order. A message leaves it when a path that reaches the model took it:
// the channel notification was written, check_messages returned it, or a
// hook confirmed it printed it. Only then is it acked to the broker.
type inbox struct {
	now func() time.Time

	mu    sync.Mutex
	items []*item
}

// add queues a message. It reports whether it was queued (false for a
// message already held, which the broker pushed again) and returns the item
// dropped to make room, if any.
func (b *inbox) add(it *item) (added bool, dropped *item) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, x := range b.items {
		if x.msg.ID == it.msg.ID && x.link == it.link {
			return false, nil
		}
	}
	if len(b.items) >= maxPending {
		dropped = b.items[0]
		b.items = b.items[1:]
	}
	b.items = append(b.items, it)
	return true, dropped
}

// claim marks the unclaimed items that match for a holder and returns
// them, oldest first.
func (b *inbox) claim(holder string, ttl time.Duration, match func(*item) bool) []*item {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	var out []*item
	for _, it := range b.items {
		if it.claimed(now) || (match != nil && !match(it)) {
			continue
		}
		it.claim, it.claimUntil = holder, now.Add(ttl)
		out = append(out, it)
	}
	return out
}

// markChannelled records that an item's channel notification was written
// and releases the claim on it: it now waits for confirmation.
func (b *inbox) markChannelled(it *item, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	it.channelled, it.claim = at, ""
}

// channelledItems returns the items waiting for confirmation.
func (b *inbox) channelledItems() []*item {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*item
	for _, it := range b.items {
		if !it.channelled.IsZero() {
			out = append(out, it)
		}
	}
	return out
}

// release gives claimed items back, for a path that failed to reach the
// model.
func (b *inbox) release(holder string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, it := range b.items {
		if it.claim == holder {
			it.claim = ""
		}
	}
}

// remove takes an item out: it reached the model. It reports whether the
// item was still there.
func (b *inbox) remove(it *item) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.items)
	b.items = slices.DeleteFunc(b.items, func(x *item) bool { return x == it })
	return len(b.items) != n
}

// take removes the items a holder claimed and returns them: they reached
// the model. An item whose claim lapsed and went to another holder stays.
func (b *inbox) take(holder string) []*item {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*item
	b.items = slices.DeleteFunc(b.items, func(it *item) bool {
		if it.claim == holder {
			out = append(out, it)
			return true
		}
		return false
	})
	return out
}

// unnotified returns the items no inbox notice was written for yet and
// marks them.
func (b *inbox) unnotified() []*item {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*item
	for _, it := range b.items {
		if !it.notified {
			it.notified = true
			out = append(out, it)
		}
	}
	return out
}

// count is the number of waiting messages that match (all for nil).
func (b *inbox) count(match func(*item) bool) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, it := range b.items {
		if match == nil || match(it) {
			n++
		}
	}
	return n
}

// len is the number of messages waiting.
func (b *inbox) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items)
}

// newHolder returns a fresh claim holder id.
func newHolder() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return hex.EncodeToString(b[:])
}
