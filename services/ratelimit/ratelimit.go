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
	perMinute int
	burst     int
	idle      time.Duration

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// New returns buckets refilling perMinute tokens a minute and holding at
// most burst.
func New(perMinute, burst int) *Limiter {
	return &Limiter{perMinute: perMinute, burst: burst, idle: 10 * time.Minute, buckets: map[string]*bucket{}}
}

// Allow takes a token from key's bucket at now and reports whether there
// was one.
func (l *Limiter) Allow(key string, now time.Time) bool {
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
	b := l.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(float64(l.perMinute)/60), l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}
