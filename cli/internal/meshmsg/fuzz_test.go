package meshmsg_test

import (
	"strings"
	"testing"

	"claudemesh.dev/cli/internal/meshmsg"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
	"claudemesh.dev/services/identity"
)

// FuzzResolve checks that no input panics Resolve and that whatever it
// resolves is a target the broker can route.
func FuzzResolve(f *testing.F) {
	for _, seed := range [][3]string{
		{"alice", "Alice", strings.Repeat("a", 64)},
		{"@eng/backend", "bob", strings.Repeat("b", 64)},
		{"*", "", ""},
		{"@all", "x", "short"},
		{strings.Repeat("A", 64), "Alice", strings.Repeat("a", 64)},
		{"li", "alice (cli)", strings.Repeat("c", 64)},
		{"@", "@", "@"},
		{"", "", ""},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, to, name, key string) {
		cli := "cli"
		peers := []*edgev1.PeerInfo{
			{DisplayName: name, Pubkey: key, MemberPubkey: key},
			{DisplayName: name + "2", Pubkey: strings.ToLower(key), PeerType: &cli},
			nil,
			{DisplayName: strings.ToUpper(name), Pubkey: strings.Repeat("e", 64), MemberPubkey: key},
		}
		got, err := meshmsg.Resolve(to, peers)
		if err != nil {
			return
		}
		switch {
		case got.Direct:
			if !identity.IsPublicHex(got.Spec) {
				t.Fatalf("direct target %q is not a lowercase key", got.Spec)
			}
		case got.Spec == "*":
		case strings.HasPrefix(got.Spec, "@") && len(got.Spec) > 1:
		default:
			t.Fatalf("Resolve(%q) = %+v", to, got)
		}
		if got.Name == "" {
			t.Fatalf("Resolve(%q) has no name", to)
		}
	})
}

// FuzzDecode checks that no push a broker could send panics Decode or
// Render.
func FuzzDecode(f *testing.F) {
	f.Add("", "aGVsbG8=", strings.Repeat("a", 64), "", "*", "2026-03-01T14:00:00Z", "Alice")
	f.Add("AAAA", "AAAA", "system", "system", "", "", "")
	f.Add("", "", "webhook:ci", "webhook", "", "x", "")
	f.Add("", "", strings.Repeat("F", 64), "reminder", strings.Repeat("f", 64), "", "")
	f.Fuzz(func(t *testing.T, nonce, ciphertext, sender, subtype, target, createdAt, name string) {
		p := &edgev1.Push{
			SenderPubkey: sender, Nonce: nonce, Ciphertext: ciphertext, CreatedAt: createdAt,
			Subtype: &subtype, TargetSpec: &target, SenderName: &name,
		}
		m := meshmsg.Decode(p, nil, nil)
		if m.Kind == "" || m.FromName == "" {
			t.Fatalf("Decode gave %+v", m)
		}
		_ = meshmsg.Render(m, "mesh", m.SentAt)
	})
}
