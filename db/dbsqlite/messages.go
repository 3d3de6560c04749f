package dbsqlite

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbsqlite/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

func messageFromRow(r sqlc.Message) (db.Message, error) {
	return db.Message{
		ID:                  r.ID,
		MeshID:              r.MeshID,
		SenderMemberID:      r.SenderMemberID,
		SenderSessionPubkey: r.SenderSessionPubkey,
		SenderName:          r.SenderName,
		TargetSpec:          r.TargetSpec,
		Priority:            r.Priority,
		Nonce:               r.Nonce,
		Ciphertext:          r.Ciphertext,
		Subtype:             r.Subtype,
		ClientMessageID:     conv.Deref(r.ClientMessageID),
		RequestFingerprint:  r.RequestFingerprint,
		ReplyToID:           r.ReplyToID,
		CreatedAt:           fromMicros(r.CreatedAt),
		ExpiresAt:           fromMicros(r.ExpiresAt),
	}, nil
}

func deliveryFromRow(r sqlc.Delivery) (db.Delivery, error) {
	return db.Delivery{
		MessageID:              r.MessageID,
		MeshID:                 r.MeshID,
		RecipientMemberID:      r.RecipientMemberID,
		RecipientSessionPubkey: r.RecipientSessionPubkey,
		Priority:               r.Priority,
		CreatedAt:              fromMicros(r.CreatedAt),
		ExpiresAt:              fromMicros(r.ExpiresAt),
		ClaimedBy:              r.ClaimedBy,
		ClaimExpiresAt:         fromMicrosPtr(r.ClaimExpiresAt),
		PushedAt:               fromMicrosPtr(r.PushedAt),
		AckedAt:                fromMicrosPtr(r.AckedAt),
		ExpiredAt:              fromMicrosPtr(r.ExpiredAt),
	}, nil
}

// InsertMessages inserts a batch of messages, all or none; db.ErrConflict
// if a sender already sent a message with the same client message id (or
// the batch repeats one). An empty ClientMessageID is stored as NULL, which
// the unique index ignores. sqlc cannot batch inserts on SQLite
// (sqlc-dev/sqlc#3802), so the messages go one statement each, in one
// transaction: the Store's own, or the caller's inside InTx (see withTx).
func (q *queries) InsertMessages(ctx context.Context, ms []db.Message) error {
	if len(ms) == 0 {
		return nil
	}
	return wrapErr("insert messages", q.withTx(ctx, func(q *queries) error {
		for _, m := range ms {
			err := q.q.InsertMessage(ctx, q.dbtx, sqlc.InsertMessageParams{
				ID:                  m.ID,
				MeshID:              m.MeshID,
				SenderMemberID:      m.SenderMemberID,
				SenderSessionPubkey: m.SenderSessionPubkey,
				SenderName:          m.SenderName,
				TargetSpec:          m.TargetSpec,
				Priority:            m.Priority,
				Nonce:               m.Nonce,
				Ciphertext:          m.Ciphertext,
				Subtype:             m.Subtype,
				ClientMessageID:     conv.NullString(m.ClientMessageID),
				RequestFingerprint:  m.RequestFingerprint,
				ReplyToID:           m.ReplyToID,
				CreatedAt:           micros(m.CreatedAt),
				ExpiresAt:           micros(m.ExpiresAt),
			})
			if err != nil {
				return err
			}
		}
		return nil
	}))
}

// InsertDeliveries inserts delivery rows, every field as given, all or
// none; db.ErrConflict if a row for the same message, recipient member and
// session key exists. As in InsertMessages, the rows go one statement each,
// in one transaction.
func (q *queries) InsertDeliveries(ctx context.Context, ds []db.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	return wrapErr("insert deliveries", q.withTx(ctx, func(q *queries) error {
		for _, d := range ds {
			err := q.q.InsertDelivery(ctx, q.dbtx, sqlc.InsertDeliveryParams{
				MessageID:              d.MessageID,
				MeshID:                 d.MeshID,
				RecipientMemberID:      d.RecipientMemberID,
				RecipientSessionPubkey: d.RecipientSessionPubkey,
				Priority:               d.Priority,
				CreatedAt:              micros(d.CreatedAt),
				ExpiresAt:              micros(d.ExpiresAt),
				ClaimedBy:              d.ClaimedBy,
				ClaimExpiresAt:         microsPtr(d.ClaimExpiresAt),
				PushedAt:               microsPtr(d.PushedAt),
				AckedAt:                microsPtr(d.AckedAt),
				ExpiredAt:              microsPtr(d.ExpiredAt),
			})
			if err != nil {
				return err
			}
		}
		return nil
	}))
}

// GetMessage returns a message by id.
func (q *queries) GetMessage(ctx context.Context, id string) (db.Message, error) {
	r, err := q.q.GetMessage(ctx, q.dbtx, id)
	if err != nil {
		return db.Message{}, wrapErr("get message", err)
	}
	m, err := messageFromRow(r)
	return m, wrapErr("get message", err)
}

// GetMessageByClientID returns the message a member sent with a client
// message id.
func (q *queries) GetMessageByClientID(ctx context.Context, senderMemberID, clientMessageID string) (db.Message, error) {
	r, err := q.q.GetMessageByClientID(ctx, q.dbtx, sqlc.GetMessageByClientIDParams{
		SenderMemberID:  senderMemberID,
		ClientMessageID: &clientMessageID,
	})
	if err != nil {
		return db.Message{}, wrapErr("get message by client id", err)
	}
	m, err := messageFromRow(r)
	return m, wrapErr("get message by client id", err)
}

// FindMessagesByPrefix returns up to limit messages of a mesh whose id
// starts with prefix, by id.
func (q *queries) FindMessagesByPrefix(ctx context.Context, meshID, prefix string, lim int32) ([]db.Message, error) {
	rows, err := q.q.FindMessagesByPrefix(ctx, q.dbtx, sqlc.FindMessagesByPrefixParams{
		MeshID: meshID,
		// substr counts characters, not bytes.
		PrefixLen: int64(utf8.RuneCountInString(prefix)),
		Prefix:    prefix,
		Limit:     limit(lim),
	})
	if err != nil {
		return nil, wrapErr("find messages by prefix", err)
	}
	out, err := conv.MapRows(rows, messageFromRow)
	return out, wrapErr("find messages by prefix", err)
}

// ListDeliveries returns a message's deliveries, by recipient member id and
// session key.
func (q *queries) ListDeliveries(ctx context.Context, messageID string) ([]db.Delivery, error) {
	rows, err := q.q.ListDeliveries(ctx, q.dbtx, messageID)
	if err != nil {
		return nil, wrapErr("list deliveries", err)
	}
	out, err := conv.MapRows(rows, deliveryFromRow)
	return out, wrapErr("list deliveries", err)
}

// ClaimDeliveries leases the oldest deliverable rows for a session and
// returns them with their messages in (created_at, id) order (a message's
// rows for the member and for the session by session key).
//
// Postgres does this in one UPDATE … FOR UPDATE SKIP LOCKED. SQLite needs
// no row locks: the lease is one UPDATE … RETURNING, and the message read
// runs with it in one transaction that began IMMEDIATE, so it holds the
// database's only write lock throughout and a concurrent claim waits, then
// sees the rows leased. Called on the Store it opens that transaction
// itself; inside InTx it runs in the caller's.
func (q *queries) ClaimDeliveries(ctx context.Context, p db.ClaimDeliveriesParams) ([]db.ClaimedDelivery, error) {
	if p.Limit <= 0 || len(p.Priorities) == 0 {
		return nil, nil
	}
	priorities, err := conv.EncodeArray(p.Priorities)
	if err != nil {
		return nil, wrapErr("claim deliveries", err)
	}
	var out []db.ClaimedDelivery
	err = q.withTx(ctx, func(q *queries) error {
		rows, err := q.q.ClaimDeliveries(ctx, q.dbtx, sqlc.ClaimDeliveriesParams{
			ClaimedBy:     p.ClaimedBy,
			LeaseUntil:    microsOf(p.LeaseUntil),
			Now:           microsOf(p.Now),
			MeshID:        p.MeshID,
			MemberID:      p.MemberID,
			SessionPubkey: p.SessionPubkey,
			Priorities:    string(priorities),
			Limit:         int64(p.Limit),
		})
		if err != nil || len(rows) == 0 {
			return err
		}
		ids := make([]string, 0, len(rows))
		for _, r := range rows {
			ids = append(ids, r.MessageID)
		}
		slices.Sort(ids)
		idArray, err := conv.EncodeArray(slices.Compact(ids))
		if err != nil {
			return err
		}
		msgRows, err := q.q.ListMessagesByIDs(ctx, q.dbtx, string(idArray))
		if err != nil {
			return err
		}
		msgs := make(map[string]db.Message, len(msgRows))
		for _, r := range msgRows {
			m, err := messageFromRow(r)
			if err != nil {
				return err
			}
			msgs[m.ID] = m
		}
		out = make([]db.ClaimedDelivery, 0, len(rows))
		for _, r := range rows {
			d, err := deliveryFromRow(r)
			if err != nil {
				return err
			}
			m, ok := msgs[d.MessageID]
			if !ok {
				return fmt.Errorf("message %s of a delivery is missing", d.MessageID)
			}
			out = append(out, db.ClaimedDelivery{Delivery: d, Message: m})
		}
		return nil
	})
	if err != nil {
		return nil, wrapErr("claim deliveries", err)
	}
	// UPDATE … RETURNING has no order of its own.
	slices.SortFunc(out, func(a, b db.ClaimedDelivery) int {
		return cmp.Or(
			a.Delivery.CreatedAt.Compare(b.Delivery.CreatedAt),
			cmp.Compare(a.Delivery.MessageID, b.Delivery.MessageID),
			cmp.Compare(a.Delivery.RecipientSessionPubkey, b.Delivery.RecipientSessionPubkey),
		)
	})
	return out, nil
}

// AckDeliveries marks acked, in one statement, the not yet acked deliveries
// of these messages claimed by claimedBy, and returns how many. Unknown ids,
// rows claimed by others and rows already acked (which keep their first ack
// time) are left alone. No ids, or an empty claimedBy (which is no presence:
// unclaimed rows have it), ack nothing and run no query.
func (q *queries) AckDeliveries(ctx context.Context, claimedBy string, messageIDs []string, at time.Time) (int64, error) {
	if len(messageIDs) == 0 || claimedBy == "" {
		return 0, nil
	}
	ids, err := conv.EncodeArray(messageIDs)
	if err != nil {
		return 0, wrapErr("ack deliveries", err)
	}
	n, err := q.q.AckDeliveries(ctx, q.dbtx, sqlc.AckDeliveriesParams{
		AckedAt:    microsOf(at),
		MessageIds: string(ids),
		ClaimedBy:  claimedBy,
	})
	if err != nil {
		return 0, wrapErr("ack deliveries", err)
	}
	return n, nil
}

// AckDeliveriesBatch runs AckDeliveries for each ack in turn (a statement
// costs no round trip here), in one transaction.
func (q *queries) AckDeliveriesBatch(ctx context.Context, acks []db.Ack) ([]int64, error) {
	counts := make([]int64, len(acks))
	err := q.withTx(ctx, func(q *queries) error {
		for i, a := range acks {
			n, err := q.AckDeliveries(ctx, a.ClaimedBy, a.MessageIDs, a.At)
			if err != nil {
				return err
			}
			counts[i] = n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// LeaveSessionDeliveries deletes the session's copies the member has other
// rows of, then moves the rest to the member, in one transaction.
func (q *queries) LeaveSessionDeliveries(ctx context.Context, meshID, memberID, sessionPubkey string) (int64, error) {
	if sessionPubkey == "" {
		return 0, nil
	}
	var n int64
	err := q.withTx(ctx, func(q *queries) error {
		if _, err := q.q.DropSessionCopies(ctx, q.dbtx, sqlc.DropSessionCopiesParams{MeshID: meshID, MemberID: memberID, SessionPubkey: sessionPubkey}); err != nil {
			return err
		}
		var err error
		n, err = q.q.MoveSessionRows(ctx, q.dbtx, sqlc.MoveSessionRowsParams{MeshID: meshID, MemberID: memberID, SessionPubkey: sessionPubkey})
		return err
	})
	return n, wrapErr("leave a session's deliveries", err)
}

// ReleaseClaims drops the claims a presence holds on pending deliveries so
// others may take the rows, and returns how many.
func (q *queries) ReleaseClaims(ctx context.Context, claimedBy string) (int64, error) {
	n, err := q.q.ReleaseClaims(ctx, q.dbtx, claimedBy)
	return n, wrapErr("release claims", err)
}

// ExpireDeliveries marks unacked deliveries whose expiry is at or before at
// expired, and returns how many.
func (q *queries) ExpireDeliveries(ctx context.Context, at time.Time) (int64, error) {
	n, err := q.q.ExpireDeliveries(ctx, q.dbtx, microsOf(at))
	return n, wrapErr("expire deliveries", err)
}

// CountPendingDeliveries counts the deliveries neither acked nor expired.
func (q *queries) CountPendingDeliveries(ctx context.Context) (int64, error) {
	n, err := q.q.CountPendingDeliveries(ctx, q.dbtx)
	return n, wrapErr("count pending deliveries", err)
}

// ListLapsedClaims returns the recipients with a delivery whose claim lapsed
// without an ack.
func (q *queries) ListLapsedClaims(ctx context.Context, now time.Time, n int32) ([]db.Recipient, error) {
	if n <= 0 {
		return nil, nil
	}
	rows, err := q.q.ListLapsedClaims(ctx, q.dbtx, sqlc.ListLapsedClaimsParams{Now: microsOf(now), Lim: limit(n)})
	if err != nil {
		return nil, wrapErr("list lapsed claims", err)
	}
	return conv.MapRows(rows, func(r sqlc.ListLapsedClaimsRow) (db.Recipient, error) {
		return db.Recipient{MeshID: r.MeshID, MemberID: r.RecipientMemberID}, nil
	})
}
