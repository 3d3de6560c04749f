package bench

import (
	"sync"
	"time"

	"claudemesh.dev/cli/internal/meshcrypto"
)

// runDM pairs the peers (the first half send, each to its partner in the
// second half) and sends direct messages, sealed with crypto_box.
func (r *runner) runDM() error {
	if err := r.makePeers(); err != nil {
		return err
	}
	senders, receivers, seals, err := r.pairUp()
	if err != nil {
		return err
	}
	all := append(append([]*peer{}, senders...), receivers...)
	r.report.Connect = r.connectAll(all)
	if err := r.requireConnected(all); err != nil {
		return err
	}
	outs := r.sendPhase(senders, func(i int) sendPlan {
		return sendPlan{target: receivers[i].session.PublicHex(), seal: seals[i]}
	}, 1, true)
	r.tally(outs, func(i int) []*peer { return receivers[i : i+1] })
	r.noteDrops()
	return nil
}

// pairUp makes sender i (first half) and receiver i (second half) able to
// exchange direct messages; with an odd number of peers the last one sits
// out.
func (r *runner) pairUp() (senders, receivers []*peer, seals []func(string) (string, string), err error) {
	n := len(r.peers) / 2
	senders, receivers = r.peers[:n], r.peers[n:2*n]
	seals = make([]func(string) (string, string), n)
	for i := range n {
		if err := receivers[i].expectDirect(senders[i]); err != nil {
			return nil, nil, nil, err
		}
		if seals[i], err = senders[i].sealTo(receivers[i]); err != nil {
			return nil, nil, nil, err
		}
	}
	return senders, receivers, seals, nil
}

// runBroadcast has the first peer broadcast ("*", plaintext as the classic
// client sends it) to all the others.
func (r *runner) runBroadcast() error {
	if err := r.makePeers(); err != nil {
		return err
	}
	sender, receivers := r.peers[0], r.peers[1:]
	for _, p := range receivers {
		p.expectPlain(sender)
	}
	r.report.Connect = r.connectAll(r.peers)
	if err := r.requireConnected(r.peers); err != nil {
		return err
	}
	outs := r.sendPhase([]*peer{sender}, func(int) sendPlan {
		return sendPlan{target: "*", seal: plainSeal}
	}, int64(len(receivers)), true)
	r.tally(outs, func(int) []*peer { return receivers })
	r.noteDrops()
	return nil
}

// runOfflineDrain connects the pairs, disconnects the receivers, has the
// senders send Messages each to them, then reconnects the receivers and
// times how long each takes to get everything, from the start of its hello
// to its last push.
func (r *runner) runOfflineDrain() error {
	if err := r.makePeers(); err != nil {
		return err
	}
	senders, receivers, seals, err := r.pairUp()
	if err != nil {
		return err
	}
	all := append(append([]*peer{}, senders...), receivers...)
	r.report.Connect = r.connectAll(all)
	if err := r.requireConnected(all); err != nil {
		return err
	}
	closeAllOf(receivers)
	// The broker learns of a closed socket asynchronously; a message pushed
	// to a socket that was closing is pushed again when its session
	// reattaches, so this pause only keeps the scenario clean.
	if !sleepUntil(r.ctx, time.Now().Add(300*time.Millisecond)) {
		return nil
	}
	outs := r.sendPhase(senders, func(i int) sendPlan {
		return sendPlan{target: receivers[i].session.PublicHex(), seal: seals[i]}
	}, 1, false)
	if r.interrupted() {
		r.tally(outs, func(i int) []*peer { return receivers[i : i+1] })
		r.noteDrops()
		return nil
	}

	// Reconnect: latencies now run from each receiver's hello.
	for _, p := range receivers {
		p.in.base.Store(int64(time.Since(r.epoch)))
	}
	reconnect := r.connectAll(receivers)
	r.report.Reconnect = &reconnect
	stop := r.progress("draining", r.acked.Load)
	r.awaitDeliveries(r.acked.Load)
	stop()
	var drain time.Duration
	for _, p := range receivers {
		p.in.mu.Lock()
		if n := len(p.in.seen); n > 0 {
			drain = max(drain, p.in.last-time.Duration(p.in.base.Load()))
		}
		p.in.mu.Unlock()
	}
	r.report.DrainSeconds = drain.Seconds()
	r.tally(outs, func(i int) []*peer { return receivers[i : i+1] })
	if drain > 0 {
		r.report.MessagesPerSecond = float64(r.report.Delivered) / drain.Seconds()
	}
	r.noteDrops()
	return nil
}

// runConnect connects every peer, Inflight at a time, then holds them idle
// for Duration so that the broker's memory can be read at rest.
func (r *runner) runConnect() error {
	if err := r.makePeers(); err != nil {
		return err
	}
	r.report.Connect = r.connectAll(r.peers)
	start := time.Now()
	sleepUntil(r.ctx, start.Add(r.cfg.Duration))
	r.report.HoldSeconds = time.Since(start).Seconds()
	for _, p := range r.peers {
		r.report.SystemEvents += p.in.system.Load()
	}
	r.noteDrops()
	return nil
}

// plainSeal encodes a broadcast body as the classic client does.
func plainSeal(text string) (string, string) { return meshcrypto.EncodePlain(text) }

// sendPhase runs the senders, each with its plan, and (when await) waits
// for the copies (copies per acked message) to arrive. It records the
// measured window from the first send to the last arrival.
func (r *runner) sendPhase(senders []*peer, plan func(i int) sendPlan, copies int64, await bool) []*outbox {
	expected := func() int64 { return r.acked.Load() * copies }
	start := time.Now()
	r.report.sendStart = start.Sub(r.epoch)
	var interval time.Duration
	if r.cfg.Rate > 0 {
		interval = time.Duration(float64(len(senders)) / r.cfg.Rate * float64(time.Second))
	}
	stop := r.progress("sending", expected)
	outs := make([]*outbox, len(senders))
	var wg sync.WaitGroup
	for i, s := range senders {
		outs[i] = newOutbox()
		p := plan(i)
		p.limit, p.deadline, p.interval = int64(r.cfg.Messages), start.Add(r.cfg.Duration), interval
		wg.Go(func() { r.send(s, p, outs[i]) })
	}
	wg.Wait()
	r.report.SendSeconds = time.Since(start).Seconds()
	if await {
		r.awaitDeliveries(expected)
	}
	stop()
	return outs
}

// tally compares what each sender had acked with what its receivers got,
// and gathers the latencies.
func (r *runner) tally(outs []*outbox, receiversOf func(i int) []*peer) {
	rep := r.report
	seenReceivers := map[*peer]bool{}
	var last time.Duration
	for i, out := range outs {
		out.mu.Lock()
		rep.Sent += int64(len(out.acked))
		rep.SendErrors += out.failed
		if out.failedErr != "" && rep.sendError == "" {
			rep.sendError = out.failedErr
		}
		for reason, n := range out.refused {
			rep.addRefused(reason, n, out.examples[reason])
		}
		for _, p := range receiversOf(i) {
			rep.Expected += int64(len(out.acked))
			for _, id := range out.acked {
				if p.received(id) {
					rep.Delivered++
				}
			}
			seenReceivers[p] = true
		}
		out.mu.Unlock()
	}
	var samples []time.Duration
	var arrived int64
	for p := range seenReceivers {
		p.in.mu.Lock()
		samples = append(samples, p.in.latencies...)
		arrived += int64(len(p.in.seen))
		last = max(last, p.in.last)
		p.in.mu.Unlock()
		rep.Duplicates += p.in.duplicates.Load()
		rep.Corrupt += p.in.corrupt.Load()
		rep.Unexpected += p.in.unknown.Load()
	}
	// Arrivals of messages whose ack the sender never saw (a send that
	// timed out but was stored) are not losses, but are reported.
	rep.UnackedArrivals = max(0, arrived-rep.Delivered)
	rep.Latency = Summarize(samples)
	window := last - rep.sendStart
	if window <= 0 {
		window = time.Duration(rep.SendSeconds * float64(time.Second))
	}
	rep.ElapsedSeconds = window.Seconds()
	if window > 0 {
		rep.MessagesPerSecond = float64(rep.Delivered) / window.Seconds()
	}
}

func closeAllOf(peers []*peer) {
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Go(p.close)
	}
	wg.Wait()
}
