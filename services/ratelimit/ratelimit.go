// Package ratelimit keeps token buckets keyed by caller, forgetting those
// left idle, so memory stays bounded by the active callers.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is a set of token buckets.
type Limiter struct {
	idle time.Duration

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// New returns an empty set of buckets.
func New() *Limiter {
	return &Limiter{idle: 10 * time.Minute, buckets: map[string]*bucket{}}
}

// Allow takes a token from key's bucket at now and reports whether there
// was one. The bucket refills perMinute tokens a minute and holds at most
// burst; a later call with other numbers changes them.
func (l *Limiter) Allow(key string, now time.Time, perMinute, burst int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > l.idle/2 {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > l.idle {
				delete(l.buckets, k)
			}
		}
		l.lastSweep = now
	}
	limit := rate.Limit(float64(perMinute) / 60)
	b := l.buckets[key]
	switch {
	case b == nil:
		b = &bucket{lim: rate.NewLimiter(limit, burst)}
		l.buckets[key] = b
	case b.lim.Limit() != limit || b.lim.Burst() != burst:
		b.lim.SetLimitAt(now, limit)
		b.lim.SetBurstAt(now, burst)
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}
