package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"claudemesh.dev/cli/internal/brokerclient"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

// runner is the state of one run.
type runner struct {
	// ctx is the caller's: when it ends, the run stops sending and
	// reports what it has.
	ctx context.Context
	// base outlives an interrupt, so that sockets close cleanly and late
	// deliveries are still counted; closeAll cancels it.
	base       context.Context
	cancelBase context.CancelFunc
	cfg        Config
	log        *slog.Logger
	runID      string
	// epoch is the run's clock: message send times are offsets from it.
	epoch  time.Time
	peers  []*peer
	report *Report

	// sends counts the sends started (for MaxMessages), acked those the
	// broker acked, delivered the first arrivals of checked messages.
	sends     atomic.Int64
	acked     atomic.Int64
	delivered atomic.Int64
	// remind is the state of a remind run; nil in other scenarios.
	remind *remindRun
}

func newRunner(ctx context.Context, cfg Config) *runner {
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	id := make([]byte, 4)
	_, _ = rand.Read(id)
	r := &runner{
		ctx:        ctx,
		base:       base,
		cancelBase: cancel,
		cfg:        cfg,
		log:        cfg.Logger,
		runID:      hex.EncodeToString(id),
		epoch:      time.Now(),
	}
	r.report = newReport(cfg)
	return r
}

// makePeers makes one peer per member.
func (r *runner) makePeers() error {
	r.peers = make([]*peer, 0, len(r.cfg.Members))
	for i, m := range r.cfg.Members {
		p, err := newPeer(r, i, m)
		if err != nil {
			return err
		}
		r.peers = append(r.peers, p)
	}
	return nil
}

// interrupted reports whether the caller stopped the run.
func (r *runner) interrupted() bool { return r.ctx.Err() != nil }

// connectAll connects peers, Inflight at a time, and measures the hello
// latencies and the connection rate. It stops starting connections when
// the run is interrupted.
func (r *runner) connectAll(peers []*peer) ConnectStats {
	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, len(peers))
		failures  []string
		wg        sync.WaitGroup
	)
	sem := make(chan struct{}, r.cfg.Inflight)
	start := time.Now()
	for _, p := range peers {
		select {
		case sem <- struct{}{}:
		case <-r.ctx.Done():
		}
		if r.interrupted() {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			took, err := p.connect(r.base)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failures = append(failures, err.Error())
				return
			}
			latencies = append(latencies, took)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	st := ConnectStats{
		Connections:  len(latencies),
		Failures:     len(failures),
		Seconds:      elapsed.Seconds(),
		HelloLatency: Summarize(latencies),
	}
	if len(failures) > 0 {
		st.FirstError = failures[0]
	}
	if elapsed > 0 {
		st.PerSecond = float64(len(latencies)) / elapsed.Seconds()
	}
	return st
}

// requireConnected fails the run when a peer it needs did not connect.
func (r *runner) requireConnected(peers []*peer) error {
	for _, p := range peers {
		if p.conn() == nil {
			if r.interrupted() {
				return errors.New("interrupted while connecting the peers")
			}
			st := r.report.Connect
			return fmt.Errorf("%d of %d peers could not connect: %s%s", st.Failures, len(peers), st.FirstError, connectHint(st.FirstError))
		}
	}
	return nil
}

// closeAll closes every socket, closeParallel at a time, and notes the
// peers the broker dropped before.
func (r *runner) closeAll() {
	defer r.cancelBase()
	sem := make(chan struct{}, closeParallel)
	var wg sync.WaitGroup
	for _, p := range r.peers {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			p.close()
		})
	}
	wg.Wait()
}

// noteDrops counts the peers whose connection the broker ended.
func (r *runner) noteDrops() {
	for _, p := range r.peers {
		if err := p.dropped(); err != nil {
			r.report.Disconnects++
			if r.report.disconnectError == "" {
				r.report.disconnectError = err.Error()
			}
		}
	}
}

// sendPlan is what one sender sends.
type sendPlan struct {
	target string
	seal   func(text string) (nonce, ciphertext string)
	// limit is how many messages to send; 0 sends until the deadline.
	limit    int64
	deadline time.Time
	// interval paces the sends; 0 sends as fast as Inflight allows.
	interval time.Duration
}

// outbox is what one sender sent.
type outbox struct {
	mu sync.Mutex
	// acked are the message ids the broker acked.
	acked []string
	// refused counts refusals by reason; examples keeps one message each.
	refused  map[string]int64
	examples map[string]string
	// failed counts sends with no answer (timeout, closed socket): their
	// fate is unknown.
	failed    int64
	failedErr string
}

func newOutbox() *outbox {
	return &outbox{refused: map[string]int64{}, examples: map[string]string{}}
}

// send runs one sender's plan with Inflight workers and returns when it is
// done, the deadline passed, the run was interrupted, or the socket died.
func (r *runner) send(p *peer, plan sendPlan, out *outbox) {
	c := p.conn()
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range r.cfg.Inflight {
		wg.Go(func() {
			for {
				seq := next.Add(1) - 1
				if plan.limit > 0 && seq >= plan.limit {
					return
				}
				if plan.interval > 0 {
					at := start.Add(time.Duration(seq) * plan.interval)
					if !at.Before(plan.deadline) || !sleepUntil(r.ctx, at) {
						return
					}
				}
				if r.interrupted() || !time.Now().Before(plan.deadline) || r.sends.Add(1) > MaxMessages {
					return
				}
				text := messageText(message{run: r.runID, from: p.index, seq: seq, sent: time.Since(r.epoch)})
				nonce, ciphertext := plan.seal(text)
				ctx, cancel := context.WithTimeout(r.base, sendTimeout)
				reply, err := c.Request(ctx, &edgev1.Send{
					TargetSpec: plan.target,
					Priority:   "next",
					Nonce:      nonce,
					Ciphertext: ciphertext,
					Id:         strconv.FormatInt(seq, 10),
				})
				cancel()
				if !r.record(out, reply.Msg, err) {
					return
				}
			}
		})
	}
	wg.Wait()
}

// record notes the answer to a send and reports whether the sender may
// carry on.
func (r *runner) record(out *outbox, reply any, err error) bool {
	out.mu.Lock()
	defer out.mu.Unlock()
	var be *brokerclient.Error
	switch {
	case errors.As(err, &be):
		out.refuse(be.Code, be.Message)
		return out.total() < maxRefusals
	case err != nil:
		out.failed++
		if out.failedErr == "" {
			out.failedErr = err.Error()
		}
		return false
	}
	ack, ok := reply.(*edgev1.Ack)
	if !ok {
		out.failed++
		if out.failedErr == "" {
			out.failedErr = "the broker answered a send with something other than an ack"
		}
		return true
	}
	if !ack.GetQueued() || ack.GetMessageId() == "" {
		reason, _, _ := strings.Cut(ack.GetError(), ":")
		out.refuse(strings.TrimSpace(reason), ack.GetError())
		return out.total() < maxRefusals
	}
	out.acked = append(out.acked, ack.GetMessageId())
	r.acked.Add(1)
	return true
}

// maxRefusals stops a sender the broker keeps refusing: more of the same
// would measure nothing.
const maxRefusals = 100

func (o *outbox) total() int64 {
	var n int64
	for _, c := range o.refused {
		n += c
	}
	return n
}

func (o *outbox) refuse(reason, msg string) {
	if reason == "" {
		reason = "unknown"
	}
	o.refused[reason]++
	if _, ok := o.examples[reason]; !ok {
		o.examples[reason] = msg
	}
}

// sleepUntil waits until t and reports false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// awaitDeliveries waits until expected() copies were delivered, or none
// arrived for stallTimeout (interruptGrace once interrupted).
func (r *runner) awaitDeliveries(expected func() int64) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	last, lastChange := r.delivered.Load(), time.Now()
	grace, wasInterrupted := stallTimeout, r.interrupted()
	if wasInterrupted {
		grace = interruptGrace
	}
	for {
		n := r.delivered.Load()
		if n >= expected() {
			return
		}
		if r.interrupted() && !wasInterrupted {
			wasInterrupted, grace, lastChange = true, interruptGrace, time.Now()
		}
		if n != last {
			last, lastChange = n, time.Now()
		}
		if time.Since(lastChange) > grace {
			return
		}
		<-tick.C
	}
}

// progress calls ProgressFunc about once a second until stop is called.
func (r *runner) progress(phase string, expected func() int64) (stop func()) {
	if r.cfg.ProgressFunc == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				r.cfg.ProgressFunc(Progress{
					Phase: phase, Elapsed: time.Since(start),
					Sent: r.acked.Load(), Expected: expected(), Delivered: r.delivered.Load(),
				})
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
