package mesh

import (
	"cmp"
	"context"
	"slices"
	"time"

	"claudemesh.dev/db"
)

// writer commits concurrent sends and acks together (group commit): every
// write waiting when a transaction starts goes into it, so the database
// pays one commit for many messages. A batch that fails is retried one
// write at a time, so one bad write cannot fail the others.
type writer struct {
	store db.Store
	max   int
	in    chan *write
}

// write is one send (a message, its deliveries, the notifications for other
// replicas) or one ack; done receives its result.
type write struct {
	msg        *db.Message
	deliveries []db.Delivery
	notify     []notification

	ackBy  string
	ackIDs []string
	ackAt  time.Time
	acked  int64

	// committed, if set, runs on the writer's goroutine once the write is
	// committed, in commit order (before done is signalled).
	committed func()

	done chan error
}

// notification is a NOTIFY sent when the write commits; memberID is the
// member a delivery notice is about.
type notification struct {
	channel, payload string
	memberID         string
}

func newWriter(store db.Store, maxBatch int) *writer {
	return &writer{store: store, max: maxBatch, in: make(chan *write, maxBatch)}
}

// do queues w and waits for its commit.
func (wr *writer) do(ctx context.Context, w *write) error {
	if err := wr.enqueue(ctx, w); err != nil {
		return err
	}
	return wr.wait(ctx, w)
}

// enqueue queues w; writes are committed in the order they are queued.
func (wr *writer) enqueue(ctx context.Context, w *write) error {
	w.done = make(chan error, 1)
	select {
	case wr.in <- w:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wait waits for a queued write's commit.
func (wr *writer) wait(ctx context.Context, w *write) error {
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		// The write may still commit; the caller reports the failure and a
		// retry with the same client message id is answered from the first.
		return ctx.Err()
	}
}

// run commits batches until ctx is done.
func (wr *writer) run(ctx context.Context) {
	for {
		var first *write
		select {
		case first = <-wr.in:
		case <-ctx.Done():
			return
		}
		batch := []*write{first}
	fill:
		for len(batch) < wr.max {
			select {
			case w := <-wr.in:
				batch = append(batch, w)
			default:
				break fill
			}
		}
		wr.commit(context.WithoutCancel(ctx), batch)
	}
}

// commit writes a batch in one transaction, or each write alone when the
// batch fails.
func (wr *writer) commit(ctx context.Context, batch []*write) {
	err := wr.store.InTx(ctx, func(q db.Queries) error { return apply(ctx, q, batch) })
	if err == nil || len(batch) == 1 {
		for _, w := range batch {
			finish(w, err)
		}
		return
	}
	for _, w := range batch {
		w.acked = 0
		finish(w, wr.store.InTx(ctx, func(q db.Queries) error { return apply(ctx, q, []*write{w}) }))
	}
}

// finish reports a write's result, after its commit callback.
func finish(w *write, err error) {
	if err == nil && w.committed != nil {
		w.committed()
	}
	w.done <- err
}

// apply runs a batch's statements: all messages in one insert, all
// deliveries in one, all acks in one, then the notifications (sent on
// commit).
func apply(ctx context.Context, q db.Queries, batch []*write) error {
	var (
		msgs       []db.Message
		deliveries []db.Delivery
		notes      []notification
	)
	for _, w := range batch {
		if w.msg != nil {
			msgs = append(msgs, *w.msg)
			deliveries = append(deliveries, w.deliveries...)
		}
		notes = append(notes, w.notify...)
	}
	if len(msgs) > 0 {
		if err := q.InsertMessages(ctx, msgs); err != nil {
			return err
		}
	}
	if len(deliveries) > 0 {
		if err := q.InsertDeliveries(ctx, deliveries); err != nil {
			return err
		}
	}
	var acks []db.Ack
	var ackers []*write
	for _, w := range batch {
		if len(w.ackIDs) > 0 {
			acks = append(acks, db.Ack{ClaimedBy: w.ackBy, MessageIDs: w.ackIDs, At: w.ackAt})
			ackers = append(ackers, w)
		}
	}
	if len(acks) > 0 {
		counts, err := q.AckDeliveriesBatch(ctx, acks)
		if err != nil {
			return err
		}
		for i, w := range ackers {
			w.acked = counts[i]
		}
	}
	slices.SortFunc(notes, func(a, b notification) int {
		if c := cmp.Compare(a.channel, b.channel); c != 0 {
			return c
		}
		return cmp.Compare(a.payload, b.payload)
	})
	notes = slices.Compact(notes)
	for _, n := range notes {
		if err := q.Notify(ctx, n.channel, n.payload); err != nil {
			return err
		}
	}
	return nil
}
