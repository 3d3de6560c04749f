package dbpg

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbpg/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

// InsertMessages inserts a batch of messages with a single COPY, which
// stores all of them or none; db.ErrConflict if a sender already sent a
// message with the same client message id (or the batch repeats one). An
// empty ClientMessageID is stored as NULL, so it never conflicts.
//
// Inside InTx a conflict aborts the caller's transaction, as any failed
// statement does on Postgres: the caller must return the error and let InTx
// roll back.
func (q *queries) InsertMessages(ctx context.Context, ms []db.Message) error {
	if len(ms) == 0 {
		return nil
	}
	params := make([]sqlc.InsertMessagesParams, 0, len(ms))
	for _, m := range ms {
		params = append(params, sqlc.InsertMessagesParams{
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
			CreatedAt:           m.CreatedAt,
			ExpiresAt:           m.ExpiresAt,
		})
	}
	if _, err := q.q.InsertMessages(ctx, q.dbtx, params); err != nil {
		return fmt.Errorf("insert messages: %w", interpretError(err))
	}
	return nil
}

// InsertDeliveries inserts delivery rows, every field as given, with a
// single COPY that stores all of them or none; db.ErrConflict if a row for
// the same message, recipient member and session key exists. Inside InTx a
// conflict aborts the caller's transaction (see InsertMessages).
func (q *queries) InsertDeliveries(ctx context.Context, ds []db.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	params := make([]sqlc.InsertDeliveriesParams, 0, len(ds))
	for _, d := range ds {
		params = append(params, sqlc.InsertDeliveriesParams{
			MessageID:              d.MessageID,
			MeshID:                 d.MeshID,
			RecipientMemberID:      d.RecipientMemberID,
			RecipientSessionPubkey: d.RecipientSessionPubkey,
			Priority:               d.Priority,
			CreatedAt:              d.CreatedAt,
			ExpiresAt:              d.ExpiresAt,
			ClaimedBy:              d.ClaimedBy,
			ClaimExpiresAt:         d.ClaimExpiresAt,
			PushedAt:               d.PushedAt,
			AckedAt:                d.AckedAt,
			ExpiredAt:              d.ExpiredAt,
		})
	}
	if _, err := q.q.InsertDeliveries(ctx, q.dbtx, params); err != nil {
		return fmt.Errorf("insert deliveries: %w", interpretError(err))
	}
	return nil
}

// GetMessage returns a message by id.
func (q *queries) GetMessage(ctx context.Context, id string) (db.Message, error) {
	row, err := q.q.GetMessage(ctx, q.dbtx, id)
	if err != nil {
		return db.Message{}, fmt.Errorf("get message: %w", interpretError(err))
	}
	return messageFromRow(row)
}

// GetMessageByClientID returns the message a member sent with a client
// message id.
func (q *queries) GetMessageByClientID(ctx context.Context, senderMemberID, clientMessageID string) (db.Message, error) {
	row, err := q.q.GetMessageByClientID(ctx, q.dbtx, sqlc.GetMessageByClientIDParams{
		SenderMemberID:  senderMemberID,
		ClientMessageID: clientMessageID,
	})
	if err != nil {
		return db.Message{}, fmt.Errorf("get message by client id: %w", interpretError(err))
	}
	return messageFromRow(row)
}

// FindMessagesByPrefix returns up to limit messages of a mesh whose id
// starts with prefix, by id. The prefix is matched literally (no LIKE
// wildcards).
func (q *queries) FindMessagesByPrefix(ctx context.Context, meshID, prefix string, limit int32) ([]db.Message, error) {
	rows, err := q.q.FindMessagesByPrefix(ctx, q.dbtx, sqlc.FindMessagesByPrefixParams{
		MeshID: meshID,
		Prefix: prefix,
		Lim:    limit,
	})
	if err != nil {
		return nil, fmt.Errorf("find messages by prefix: %w", interpretError(err))
	}
	return conv.MapRows(rows, messageFromRow)
}

// ListDeliveries returns a message's deliveries, by recipient member id and
// session key.
func (q *queries) ListDeliveries(ctx context.Context, messageID string) ([]db.Delivery, error) {
	rows, err := q.q.ListDeliveries(ctx, q.dbtx, messageID)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", interpretError(err))
	}
	return conv.MapRows(rows, deliveryFromRow)
}

// ClaimDeliveries leases the oldest deliverable rows for a session (not
// acked, not expired, unclaimed or with a lapsed claim, so not the
// claimer's own running claims either, allowed priority), marks them
// pushed, and returns them with their messages in (created_at, id) order
// (a message's rows for the member and for the session by session key).
// One statement does it; concurrent claims get disjoint rows (FOR UPDATE
// SKIP LOCKED).
func (q *queries) ClaimDeliveries(ctx context.Context, p db.ClaimDeliveriesParams) ([]db.ClaimedDelivery, error) {
	rows, err := q.q.ClaimDeliveries(ctx, q.dbtx, sqlc.ClaimDeliveriesParams{
		ClaimedBy:     p.ClaimedBy,
		LeaseUntil:    p.LeaseUntil,
		Now:           p.Now,
		MeshID:        p.MeshID,
		MemberID:      p.MemberID,
		SessionPubkey: p.SessionPubkey,
		Priorities:    p.Priorities,
		Lim:           p.Limit,
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", interpretError(err))
	}
	claimed, err := conv.MapRows(rows, func(row sqlc.ClaimDeliveriesRow) (db.ClaimedDelivery, error) {
		d, err := deliveryFromRow(row.Delivery)
		if err != nil {
			return db.ClaimedDelivery{}, err
		}
		m, err := messageFromRow(row.Message)
		if err != nil {
			return db.ClaimedDelivery{}, err
		}
		return db.ClaimedDelivery{Delivery: d, Message: m}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	// UPDATE … RETURNING has no order of its own.
	slices.SortFunc(claimed, func(a, b db.ClaimedDelivery) int {
		return cmp.Or(
			a.Delivery.CreatedAt.Compare(b.Delivery.CreatedAt),
			cmp.Compare(a.Delivery.MessageID, b.Delivery.MessageID),
			cmp.Compare(a.Delivery.RecipientSessionPubkey, b.Delivery.RecipientSessionPubkey),
		)
	})
	return claimed, nil
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
	n, err := q.q.AckDeliveries(ctx, q.dbtx, sqlc.AckDeliveriesParams{
		AckedAt:    at,
		MessageIds: messageIDs,
		ClaimedBy:  claimedBy,
	})
	if err != nil {
		return 0, fmt.Errorf("ack deliveries: %w", interpretError(err))
	}
	return n, nil
}

// AckDeliveriesBatch acks, in one statement, the rows of every ack (see
// AckDeliveries), and counts the rows acked per ack: the statement returns
// each (presence, message) it acked, credited to the first ack naming it.
func (q *queries) AckDeliveriesBatch(ctx context.Context, acks []db.Ack) ([]int64, error) {
	counts := make([]int64, len(acks))
	var p sqlc.AckDeliveriesBatchParams
	first := map[[2]string]int{}
	for i, a := range acks {
		if a.ClaimedBy == "" {
			continue // no presence: unclaimed rows have it
		}
		for _, id := range a.MessageIDs {
			key := [2]string{a.ClaimedBy, id}
			if _, dup := first[key]; dup {
				continue
			}
			first[key] = i
			p.ClaimedBy = append(p.ClaimedBy, a.ClaimedBy)
			p.MessageIds = append(p.MessageIds, id)
			p.AckedAt = append(p.AckedAt, a.At)
		}
	}
	if len(first) == 0 {
		return counts, nil
	}
	rows, err := q.q.AckDeliveriesBatch(ctx, q.dbtx, p)
	if err != nil {
		return nil, fmt.Errorf("ack deliveries: %w", interpretError(err))
	}
	for _, r := range rows {
		counts[first[[2]string{r.ClaimedBy, r.MessageID}]]++
	}
	return counts, nil
}

// LeaveSessionDeliveries deletes the session's copies the member has other
// rows of, then moves the rest to the member. Each statement stands alone:
// a message's rows are all inserted with it, so none appears in between.
func (q *queries) LeaveSessionDeliveries(ctx context.Context, meshID, memberID, sessionPubkey string) (int64, error) {
	if sessionPubkey == "" {
		return 0, nil
	}
	if _, err := q.q.DropSessionCopies(ctx, q.dbtx, sqlc.DropSessionCopiesParams{MeshID: meshID, MemberID: memberID, SessionPubkey: sessionPubkey}); err != nil {
		return 0, fmt.Errorf("drop a session's copies: %w", interpretError(err))
	}
	n, err := q.q.MoveSessionRows(ctx, q.dbtx, sqlc.MoveSessionRowsParams{MeshID: meshID, MemberID: memberID, SessionPubkey: sessionPubkey})
	if err != nil {
		return 0, fmt.Errorf("move a session's rows to its member: %w", interpretError(err))
	}
	return n, nil
}

// ReleaseClaims drops the claims a presence holds on pending (not acked, not
// expired) rows so others may take them, and returns how many.
func (q *queries) ReleaseClaims(ctx context.Context, claimedBy string) (int64, error) {
	n, err := q.q.ReleaseClaims(ctx, q.dbtx, claimedBy)
	if err != nil {
		return 0, fmt.Errorf("release claims: %w", interpretError(err))
	}
	return n, nil
}

// ExpireDeliveries marks unacked deliveries whose expiry is at or before at
// expired and returns how many.
func (q *queries) ExpireDeliveries(ctx context.Context, at time.Time) (int64, error) {
	n, err := q.q.ExpireDeliveries(ctx, q.dbtx, at)
	if err != nil {
		return 0, fmt.Errorf("expire deliveries: %w", interpretError(err))
	}
	return n, nil
}

// CountPendingDeliveries counts the deliveries not acked nor expired.
func (q *queries) CountPendingDeliveries(ctx context.Context) (int64, error) {
	n, err := q.q.CountPendingDeliveries(ctx, q.dbtx)
	if err != nil {
		return 0, fmt.Errorf("count pending deliveries: %w", interpretError(err))
	}
	return n, nil
}

func messageFromRow(row sqlc.Message) (db.Message, error) {
	return db.Message{
		ID:                  row.ID,
		MeshID:              row.MeshID,
		SenderMemberID:      row.SenderMemberID,
		SenderSessionPubkey: row.SenderSessionPubkey,
		SenderName:          row.SenderName,
		TargetSpec:          row.TargetSpec,
		Priority:            row.Priority,
		Nonce:               row.Nonce,
		Ciphertext:          row.Ciphertext,
		Subtype:             row.Subtype,
		ClientMessageID:     conv.Deref(row.ClientMessageID),
		RequestFingerprint:  row.RequestFingerprint,
		ReplyToID:           row.ReplyToID,
		CreatedAt:           row.CreatedAt.UTC(),
		ExpiresAt:           row.ExpiresAt.UTC(),
	}, nil
}

func deliveryFromRow(row sqlc.Delivery) (db.Delivery, error) {
	return db.Delivery{
		MessageID:              row.MessageID,
		MeshID:                 row.MeshID,
		RecipientMemberID:      row.RecipientMemberID,
		RecipientSessionPubkey: row.RecipientSessionPubkey,
		Priority:               row.Priority,
		CreatedAt:              row.CreatedAt.UTC(),
		ExpiresAt:              row.ExpiresAt.UTC(),
		ClaimedBy:              row.ClaimedBy,
		ClaimExpiresAt:         utcPtr(row.ClaimExpiresAt),
		PushedAt:               utcPtr(row.PushedAt),
		AckedAt:                utcPtr(row.AckedAt),
		ExpiredAt:              utcPtr(row.ExpiredAt),
	}, nil
}

// ListLapsedClaims returns the recipients with a delivery whose claim lapsed
// without an ack.
func (q *queries) ListLapsedClaims(ctx context.Context, now time.Time, limit int32) ([]db.Recipient, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := q.q.ListLapsedClaims(ctx, q.dbtx, sqlc.ListLapsedClaimsParams{Now: now, Lim: limit})
	if err != nil {
		return nil, fmt.Errorf("list lapsed claims: %w", interpretError(err))
	}
	return conv.MapRows(rows, func(r sqlc.ListLapsedClaimsRow) (db.Recipient, error) {
		return db.Recipient{MeshID: r.MeshID, MemberID: r.RecipientMemberID}, nil
	})
}
