package dbsqlite

import "context"

// Notify does nothing: a SQLite database serves one broker process, which
// has no other replicas to tell. The Store does not implement db.Listener.
func (q *queries) Notify(context.Context, string, string) error {
	return nil
}
