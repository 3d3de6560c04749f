package dbpg

import (
	"context"
	"fmt"

	"claudemesh.dev/db/dbpg/internal/sqlc"
)

// Notify sends payload on channel with pg_notify. Postgres delivers it to
// every session listening on the channel (see Store.Listen) when the
// transaction commits, or at once outside a transaction; a rolled-back
// transaction's notifications are dropped. Within one transaction, Postgres
// folds identical channel and payload pairs into one notification.
func (q *queries) Notify(ctx context.Context, channel, payload string) error {
	err := q.q.Notify(ctx, q.dbtx, sqlc.NotifyParams{Channel: channel, Payload: payload})
	if err != nil {
		return fmt.Errorf("notify %q: %w", channel, interpretError(err))
	}
	return nil
}
