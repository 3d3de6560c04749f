package bench

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"claudemesh.dev/cli/internal/brokerclient"
	"claudemesh.dev/cli/internal/meshcrypto"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

// subtypeReminder marks the pushes of fired reminders.
const subtypeReminder = "reminder"

// remindRun is the state of a remind run that the peers update as
// reminders fire.
type remindRun struct {
	// scheduled counts the reminders the broker acked; fired their first
	// arrivals, intact, at the peer that scheduled them.
	scheduled atomic.Int64
	fired     atomic.Int64
	// early counts fires more than a millisecond before their due time;
	// ackedLate schedules the broker acked only after their due time.
	early      atomic.Int64
	ackedLate  atomic.Int64
	duplicates atomic.Int64
	corrupt    atomic.Int64
	// failed counts schedules with no answer; failedErr is the first
	// one's error.
	failed    atomic.Int64
	mu        sync.Mutex
	failedErr string
	refused   map[string]Refusal
}

// reminderInbox is what reminders reached a peer: the sequence numbers
// seen (a reminder fired twice arrives with a new message id, so it is
// told by its text) and their lateness.
type reminderInbox struct {
	mu       sync.Mutex
	seen     map[int64]struct{}
	lateness []time.Duration
}

// runRemind has every peer schedule Messages one-shot reminders to itself
// (to "", its member), due spread evenly over Duration starting Duration/2
// from now, and measures each fire's lateness: its arrival minus its due
// time. With a Rate, the peers pair up and run dm load until the last one
// is due.
func (r *runner) runRemind() error {
	if err := r.makePeers(); err != nil {
		return err
	}
	r.remind = &remindRun{refused: map[string]Refusal{}}
	var senders, receivers []*peer
	var seals []func(string) (string, string)
	if r.cfg.Rate > 0 {
		var err error
		if senders, receivers, seals, err = r.pairUp(); err != nil {
			return err
		}
	}
	r.report.Connect = r.connectAll(r.peers)
	if err := r.requireConnected(r.peers); err != nil {
		return err
	}

	start := time.Now()
	lead, window := r.cfg.Duration/2, r.cfg.Duration
	total := r.cfg.Messages * len(r.peers)
	// The k-th reminder of all is due at lead + window×k/(total-1); peers
	// take them in turn, so that every peer's are spread over the window.
	dueOf := func(k int) time.Duration {
		if total == 1 {
			return lead
		}
		return lead + time.Duration(int64(window)*int64(k)/int64(total-1))
	}
	offset := start.Sub(r.epoch)
	var wg sync.WaitGroup
	for i, p := range r.peers {
		wg.Go(func() {
			r.scheduleReminders(p, func(j int) time.Duration { return offset + dueOf(j*len(r.peers)+i) })
		})
	}
	wg.Wait()
	rs := &ReminderStats{
		ScheduleSeconds: time.Since(start).Seconds(),
		FirstDueSeconds: lead.Seconds(),
		LastDueSeconds:  (lead + window).Seconds(),
	}
	r.report.Reminders = rs

	var outs []*outbox
	if r.cfg.Rate > 0 {
		outs = r.loadUntil(senders, receivers, seals, start.Add(lead+window))
	}
	r.awaitFires(start.Add(lead + window))
	r.tallyReminders(rs)
	if outs != nil {
		r.tally(outs, func(i int) []*peer { return receivers[i : i+1] })
	}
	r.noteDrops()
	return nil
}

// scheduleReminders schedules p's reminders, Inflight at a time; dueOf is
// the due time of p's j-th one on the run's clock.
func (r *runner) scheduleReminders(p *peer, dueOf func(j int) time.Duration) {
	c := p.conn()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range r.cfg.Inflight {
		wg.Go(func() {
			for {
				j := next.Add(1) - 1
				if j >= int64(r.cfg.Messages) || r.interrupted() {
					return
				}
				// Due times are whole milliseconds on the wall clock, as
				// deliverAt is.
				dueMs := r.epoch.Add(dueOf(int(j))).UnixMilli()
				due := time.UnixMilli(dueMs).Sub(r.epoch)
				text := messageText(message{run: r.runID, from: p.index, seq: j, sent: due})
				ctx, cancel := context.WithTimeout(r.base, sendTimeout)
				subtype := subtypeReminder
				reply, err := c.Request(ctx, &edgev1.Schedule{Message: text, DeliverAt: dueMs, Subtype: &subtype})
				cancel()
				if !r.recordSchedule(reply.Msg, err, dueMs) {
					return
				}
			}
		})
	}
	wg.Wait()
}

// recordSchedule notes the answer to a schedule and reports whether the
// peer may carry on.
func (r *runner) recordSchedule(reply any, err error, dueMs int64) bool {
	rr := r.remind
	var be *brokerclient.Error
	switch {
	case errors.As(err, &be):
		rr.mu.Lock()
		defer rr.mu.Unlock()
		ref := rr.refused[be.Code]
		ref.Count++
		if ref.Example == "" {
			ref.Example = be.Message
		}
		rr.refused[be.Code] = ref
		return ref.Count < maxRefusals
	case err != nil:
		rr.failed.Add(1)
		rr.mu.Lock()
		if rr.failedErr == "" {
			rr.failedErr = err.Error()
		}
		rr.mu.Unlock()
		return false
	}
	if _, ok := reply.(*edgev1.ScheduledAck); !ok {
		rr.failed.Add(1)
		return true
	}
	rr.scheduled.Add(1)
	if time.Now().UnixMilli() > dueMs {
		rr.ackedLate.Add(1)
	}
	return true
}

// loadUntil runs the dm load, Rate messages a second in all, until the
// deadline, and returns what the senders sent.
func (r *runner) loadUntil(senders, receivers []*peer, seals []func(string) (string, string), deadline time.Time) []*outbox {
	start := time.Now()
	r.report.sendStart = start.Sub(r.epoch)
	interval := time.Duration(float64(len(senders)) / r.cfg.Rate * float64(time.Second))
	outs := make([]*outbox, len(senders))
	var wg sync.WaitGroup
	for i, s := range senders {
		outs[i] = newOutbox()
		plan := sendPlan{target: receivers[i].session.PublicHex(), seal: seals[i], deadline: deadline, interval: interval}
		wg.Go(func() { r.send(s, plan, outs[i]) })
	}
	wg.Wait()
	r.report.SendSeconds = time.Since(start).Seconds()
	r.awaitDeliveries(r.acked.Load)
	return outs
}

// awaitFires waits until every scheduled reminder fired, or, once the last
// was due, none arrived for stallTimeout (interruptGrace once
// interrupted). It reports progress about once a second.
func (r *runner) awaitFires(lastDue time.Time) {
	rr := r.remind
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start, lastReport := time.Now(), time.Now()
	last, lastChange := rr.fired.Load(), time.Now()
	wasInterrupted := false
	for {
		n := rr.fired.Load()
		if n >= rr.scheduled.Load() {
			return
		}
		if n != last {
			last, lastChange = n, time.Now()
		}
		if r.interrupted() && !wasInterrupted {
			wasInterrupted, lastChange = true, time.Now()
		}
		// The stall is counted from the last fire, or from the last due
		// time when that is later.
		from, grace := lastChange, stallTimeout
		if wasInterrupted {
			grace = interruptGrace
		} else if lastDue.After(from) {
			from = lastDue
		}
		if time.Since(from) > grace {
			return
		}
		if r.cfg.ProgressFunc != nil && time.Since(lastReport) >= time.Second {
			lastReport = time.Now()
			r.cfg.ProgressFunc(Progress{Phase: "firing", Elapsed: time.Since(start), Sent: rr.scheduled.Load(), Expected: rr.scheduled.Load(), Delivered: n})
		}
		<-tick.C
	}
}

// onReminder handles a fired reminder pushed to p: it checks that it is
// one p scheduled, records its lateness on first arrival, and queues its
// client_ack.
func (p *peer) onReminder(push *edgev1.Push) {
	now := time.Since(p.r.epoch)
	defer p.acks.push(push.GetMessageId())
	rr := p.r.remind
	if rr == nil {
		p.in.unknown.Add(1)
		return
	}
	text, err := meshcrypto.DecodePlain(push.GetCiphertext())
	if err != nil {
		rr.corrupt.Add(1)
		return
	}
	m, err := parseMessage(text)
	if err != nil || m.run != p.r.runID || m.from != p.index {
		rr.corrupt.Add(1)
		return
	}
	late := now - m.sent
	p.rem.mu.Lock()
	if p.rem.seen == nil {
		p.rem.seen = map[int64]struct{}{}
	}
	if _, dup := p.rem.seen[m.seq]; dup {
		p.rem.mu.Unlock()
		rr.duplicates.Add(1)
		return
	}
	p.rem.seen[m.seq] = struct{}{}
	p.rem.lateness = append(p.rem.lateness, late)
	p.rem.mu.Unlock()
	if late < -time.Millisecond {
		rr.early.Add(1)
	}
	rr.fired.Add(1)
}

// tallyReminders fills in the reminder figures.
func (r *runner) tallyReminders(rs *ReminderStats) {
	rr := r.remind
	var samples []time.Duration
	for _, p := range r.peers {
		p.rem.mu.Lock()
		samples = append(samples, p.rem.lateness...)
		p.rem.mu.Unlock()
	}
	rs.Scheduled = rr.scheduled.Load()
	rs.Fired = rr.fired.Load()
	rs.Duplicates = rr.duplicates.Load()
	rs.Early = rr.early.Load()
	rs.Corrupt = rr.corrupt.Load()
	rs.AckedAfterDue = rr.ackedLate.Load()
	rs.ScheduleErrors = rr.failed.Load()
	rs.scheduleError = rr.failedErr
	rr.mu.Lock()
	for code, ref := range rr.refused {
		if rs.RefusedBy == nil {
			rs.RefusedBy = map[string]Refusal{}
		}
		rs.RefusedBy[code] = ref
		rs.Refused += ref.Count
	}
	rr.mu.Unlock()
	rs.Lateness = Summarize(samples)
}
