package auth

import (
	"sync"
	"time"
)

// ReplayCache remembers signatures for a window, so that a signed request
// (a hello, a member-signed RPC) is accepted once. Its memory is bounded by
// the number of signatures seen within the window.
type ReplayCache struct {
	window time.Duration

	mu        sync.Mutex
	seen      map[string]time.Time
	lastPrune time.Time
}

// NewReplayCache returns a cache that remembers signatures for window.
func NewReplayCache(window time.Duration) *ReplayCache {
	return &ReplayCache{window: window, seen: map[string]time.Time{}}
}

// Seen records sig at now and reports whether it was already recorded
// within the window.
func (c *ReplayCache) Seen(sig string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.lastPrune) > c.window/4 {
		for k, at := range c.seen {
			if now.Sub(at) > c.window {
				delete(c.seen, k)
			}
		}
		c.lastPrune = now
	}
	if at, ok := c.seen[sig]; ok && now.Sub(at) <= c.window {
		return true
	}
	c.seen[sig] = now
	return false
}
