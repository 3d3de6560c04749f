package mesh_test

import (
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
	"claudemesh.dev/db/storetest"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/invite"
	"claudemesh.dev/services/meshtest"
)

func TestCreateInvite(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		b := meshtest.Start(t, engine.Open(t))
		m := b.CreateMesh(t, "inviting", "")
		other := b.CreateMesh(t, "other", "")

		t.Run("AnonymousWithOwnerSignature", func(t *testing.T) {
			t.Parallel()
			token := m.SignInvite(t, meshtest.InviteOptions{Role: "admin"})
			res, err := b.Mesh.CreateInvite(t.Context(), &meshv1.CreateInviteRequest{MeshId: m.ID, Token: token, MaxUses: 3})
			require.NoError(t, err)
			require.Equal(t, b.URL+"/join/"+token, res.GetJoinUrl())
			inv := res.GetInvite()
			require.Equal(t, m.ID, inv.GetMeshId())
			require.Equal(t, token, inv.GetToken())
			require.Equal(t, int32(3), inv.GetMaxUses())
			require.Zero(t, inv.GetUsedCount())
			require.Equal(t, meshv1.MemberRole_MEMBER_ROLE_ADMIN, inv.GetRole(), "the role comes from the signed payload")
			require.Nil(t, inv.GetRevokeTime())
			listed := inviteByToken(t, b, m.ID, token)
			require.Equal(t, inv.GetId(), listed.GetId())
		})

		t.Run("Defaults", func(t *testing.T) {
			t.Parallel()
			token := m.SignInvite(t, meshtest.InviteOptions{})
			// The mesh id may be left out: the signed payload names it.
			res, err := b.Mesh.CreateInvite(t.Context(), &meshv1.CreateInviteRequest{Token: token})
			require.NoError(t, err)
			require.Equal(t, m.ID, res.GetInvite().GetMeshId())
			require.Equal(t, int32(1), res.GetInvite().GetMaxUses(), "invites are single-use by default")
			require.Equal(t, meshv1.MemberRole_MEMBER_ROLE_MEMBER, res.GetInvite().GetRole())
		})

		t.Run("DuplicateToken", func(t *testing.T) {
			t.Parallel()
			token := m.Invite(t, meshtest.InviteOptions{})
			_, err := b.Mesh.CreateInvite(t.Context(), &meshv1.CreateInviteRequest{MeshId: m.ID, Token: token})
			requireCode(t, err, connect.CodeAlreadyExists, "")
		})

		t.Run("Expired", func(t *testing.T) {
			t.Parallel()
			token := m.SignInvite(t, meshtest.InviteOptions{Expires: -time.Minute})
			_, err := b.Mesh.CreateInvite(t.Context(), &meshv1.CreateInviteRequest{MeshId: m.ID, Token: token})
			requireCode(t, err, connect.CodeInvalidArgument, "invite_expired")
		})

		t.Run("LinkForms", func(t *testing.T) {
			t.Parallel()
			for _, form := range []func(token string) string{
				invite.ICURL,
				func(token string) string { return "https://mesh.example.com/join/" + token },
				func(token string) string { return "https://mesh.example.com/fr/join/" + token },
			} {
				token := m.SignInvite(t, meshtest.InviteOptions{})
				res, err := b.Mesh.CreateInvite(t.Context(), &meshv1.CreateInviteRequest{MeshId: m.ID, Token: form(token)})
				require.NoError(t, err)
				require.Equal(t, token, res.GetInvite().GetToken(), "the bare token is stored")
			}
		})

		t.Run("Malformed", func(t *testing.T) {
			t.Parallel()
			for _, token := range []string{"", "nope", "ic://join/%%%", strings.Repeat("A", 40)} {
				_, err := b.Mesh.CreateInvite(t.Context(), &meshv1.CreateInviteRequest{MeshId: m.ID, Token: token})
				requireCode(t, err, connect.CodeInvalidArgument, "invite_malformed")
			}
		})

		t.Run("MaxUsesOutOfRange", func(t *testing.T) {
			t.Parallel()
			for _, maxUses := range []int32{-1, 10001} {
				token := m.SignInvite(t, meshtest.InviteOptions{})
				_, err := b.Mesh.CreateInvite(t.Context(), &meshv1.CreateInviteRequest{MeshId: m.ID, Token: token, MaxUses: maxUses})
				requireCode(t, err, connect.CodeInvalidArgument, "")
			}
		})

		t.Run("MeshMismatch", func(t *testing.T) {
			t.Parallel()
			token := m.SignInvite(t, meshtest.InviteOptions{})
			_, err := b.Mesh.CreateInvite(t.Context(), &meshv1.CreateInviteRequest{MeshId: other.ID, Token: token})
			requireCode(t, err, connect.CodeInvalidArgument, "invite_mesh_mismatch")
			require.Empty(t, listInvites(t, b, other.ID))
		})

		t.Run("MeshNotFound", func(t *testing.T) {
			t.Parallel()
			token := signToken(t, invite.Payload{MeshID: db.NewID(), ExpiresAt: time.Now().Add(time.Hour).Unix()}, meshtest.NewKey(t))
			_, err := b.Mesh.CreateInvite(t.Context(), &meshv1.CreateInviteRequest{Token: token})
			requireCode(t, err, connect.CodeNotFound, "mesh_not_found")
		})

		t.Run("OwnerMismatch", func(t *testing.T) {
			t.Parallel()
			// Signed correctly, but by a key that is not the mesh owner's.
			token := signToken(t, invite.Payload{MeshID: m.ID, MeshSlug: m.Slug, ExpiresAt: time.Now().Add(time.Hour).Unix()}, meshtest.NewKey(t))
			_, err := b.Mesh.CreateInvite(t.Context(), &meshv1.CreateInviteRequest{MeshId: m.ID, Token: token})
			requireCode(t, err, connect.CodePermissionDenied, "invite_owner_mismatch")
		})

		t.Run("PresetValidated", func(t *testing.T) {
			t.Parallel()
			for _, preset := range []*meshv1.InvitePreset{
				{DisplayName: "bad\x00name"},
				{Groups: []*meshv1.GroupMembership{{Name: "has space"}}},
			} {
				token := m.SignInvite(t, meshtest.InviteOptions{})
				_, err := b.Mesh.CreateInvite(t.Context(), &meshv1.CreateInviteRequest{MeshId: m.ID, Token: token, Preset: preset})
				requireCode(t, err, connect.CodeInvalidArgument, "")
			}
		})

		t.Run("Tampered", func(t *testing.T) {
			t.Parallel()
			// Changing any signed field after signing breaks the signature.
			tests := []struct {
				name   string
				change func(p *invite.Payload)
			}{
				{"BrokerURL", func(p *invite.Payload) { p.BrokerURL = "wss://evil.example.com/ws" }},
				{"ExpiresAt", func(p *invite.Payload) { p.ExpiresAt += 3600 }},
				{"MeshID", func(p *invite.Payload) { p.MeshID = other.ID }},
				{"MeshRootKey", func(p *invite.Payload) { p.MeshRootKey = invite.NewRootKey() }},
				{"MeshSlug", func(p *invite.Payload) { p.MeshSlug = "renamed" }},
				{"OwnerPubkey", func(p *invite.Payload) { p.OwnerPubkey = other.Owner.PublicHex() }},
				{"Role", func(p *invite.Payload) { p.Role = "admin" }},
				{"Signature", func(p *invite.Payload) { p.Signature = flipHex(p.Signature) }},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					token := tamper(t, m.SignInvite(t, meshtest.InviteOptions{}), tt.change)
					_, err := b.Mesh.CreateInvite(t.Context(), &meshv1.CreateInviteRequest{Token: token})
					requireCode(t, err, connect.CodeInvalidArgument, "invite_bad_signature")
				})
			}
		})

		t.Run("TooLong", func(t *testing.T) {
			t.Parallel()
			token := m.SignInvite(t, meshtest.InviteOptions{Expires: 400 * 24 * time.Hour})
			_, err := b.Mesh.CreateInvite(t.Context(), &meshv1.CreateInviteRequest{MeshId: m.ID, Token: token})
			requireCode(t, err, connect.CodeInvalidArgument, "")
		})
	})
}

// flipHex changes the first hex digit of s.
func flipHex(s string) string {
	if s[0] == '0' {
		return "1" + s[1:]
	}
	return "0" + s[1:]
}

func TestListInvites(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		b := meshtest.Start(t, engine.Open(t))
		m := b.CreateMesh(t, "listing", "")
		bob := m.AddMember(t, "bob")
		first := m.Invite(t, meshtest.InviteOptions{MaxUses: 5})
		second := m.Invite(t, meshtest.InviteOptions{})

		t.Run("AdminAPIKey", func(t *testing.T) {
			t.Parallel()
			key := b.CreateAPIKey(t, m.ID, meshv1.ApiKeyCapability_API_KEY_CAPABILITY_ADMIN)
			res, err := b.Mesh.ListInvites(meshtest.Bearer(t.Context(), key), &meshv1.ListInvitesRequest{MeshId: m.ID})
			require.NoError(t, err)
			require.Len(t, res.GetInvites(), 3)
		})

		t.Run("AdminMember", func(t *testing.T) {
			t.Parallel()
			res, err := b.MemberClient(m.Admin).ListInvites(t.Context(), &meshv1.ListInvitesRequest{MeshId: m.ID})
			require.NoError(t, err)
			tokens := make([]string, 0, len(res.GetInvites()))
			for _, inv := range res.GetInvites() {
				tokens = append(tokens, inv.GetToken())
			}
			// bob's invite and the two others, newest first.
			require.Len(t, tokens, 3)
			require.Equal(t, []string{second, first}, tokens[:2])
			used := res.GetInvites()[2]
			require.Equal(t, int32(1), used.GetUsedCount(), "bob used the first invite")
		})

		t.Run("PlainMemberRefused", func(t *testing.T) {
			t.Parallel()
			_, err := b.MemberClient(bob).ListInvites(t.Context(), &meshv1.ListInvitesRequest{MeshId: m.ID})
			requireCode(t, err, connect.CodePermissionDenied, "")
		})

		t.Run("ReadAPIKeyRefused", func(t *testing.T) {
			t.Parallel()
			key := b.CreateAPIKey(t, m.ID, meshv1.ApiKeyCapability_API_KEY_CAPABILITY_READ)
			_, err := b.Mesh.ListInvites(meshtest.Bearer(t.Context(), key), &meshv1.ListInvitesRequest{MeshId: m.ID})
			requireCode(t, err, connect.CodePermissionDenied, "")
		})
	})
}

func TestRevokeInvite(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		store := engine.Open(t)
		b := meshtest.Start(t, store)

		t.Run("AmbiguousPrefix", func(t *testing.T) {
			t.Parallel()
			m := b.CreateMesh(t, "ambiguous", "")
			for _, id := range []string{"dupe1" + db.NewID()[5:], "dupe2" + db.NewID()[5:]} {
				require.NoError(t, store.CreateInvite(t.Context(), db.Invite{
					ID: id, MeshID: m.ID, Token: db.NewID(), MaxUses: 1, Role: db.RoleMember,
					ExpiresAt: time.Now().Add(time.Hour), CreatedAt: time.Now(),
				}))
			}
			_, err := b.Mesh.RevokeInvite(asOperator(t, b), &meshv1.RevokeInviteRequest{MeshId: m.ID, InviteId: "dupe"})
			requireCode(t, err, connect.CodeInvalidArgument, "ambiguous_prefix")
			for _, inv := range listInvites(t, b, m.ID) {
				require.Nil(t, inv.GetRevokeTime(), "nothing was revoked")
			}
			res, err := b.Mesh.RevokeInvite(asOperator(t, b), &meshv1.RevokeInviteRequest{MeshId: m.ID, InviteId: "dupe2"})
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(res.GetInvite().GetId(), "dupe2"))
		})

		t.Run("ByUniquePrefix", func(t *testing.T) {
			t.Parallel()
			m := b.CreateMesh(t, "by-prefix", "")
			token := m.Invite(t, meshtest.InviteOptions{})
			inv := inviteByToken(t, b, m.ID, token)
			res, err := b.MemberClient(m.Admin).RevokeInvite(t.Context(), &meshv1.RevokeInviteRequest{MeshId: m.ID, InviteId: inv.GetId()[:8]})
			require.NoError(t, err)
			require.Equal(t, inv.GetId(), res.GetInvite().GetId())
			require.NotNil(t, res.GetInvite().GetRevokeTime())
			require.NotNil(t, inviteByToken(t, b, m.ID, token).GetRevokeTime())

			// Revoking again is a no-op that keeps the first revocation.
			again, err := b.MemberClient(m.Admin).RevokeInvite(t.Context(), &meshv1.RevokeInviteRequest{MeshId: m.ID, InviteId: inv.GetId()})
			require.NoError(t, err)
			require.Equal(t, res.GetInvite().GetRevokeTime().AsTime(), again.GetInvite().GetRevokeTime().AsTime())
		})

		t.Run("PlainMemberRefused", func(t *testing.T) {
			t.Parallel()
			m := b.CreateMesh(t, "plain-member", "")
			bob := m.AddMember(t, "bob")
			token := m.Invite(t, meshtest.InviteOptions{})
			inv := inviteByToken(t, b, m.ID, token)
			_, err := b.MemberClient(bob).RevokeInvite(t.Context(), &meshv1.RevokeInviteRequest{MeshId: m.ID, InviteId: inv.GetId()})
			requireCode(t, err, connect.CodePermissionDenied, "")
			require.Nil(t, inviteByToken(t, b, m.ID, token).GetRevokeTime())
		})

		t.Run("ShortPrefix", func(t *testing.T) {
			t.Parallel()
			m := b.CreateMesh(t, "short-prefix", "")
			token := m.Invite(t, meshtest.InviteOptions{})
			inv := inviteByToken(t, b, m.ID, token)
			for _, prefix := range []string{"", inv.GetId()[:3]} {
				_, err := b.Mesh.RevokeInvite(asOperator(t, b), &meshv1.RevokeInviteRequest{MeshId: m.ID, InviteId: prefix})
				requireCode(t, err, connect.CodeInvalidArgument, "")
			}
			require.Nil(t, inviteByToken(t, b, m.ID, token).GetRevokeTime())
		})

		t.Run("UnknownID", func(t *testing.T) {
			t.Parallel()
			m := b.CreateMesh(t, "unknown-id", "")
			_, err := b.Mesh.RevokeInvite(asOperator(t, b), &meshv1.RevokeInviteRequest{MeshId: m.ID, InviteId: db.NewID()})
			requireCode(t, err, connect.CodeNotFound, "not_found")
		})
	})
}
