// Package fifo is a first-in first-out queue whose memory follows what it
// holds, for the per-socket queues of the broker: a buffered channel big
// enough for a burst costs its whole capacity for every idle peer.
package fifo

import "sync"

// Queue is a FIFO of T, safe for concurrent use: any number of producers,
// one consumer that waits on Ready.
type Queue[T any] struct {
	mu    sync.Mutex
	items []T
	ready chan struct{}
}

// New returns an empty queue.
func New[T any]() *Queue[T] {
	return &Queue[T]{ready: make(chan struct{}, 1)}
}

// Push appends v and reports the queue's length after it. limit > 0 refuses
// (false) a push that would make the queue longer than limit.
func (q *Queue[T]) Push(v T, limit int) (int, bool) {
	q.mu.Lock()
	if limit > 0 && len(q.items) >= limit {
		n := len(q.items)
		q.mu.Unlock()
		return n, false
	}
	q.items = append(q.items, v)
	n := len(q.items)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return n, true
}

// Ready receives a value after pushes: the consumer then takes what is
// queued with Take. A value may come when the queue is already empty.
func (q *Queue[T]) Ready() <-chan struct{} { return q.ready }

// Take removes and returns everything queued, oldest first (nil when
// empty).
func (q *Queue[T]) Take() []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}

// Requeue puts values taken and not consumed back at the front, before
// anything pushed since, and signals Ready.
func (q *Queue[T]) Requeue(items []T) {
	if len(items) == 0 {
		return
	}
	q.mu.Lock()
	q.items = append(items[:len(items):len(items)], q.items...)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// Len is the number of values queued.
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}
