package fifo_test

import (
	"sync"
	"testing"

	"claudemesh.dev/edge/fifo"
)

func TestQueue(t *testing.T) {
	t.Parallel()
	q := fifo.New[int]()
	if got := q.Take(); got != nil {
		t.Fatalf("empty queue took %v", got)
	}
	for i := range 3 {
		if n, ok := q.Push(i, 3); !ok || n != i+1 {
			t.Fatalf("push %d: %d %v", i, n, ok)
		}
	}
	if n, ok := q.Push(3, 3); ok || n != 3 {
		t.Fatalf("push past the limit: %d %v", n, ok)
	}
	select {
	case <-q.Ready():
	default:
		t.Fatal("no ready signal after pushes")
	}
	if got := q.Take(); len(got) != 3 || got[0] != 0 || got[2] != 2 {
		t.Fatalf("took %v", got)
	}
	if q.Len() != 0 {
		t.Fatal("not empty after take")
	}
	q.Push(5, 0)
	q.Requeue([]int{3, 4})
	if got := q.Take(); len(got) != 3 || got[0] != 3 || got[1] != 4 || got[2] != 5 {
		t.Fatalf("after requeue took %v", got)
	}
}

func TestQueueConcurrent(t *testing.T) {
	t.Parallel()
	q := fifo.New[int]()
	const producers, each = 8, 1000
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				q.Push(p*each+i, 0)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	seen := map[int]bool{}
	last := make([]int, producers)
	for i := range last {
		last[i] = -1
	}
	for len(seen) < producers*each {
		select {
		case <-q.Ready():
		case <-done:
		}
		for _, v := range q.Take() {
			p, i := v/each, v%each
			if i <= last[p] {
				t.Fatalf("producer %d: %d after %d", p, i, last[p])
			}
			last[p] = i
			seen[v] = true
		}
	}
}
