package meshsession

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/config"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
	"claudemesh.dev/services/identity"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	lo, hi := 250*time.Millisecond, 30*time.Second
	for _, tc := range []struct {
		attempt int
		ceiling time.Duration
	}{
		{0, 2 * lo},
		{1, 4 * lo},
		{3, 16 * lo},
		{6, hi},
		{40, hi},
		{1000, hi},
	} {
		t.Run(fmt.Sprint(tc.attempt), func(t *testing.T) {
			t.Parallel()
			longest := time.Duration(0)
			for range 1000 {
				d := backoff(lo, hi, tc.attempt)
				require.GreaterOrEqual(t, d, lo)
				require.LessOrEqual(t, d, tc.ceiling)
				longest = max(longest, d)
			}
			require.Greater(t, longest, lo, "jittered")
		})
	}
}

func TestPushLog(t *testing.T) {
	t.Parallel()
	l := newPushLog(3)
	seen, _ := l.seen("a")
	require.False(t, seen)
	seen, acked := l.seen("a")
	require.True(t, seen)
	require.False(t, acked)

	l.markAcked("a")
	l.markAcked("b") // acked before it was pushed: by another path
	seen, acked = l.seen("b")
	require.True(t, seen)
	require.True(t, acked)

	l.seen("c")
	l.seen("d") // forgets a, the oldest
	seen, _ = l.seen("a")
	require.False(t, seen)
	require.Len(t, l.acked, 3)
}

// TestHelloGroupsFollowJoinAndLeave: a new presence says hello with the
// groups the session joined and left since it started, not the initial
// ones.
func TestHelloGroupsFollowJoinAndLeave(t *testing.T) {
	t.Parallel()
	member, err := identity.Generate()
	require.NoError(t, err)
	s := Start(t.Context(), Options{
		Mesh:       config.Mesh{MeshID: "m", MemberID: "u", Slug: "team", Pubkey: member.PublicHex(), SecretKey: member.SecretHex(), BrokerURL: "ws://127.0.0.1:1/ws"},
		Groups:     []config.Group{{Name: "eng", Role: "lead"}, {Name: "ops"}},
		MinBackoff: time.Hour,
	})
	t.Cleanup(func() { _ = s.Close() })
	role := "member"
	s.Send(&edgev1.JoinGroup{Name: "eng/api", Role: &role})
	s.Send(&edgev1.LeaveGroup{Name: "ops"})
	s.Send(&edgev1.JoinGroup{Name: "eng"}) // again, now without a role
	require.Equal(t, []config.Group{{Name: "eng/api", Role: "member"}, {Name: "eng"}}, s.dialOptions(newGate(nil)).Groups)
}
