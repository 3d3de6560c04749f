package mcpserver

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/meshmsg"
)

func newTestInbox() (*inbox, *time.Time) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	return &inbox{now: func() time.Time { return now }}, &now
}

func msgItem(l *meshLink, id, priority string) *item {
	return &item{link: l, msg: meshmsg.Message{ID: id, Priority: priority}}
}

func ids(items []*item) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, it.msg.ID)
	}
	return out
}

func TestInboxClaims(t *testing.T) {
	t.Parallel()
	b, now := newTestInbox()
	l := &meshLink{}
	for _, it := range []*item{msgItem(l, "a", "next"), msgItem(l, "b", "now"), msgItem(l, "c", "next")} {
		added, dropped := b.add(it)
		require.True(t, added)
		require.Nil(t, dropped)
	}
	added, _ := b.add(msgItem(l, "b", "now"))
	require.False(t, added, "a message pushed again is held once")

	// A hook takes the urgent one; nobody else gets it while the hook holds it.
	hook := b.claim("hook", offerTTL, func(it *item) bool { return it.msg.Priority == "now" })
	require.Equal(t, []string{"b"}, ids(hook))
	require.Equal(t, []string{"a", "c"}, ids(b.claim("check", offerTTL, nil)))
	b.release("check")

	// The hook never confirmed: after the offer lapses the message is
	// handed out again, and the lapsed holder cannot take it any more.
	*now = now.Add(offerTTL + time.Second)
	again := b.claim("check", offerTTL, nil)
	require.Equal(t, []string{"a", "b", "c"}, ids(again))
	require.Empty(t, b.take("hook"))
	require.Equal(t, []string{"a", "b", "c"}, ids(b.take("check")))
	require.Zero(t, b.len())
}

func TestInboxDropsOldest(t *testing.T) {
	t.Parallel()
	b, _ := newTestInbox()
	l := &meshLink{}
	for i := range maxPending {
		b.add(msgItem(l, fmt.Sprint(i), "next"))
	}
	added, dropped := b.add(msgItem(l, "new", "next"))
	require.True(t, added)
	require.Equal(t, "0", dropped.msg.ID)
	require.Equal(t, maxPending, b.len())
}

func TestInboxNotices(t *testing.T) {
	t.Parallel()
	b, _ := newTestInbox()
	l := &meshLink{}
	b.add(msgItem(l, "a", "next"))
	require.Len(t, b.unnotified(), 1)
	require.Empty(t, b.unnotified())
	b.add(msgItem(l, "b", "next"))
	require.Equal(t, []string{"b"}, ids(b.unnotified()))
	require.Equal(t, 2, b.count(nil))
}
