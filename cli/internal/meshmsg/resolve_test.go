package meshmsg_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/meshmsg"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

// key is a 64-hex key made of one repeated digit.
func key(c string) string { return strings.Repeat(c, 64) }

func peer(name, session, member, peerType string) *edgev1.PeerInfo {
	p := &edgev1.PeerInfo{DisplayName: name, Pubkey: session, MemberPubkey: member}
	if peerType != "" {
		p.PeerType = &peerType
	}
	return p
}

func TestResolve(t *testing.T) {
	t.Parallel()
	peers := []*edgev1.PeerInfo{
		peer("Alice", key("a"), key("1"), "ai"),
		peer("alice-bot", key("b"), key("2"), "ai"),
		peer("Bob", key("c"), key("3"), "ai"),
		peer("Bobby", key("d"), key("4"), "ai"),
		peer("carol (cli)", key("e"), key("5"), "cli"),
		peer("carol", key("f"), key("5"), "ai"),
		peer("dave (cli)", key("9"), key("6"), "cli"),
		peer("dave (cli)", key("8"), key("6"), "cli"),
		peer("gina (cli)", key("5")[:63]+"0", "", "cli"),
		peer("erin", key("7"), key("0"), "ai"),
		peer("erin-2", strings.Repeat("ab", 32), key("0"), "ai"),
		peer("Frank", strings.Repeat("12", 32), key("a"), "ai"),
		peer("frank", strings.Repeat("13", 32), key("b"), "ai"),
		nil,
		peer("broken", "not-a-key", key("e"), "ai"),
	}
	tests := []struct {
		name    string
		to      string
		want    meshmsg.Target
		wantErr string
		noPeer  bool
	}{
		{name: "Star", to: "*", want: meshmsg.Target{Spec: "*", Name: "*"}},
		{name: "AtAll", to: "@all", want: meshmsg.Target{Spec: "*", Name: "*"}},
		{name: "AtAllUpper", to: "@ALL", want: meshmsg.Target{Spec: "*", Name: "*"}},
		{name: "Group", to: "@eng", want: meshmsg.Target{Spec: "@eng", Name: "@eng"}},
		{name: "NestedGroup", to: "@eng/backend", want: meshmsg.Target{Spec: "@eng/backend", Name: "@eng/backend"}},
		{name: "BareAt", to: "@", wantErr: "needs a group name"},
		{name: "Empty", to: "  ", wantErr: "no recipient"},
		{name: "SessionKey", to: key("c"), want: meshmsg.Target{Spec: key("c"), Name: "Bob", Direct: true}},
		{name: "SessionKeyUpper", to: strings.ToUpper(strings.Repeat("ab", 32)), want: meshmsg.Target{Spec: strings.Repeat("ab", 32), Name: "erin-2", Direct: true}},
		{name: "MemberKeyOneSession", to: key("3"), want: meshmsg.Target{Spec: key("c"), Name: "Bob", Direct: true}},
		{name: "MemberKeySeveralSessions", to: key("0"), want: meshmsg.Target{Spec: key("0"), Name: "erin", Direct: true}},
		{name: "UnknownKey", to: key("2")[:63] + "f", want: meshmsg.Target{Spec: key("2")[:63] + "f", Name: "peer-22222222", Direct: true}},
		{name: "ExactBeatsSubstring", to: "alice", want: meshmsg.Target{Spec: key("a"), Name: "Alice", Direct: true}},
		{name: "ExactCaseInsensitive", to: "BOB", want: meshmsg.Target{Spec: key("c"), Name: "Bob", Direct: true}},
		{name: "UniqueSubstring", to: "bot", want: meshmsg.Target{Spec: key("b"), Name: "alice-bot", Direct: true}},
		{name: "AmbiguousSubstring", to: "ob", wantErr: `"ob" matches 2 peers: Bob (cccccccc), Bobby (dddddddd); send to the full key of one of them instead`},
		{name: "SubstringOfOneMember", to: "rin", want: meshmsg.Target{Spec: key("0"), Name: "erin", Direct: true}},
		{name: "CLISessionByNameIsItsMember", to: "dave (CLI)", want: meshmsg.Target{Spec: key("6"), Name: "dave (cli)", Direct: true}},
		{name: "OneCLISessionByName", to: "Carol (cli)", want: meshmsg.Target{Spec: key("5"), Name: "carol (cli)", Direct: true}},
		{name: "CLISessionByKeyIsThatSession", to: key("9"), want: meshmsg.Target{Spec: key("9"), Name: "dave (cli)", Direct: true}},
		{name: "LastingSessionBeatsCLI", to: "carol", want: meshmsg.Target{Spec: key("f"), Name: "carol", Direct: true}},
		{name: "SubstringPrefersLasting", to: "aro", want: meshmsg.Target{Spec: key("f"), Name: "carol", Direct: true}},
		{name: "SessionsOfOneMember", to: "dave", want: meshmsg.Target{Spec: key("6"), Name: "dave (cli)", Direct: true}},
		{name: "ExactBeatsSameMemberSubstring", to: "erin", want: meshmsg.Target{Spec: key("7"), Name: "erin", Direct: true}},
		{name: "AmbiguousExact", to: "frank", wantErr: `"frank" matches 2 peers: Frank (12121212), frank (13131313); send to the full key`},
		{name: "CLISessionWithoutMemberKey", to: "gina", want: meshmsg.Target{Spec: key("5")[:63] + "0", Name: "gina (cli)", Direct: true}},
		{name: "None", to: "zed", wantErr: `no connected peer named "zed"; list_peers shows who is online`, noPeer: true},
		{name: "UnaddressableIgnored", to: "broken", wantErr: "no connected peer", noPeer: true},
		{name: "ShortHexIsAName", to: "abcdef", wantErr: "no connected peer", noPeer: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := meshmsg.Resolve(tt.to, peers)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Equal(t, tt.noPeer, errors.Is(err, meshmsg.ErrNoPeer))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestResolveNoPeers(t *testing.T) {
	t.Parallel()
	_, err := meshmsg.Resolve("anyone", nil)
	require.ErrorIs(t, err, meshmsg.ErrNoPeer)
	got, err := meshmsg.Resolve("@eng", nil)
	require.NoError(t, err)
	require.Equal(t, "@eng", got.Spec)
}
