package mesh_test

import (
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	"claudemesh.dev/db/storetest"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/gen/pb/claudemesh/mesh/v1/meshv1connect"
	"claudemesh.dev/services/auth"
	"claudemesh.dev/services/meshtest"
)

func TestMemberSignedRequests(t *testing.T) {
	t.Parallel()
	const listMembers = meshv1connect.MeshServiceListMembersProcedure
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		b := meshtest.Start(t, engine.Open(t))
		m := b.CreateMesh(t, "signed", "")
		other := b.CreateMesh(t, "other", "")
		bob := m.AddMember(t, "bob")

		// call lists m's members with an Authorization header.
		call := func(t *testing.T, authorization string) error {
			t.Helper()
			_, err := b.Mesh.ListMembers(meshtest.Authorization(t.Context(), authorization), &meshv1.ListMembersRequest{MeshId: m.ID})
			return err
		}

		t.Run("Accepted", func(t *testing.T) {
			t.Parallel()
			res, err := b.MemberClient(bob).ListMembers(t.Context(), &meshv1.ListMembersRequest{})
			require.NoError(t, err)
			ids := make([]string, 0, len(res.GetMembers()))
			for _, member := range res.GetMembers() {
				require.Equal(t, m.ID, member.GetMeshId())
				ids = append(ids, member.GetId())
			}
			require.Subset(t, ids, []string{m.Admin.ID, bob.ID})
		})

		t.Run("Refused", func(t *testing.T) {
			t.Parallel()
			now := b.Now()
			tests := []struct {
				name  string
				authz string
			}{
				{"BadSignature", auth.MemberAuthorization(meshtest.NewKey(t), listMembers, m.ID, bob.ID, now)},
				{"Malformed", auth.MemberScheme + " " + m.ID + ":" + bob.ID},
				{"NotANumber", auth.MemberScheme + " " + m.ID + ":" + bob.ID + ":soon:" + strings.Repeat("0", 128)},
				{"OtherProcedure", auth.MemberAuthorization(bob.Key, meshv1connect.MeshServiceListInvitesProcedure, m.ID, bob.ID, now)},
				{"TimestampAhead", auth.MemberAuthorization(bob.Key, listMembers, m.ID, bob.ID, now.Add(2*time.Minute))},
				{"TimestampBehind", auth.MemberAuthorization(bob.Key, listMembers, m.ID, bob.ID, now.Add(-2*time.Minute))},
				{"UnknownMember", auth.MemberAuthorization(bob.Key, listMembers, m.ID, "no-such-member", now)},
				{"UnknownScheme", "Basic Ym9iOmJvYg=="},
				{"WrongMesh", auth.MemberAuthorization(bob.Key, listMembers, other.ID, bob.ID, now)},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					requireCode(t, call(t, tt.authz), connect.CodeUnauthenticated, "")
				})
			}
		})

		t.Run("Replayed", func(t *testing.T) {
			t.Parallel()
			authz := auth.MemberAuthorization(bob.Key, listMembers, m.ID, bob.ID, b.Now().Add(-time.Second))
			require.NoError(t, call(t, authz))
			requireCode(t, call(t, authz), connect.CodeUnauthenticated, "")
		})

		t.Run("Revoked", func(t *testing.T) {
			t.Parallel()
			carol := m.AddMember(t, "carol")
			_, err := b.Mesh.RevokeMember(asOperator(t, b), &meshv1.RevokeMemberRequest{MeshId: m.ID, Member: carol.ID})
			require.NoError(t, err)
			_, err = b.MemberClient(carol).ListMembers(t.Context(), &meshv1.ListMembersRequest{MeshId: m.ID})
			requireCode(t, err, connect.CodePermissionDenied, "")
		})
	})
}
