package mesh

import (
	"context"
	"time"
)

// sweepLoop runs the periodic work of a replica until ctx is done, then
// ends every session it serves.
func (s *Service) sweepLoop(ctx context.Context) {
	heartbeat := time.NewTicker(s.cfg.HeartbeatInterval)
	defer heartbeat.Stop()
	// Status TTLs and pending hook statuses are swept more often than they
	// expire, so nothing outlives its TTL by more than a quarter of it.
	statuses := time.NewTicker(min(s.cfg.WorkingTTL, s.cfg.PendingStatusTTL) / 4)
	defer statuses.Stop()
	// Lapsed pushes are pushed again within a third of the lease.
	leases := time.NewTicker(s.cfg.DeliveryLease / 3)
	defer leases.Stop()
	expiry := time.NewTicker(time.Minute)
	defer expiry.Stop()
	for {
		select {
		case <-ctx.Done():
			s.close()
			return
		case <-heartbeat.C:
			s.heartbeat(ctx)
		case <-statuses.C:
			s.sweepStatuses(ctx)
		case <-leases.C:
			s.redeliver(ctx)
		case <-expiry.C:
			s.expire(ctx)
		}
	}
}

// heartbeat refreshes this replica's presences in one statement, and closes
// presences whose replica stopped refreshing them.
func (s *Service) heartbeat(ctx context.Context) {
	now := s.now()
	if _, err := s.store.HeartbeatReplica(ctx, s.cfg.ReplicaID, now); err != nil {
		s.log.ErrorContext(ctx, "heartbeat presences", "err", err)
	}
	stale, err := s.store.DisconnectStalePresences(ctx, now.Add(-s.cfg.StaleAfter), now)
	if err != nil {
		s.log.ErrorContext(ctx, "sweep stale presences", "err", err)
		return
	}
	if len(stale) > 0 {
		s.log.InfoContext(ctx, "closed stale presences", "count", len(stale))
		s.announceStale(stale, now)
		for _, p := range stale {
			s.leaveDeliveries(ctx, p.MeshID, p.MemberID, p.SessionPubkey)
		}
	}
}

// sweepStatuses flips sessions stuck in "working" back to "idle" and drops
// pending hook statuses that no session claimed in time.
func (s *Service) sweepStatuses(ctx context.Context) {
	now := s.now()
	ids, err := s.store.ExpireWorkingStatuses(ctx, now.Add(-s.cfg.WorkingTTL), now)
	if err != nil {
		s.log.ErrorContext(ctx, "expire working statuses", "err", err)
	}
	for _, id := range ids {
		if sess := s.hub.get(id); sess != nil {
			sess.claimMu.Lock()
			sess.mu.Lock()
			flipped := sess.status == statusWorking
			if flipped {
				sess.status, sess.statusSrc, sess.statusAt = statusIdle, sourceInferred, now
			}
			sess.mu.Unlock()
			sess.claimMu.Unlock()
			if flipped {
				s.requestDrain(sess)
			}
		}
	}
	if _, err := s.store.DeletePendingStatuses(ctx, now.Add(-s.cfg.PendingStatusTTL)); err != nil {
		s.log.ErrorContext(ctx, "sweep pending statuses", "err", err)
	}
}

// close ends every session of this replica (their sockets are closing with
// the broker) and marks its presences disconnected.
func (s *Service) close() {
	ctx := context.Background()
	for _, sess := range s.hub.all() {
		s.endSession(ctx, sess, endShutdown)
	}
	s.wg.Wait()
	if _, err := s.store.DisconnectReplica(ctx, s.cfg.ReplicaID, s.now()); err != nil {
		s.log.ErrorContext(ctx, "close this replica's presences", "err", err)
	}
}

// expire marks the deliveries that waited past the message TTL expired, so
// that senders see them as such.
func (s *Service) expire(ctx context.Context) {
	n, err := s.store.ExpireDeliveries(ctx, s.now())
	if err != nil {
		s.log.ErrorContext(ctx, "expire deliveries", "err", err)
		return
	}
	if n > 0 {
		s.log.InfoContext(ctx, "deliveries expired", "count", n)
	}
}

// Recover closes what a previous run of this replica left behind when it
// died without shutting down (its presences, and the claims they held), so
// that their mail is pushed again at once instead of after the stale sweep
// and the leases. A replica keeps its id across restarts for this. Call it
// before serving: it would close the presences of sessions already opened.
func (s *Service) Recover(ctx context.Context) {
	ids, err := s.store.DisconnectReplica(ctx, s.cfg.ReplicaID, s.now())
	if err != nil {
		s.log.ErrorContext(ctx, "close a previous run's presences", "err", err)
		return
	}
	for _, id := range ids {
		if _, err := s.store.ReleaseClaims(ctx, id); err != nil {
			s.log.ErrorContext(ctx, "release a previous run's claims", "presence_id", id, "err", err)
		}
	}
	if len(ids) > 0 {
		s.log.InfoContext(ctx, "recovered from an unclean stop", "presences", len(ids))
	}
}
