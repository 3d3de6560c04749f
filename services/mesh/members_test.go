package mesh_test

import (
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"claudemesh.dev/db/storetest"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/meshtest"
)

func TestListMembers(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		b := meshtest.Start(t, engine.Open(t))

		t.Run("IncludeRevoked", func(t *testing.T) {
			t.Parallel()
			m := b.CreateMesh(t, "with-revoked", "")
			bob := m.AddMember(t, "bob")
			_, err := b.Mesh.RevokeMember(asOperator(t, b), &meshv1.RevokeMemberRequest{MeshId: m.ID, Member: bob.ID})
			require.NoError(t, err)
			res, err := b.MemberClient(m.Admin).ListMembers(t.Context(), &meshv1.ListMembersRequest{MeshId: m.ID})
			require.NoError(t, err)
			require.Len(t, res.GetMembers(), 1, "revoked members are left out")
			res, err = b.MemberClient(m.Admin).ListMembers(t.Context(), &meshv1.ListMembersRequest{MeshId: m.ID, IncludeRevoked: true})
			require.NoError(t, err)
			require.Len(t, res.GetMembers(), 2)
			require.NotNil(t, res.GetMembers()[1].GetRevokeTime())
		})

		t.Run("Online", func(t *testing.T) {
			t.Parallel()
			m := b.CreateMesh(t, "online", "")
			bob := m.AddMember(t, "bob")
			b.Connect(t, bob, meshtest.Hello{SessionID: "s-bob"})
			readKey := b.CreateAPIKey(t, m.ID, meshv1.ApiKeyCapability_API_KEY_CAPABILITY_READ)
			res, err := b.Mesh.ListMembers(meshtest.Bearer(t.Context(), readKey), &meshv1.ListMembersRequest{MeshId: m.ID})
			require.NoError(t, err)
			online := map[string]bool{}
			for _, member := range res.GetMembers() {
				online[member.GetDisplayName()] = member.GetOnline()
			}
			require.Equal(t, map[string]bool{"online-admin": false, "bob": true}, online)
		})
	})
}

func TestUpdateMember(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		b := meshtest.Start(t, engine.Open(t))
		// setup makes a mesh of the subtest's own with members bob and carol.
		setup := func(t *testing.T) (*meshtest.Mesh, meshtest.Member, meshtest.Member) {
			t.Helper()
			m := b.CreateMesh(t, strings.ToLower(strings.Split(t.Name(), "/")[2]), "")
			return m, m.AddMember(t, "bob"), m.AddMember(t, "carol")
		}
		rename := func(name string) *string { return &name }

		t.Run("AdminChangesOthers", func(t *testing.T) {
			t.Parallel()
			m, bob, _ := setup(t)
			role := meshv1.MemberRole_MEMBER_ROLE_ADMIN
			res, err := b.MemberClient(m.Admin).UpdateMember(t.Context(), &meshv1.UpdateMemberRequest{
				MeshId: m.ID, MemberId: bob.ID, DisplayName: rename("Robert"), Role: &role,
			})
			require.NoError(t, err)
			require.Equal(t, "Robert", res.GetMember().GetDisplayName())
			require.Equal(t, meshv1.MemberRole_MEMBER_ROLE_ADMIN, res.GetMember().GetRole())
			// Bob now administers the mesh.
			_, err = b.MemberClient(bob).ListInvites(t.Context(), &meshv1.ListInvitesRequest{MeshId: m.ID})
			require.NoError(t, err)
		})

		t.Run("AdminManagedFields", func(t *testing.T) {
			t.Parallel()
			m, bob, _ := setup(t)
			_, err := b.MemberClient(m.Admin).UpdateMeshPolicy(t.Context(), &meshv1.UpdateMeshPolicyRequest{
				MeshId: m.ID,
				Policy: &meshv1.MeshPolicy{SelfEditable: &meshv1.SelfEditable{RoleTag: true, Groups: true, MessageMode: true}},
			})
			require.NoError(t, err)
			_, err = b.MemberClient(bob).UpdateMember(t.Context(), &meshv1.UpdateMemberRequest{MeshId: m.ID, MemberId: bob.ID, DisplayName: rename("Bobby")})
			requireCode(t, err, connect.CodePermissionDenied, "")
			require.Contains(t, err.Error(), "admin-managed fields: displayName")
			require.Equal(t, "bob", memberByID(t, b, m.ID, bob.ID).GetDisplayName())
			// What the policy leaves editable still is.
			res, err := b.MemberClient(bob).UpdateMember(t.Context(), &meshv1.UpdateMemberRequest{MeshId: m.ID, MemberId: bob.ID, RoleTag: rename("tester")})
			require.NoError(t, err)
			require.Equal(t, "tester", res.GetMember().GetRoleTag())
			// And an admin may still rename.
			_, err = b.MemberClient(m.Admin).UpdateMember(t.Context(), &meshv1.UpdateMemberRequest{MeshId: m.ID, MemberId: bob.ID, DisplayName: rename("Bobby")})
			require.NoError(t, err)
		})

		t.Run("InvalidDisplayName", func(t *testing.T) {
			t.Parallel()
			m, bob, _ := setup(t)
			for _, name := range []string{"", "   ", "tab\there", strings.Repeat("n", 65)} {
				_, err := b.MemberClient(bob).UpdateMember(t.Context(), &meshv1.UpdateMemberRequest{MeshId: m.ID, MemberId: bob.ID, DisplayName: rename(name)})
				requireCode(t, err, connect.CodeInvalidArgument, "")
			}
		})

		t.Run("OtherMemberRefused", func(t *testing.T) {
			t.Parallel()
			m, bob, carol := setup(t)
			_, err := b.MemberClient(bob).UpdateMember(t.Context(), &meshv1.UpdateMemberRequest{MeshId: m.ID, MemberId: carol.ID, DisplayName: rename("mallory")})
			requireCode(t, err, connect.CodePermissionDenied, "")
			require.Equal(t, "carol", memberByID(t, b, m.ID, carol.ID).GetDisplayName())
		})

		t.Run("OwnRoleRefused", func(t *testing.T) {
			t.Parallel()
			m, bob, _ := setup(t)
			role := meshv1.MemberRole_MEMBER_ROLE_ADMIN
			_, err := b.MemberClient(bob).UpdateMember(t.Context(), &meshv1.UpdateMemberRequest{MeshId: m.ID, MemberId: bob.ID, Role: &role})
			requireCode(t, err, connect.CodePermissionDenied, "")
			require.Equal(t, meshv1.MemberRole_MEMBER_ROLE_MEMBER, memberByID(t, b, m.ID, bob.ID).GetRole())
		})

		t.Run("SelfEdit", func(t *testing.T) {
			t.Parallel()
			m, bob, _ := setup(t)
			mode := meshv1.MessageMode_MESSAGE_MODE_OFF
			res, err := b.MemberClient(bob).UpdateMember(t.Context(), &meshv1.UpdateMemberRequest{
				MeshId:           m.ID,
				MemberId:         bob.ID,
				DisplayName:      rename(" Bobby "),
				RoleTag:          rename("reviewer"),
				SetDefaultGroups: true,
				DefaultGroups:    []*meshv1.GroupMembership{{Name: "backend", Role: "lead"}},
				MessageMode:      &mode,
			})
			require.NoError(t, err)
			got := memberByID(t, b, m.ID, bob.ID)
			require.Equal(t, "Bobby", got.GetDisplayName())
			require.Equal(t, "reviewer", got.GetRoleTag())
			require.Len(t, got.GetDefaultGroups(), 1)
			require.Equal(t, "backend", got.GetDefaultGroups()[0].GetName())
			require.Equal(t, meshv1.MessageMode_MESSAGE_MODE_OFF, got.GetMessageMode())
			require.Equal(t, got.GetDisplayName(), res.GetMember().GetDisplayName())
		})

		t.Run("UnknownMember", func(t *testing.T) {
			t.Parallel()
			m, _, _ := setup(t)
			_, err := b.MemberClient(m.Admin).UpdateMember(t.Context(), &meshv1.UpdateMemberRequest{MeshId: m.ID, MemberId: "nobody", DisplayName: rename("x")})
			requireCode(t, err, connect.CodeNotFound, "")
		})
	})
}

func TestRevokeMember(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		b := meshtest.Start(t, engine.Open(t))
		newMesh := func(t *testing.T) *meshtest.Mesh {
			t.Helper()
			parts := strings.Split(t.Name(), "/")
			return b.CreateMesh(t, strings.ToLower(strings.Join(parts[2:], "-")), "")
		}

		t.Run("AmbiguousName", func(t *testing.T) {
			t.Parallel()
			m := newMesh(t)
			m.AddMember(t, "twin")
			m.AddMember(t, "Twin")
			_, err := b.Mesh.RevokeMember(asOperator(t, b), &meshv1.RevokeMemberRequest{MeshId: m.ID, Member: "twin"})
			requireCode(t, err, connect.CodeInvalidArgument, "ambiguous")
		})

		t.Run("CannotBanYourself", func(t *testing.T) {
			t.Parallel()
			m := newMesh(t)
			_, err := b.MemberClient(m.Admin).RevokeMember(t.Context(), &meshv1.RevokeMemberRequest{MeshId: m.ID, Member: m.Admin.ID})
			requireCode(t, err, connect.CodeInvalidArgument, "invalid")
			require.Contains(t, err.Error(), "cannot ban yourself")
			require.Nil(t, memberByID(t, b, m.ID, m.Admin.ID).GetRevokeTime())
		})

		t.Run("ClosesSessions", func(t *testing.T) {
			t.Parallel()
			tests := []struct {
				name string
				ref  func(bob meshtest.Member) string
			}{
				{"ByDisplayName", func(meshtest.Member) string { return "BOB" }},
				{"ByID", func(bob meshtest.Member) string { return bob.ID }},
				{"ByPubkey", func(bob meshtest.Member) string { return bob.Key.PublicHex() }},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					m := newMesh(t)
					bob := m.AddMember(t, "bob")
					carol := m.AddMember(t, "carol")
					first := b.Connect(t, bob, meshtest.Hello{SessionID: "s-bob-1"})
					second := b.Connect(t, bob, meshtest.Hello{SessionID: "s-bob-2"})
					witness := b.Connect(t, carol, meshtest.Hello{SessionID: "s-carol"})
					awaitJoined(t, "carol", first, second)

					res, err := b.MemberClient(m.Admin).RevokeMember(t.Context(), &meshv1.RevokeMemberRequest{MeshId: m.ID, Member: tt.ref(bob), Reason: "testing"})
					require.NoError(t, err)
					require.Equal(t, bob.ID, res.GetMember().GetId())
					require.NotNil(t, res.GetMember().GetRevokeTime())
					require.Equal(t, int32(2), res.GetClosedSessions())
					require.Equal(t, websocket.StatusCode(4002), first.ExpectClose())
					require.Equal(t, websocket.StatusCode(4002), second.ExpectClose())

					// Their next hello is refused, and so are their signed RPCs.
					c := b.Dial(t)
					c.Send(meshtest.HelloFrame(bob, meshtest.Hello{SessionID: "s-bob-3"}))
					c.ExpectError("revoked")
					require.Equal(t, websocket.StatusCode(4002), c.ExpectClose())
					_, err = b.MemberClient(bob).ListMembers(t.Context(), &meshv1.ListMembersRequest{MeshId: m.ID})
					requireCode(t, err, connect.CodePermissionDenied, "")

					// Other members stay.
					peers := witness.ListPeers()
					require.Len(t, peers, 1)
					require.Equal(t, "carol", peers[0]["displayName"])
				})
			}
		})

		t.Run("PlainMemberRefused", func(t *testing.T) {
			t.Parallel()
			m := newMesh(t)
			bob := m.AddMember(t, "bob")
			carol := m.AddMember(t, "carol")
			_, err := b.MemberClient(bob).RevokeMember(t.Context(), &meshv1.RevokeMemberRequest{MeshId: m.ID, Member: carol.ID})
			requireCode(t, err, connect.CodePermissionDenied, "")
			require.Nil(t, memberByID(t, b, m.ID, carol.ID).GetRevokeTime())
		})

		t.Run("Restore", func(t *testing.T) {
			t.Parallel()
			m := newMesh(t)
			bob := m.AddMember(t, "bob")
			carol := m.AddMember(t, "carol")
			peer := b.Connect(t, bob, meshtest.Hello{SessionID: "s-bob"})
			b.Connect(t, carol, meshtest.Hello{SessionID: "s-carol"})
			awaitJoined(t, "carol", peer)
			_, err := b.Mesh.RevokeMember(asOperator(t, b), &meshv1.RevokeMemberRequest{MeshId: m.ID, Member: bob.ID})
			require.NoError(t, err)
			require.Equal(t, websocket.StatusCode(4002), peer.ExpectClose())

			res, err := b.MemberClient(m.Admin).RestoreMember(t.Context(), &meshv1.RestoreMemberRequest{MeshId: m.ID, Member: bob.Key.PublicHex()})
			require.NoError(t, err)
			require.Nil(t, res.GetMember().GetRevokeTime())
			require.Nil(t, memberByID(t, b, m.ID, bob.ID).GetRevokeTime())
			back := b.Connect(t, bob, meshtest.Hello{SessionID: "s-bob"})
			require.Len(t, back.ListPeers(), 2)
			_, err = b.MemberClient(bob).ListMembers(t.Context(), &meshv1.ListMembersRequest{MeshId: m.ID})
			require.NoError(t, err)

			// A plain member may not restore.
			_, err = b.MemberClient(carol).RestoreMember(t.Context(), &meshv1.RestoreMemberRequest{MeshId: m.ID, Member: bob.ID})
			requireCode(t, err, connect.CodePermissionDenied, "")
		})

		t.Run("UnknownMember", func(t *testing.T) {
			t.Parallel()
			m := newMesh(t)
			for _, ref := range []string{"nobody", strings.Repeat("ab", 32)} {
				_, err := b.Mesh.RevokeMember(asOperator(t, b), &meshv1.RevokeMemberRequest{MeshId: m.ID, Member: ref})
				requireCode(t, err, connect.CodeNotFound, "not_found")
			}
			_, err := b.Mesh.RevokeMember(asOperator(t, b), &meshv1.RevokeMemberRequest{MeshId: m.ID, Member: " "})
			requireCode(t, err, connect.CodeInvalidArgument, "")
		})
	})
}

// awaitJoined reads each peer's frames until the push announcing name's
// session arrives. Pushes reach a socket only through its event
// subscription, so afterwards every peer's subscription is live and will
// carry the broker's close instruction.
func awaitJoined(t *testing.T, name string, peers ...*meshtest.Peer) {
	t.Helper()
	for _, p := range peers {
		for {
			ev := p.ExpectEvent("peer_joined")
			if data, _ := ev["eventData"].(map[string]any); data["name"] == name {
				break
			}
		}
	}
}
