// Package meshsession is the long-lived session that `claudemesh mcp` holds
// with the broker of one joined mesh: a brokerclient connection that is
// dialed again, with capped and jittered backoff, whenever it drops.
//
// Across reconnects a Session keeps what the broker needs to take the
// session back (the Claude Code session id and the session key, so the
// broker reattaches the presence within its grace period), and what the
// client owes the broker:
//
//   - frames sent without a reply (set_summary, client_ack, ...) wait in a
//     bounded queue while disconnected and are written, in order, after the
//     next hello;
//   - a send whose connection dropped before its ack is sent again with the
//     same client_message_id, which the broker answers with the first
//     message's id instead of queueing it twice;
//   - a push the broker delivers again (because our client_ack did not reach
//     it) is passed on once, and acked again if it was acked before.
//
// It stops reconnecting only when the broker refuses the member for good
// (revoked, unknown, bad signature) or another process takes over the
// Claude Code session.
//
// LoadKey keeps a session key per (mesh, Claude Code session id), so that
// `claude --resume` speaks with the same identity.
package meshsession
