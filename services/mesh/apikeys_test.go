package mesh_test

import (
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"claudemesh.dev/db/storetest"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/meshtest"
)

func TestApiKeys(t *testing.T) {
	t.Parallel()
	const (
		read  = meshv1.ApiKeyCapability_API_KEY_CAPABILITY_READ
		send  = meshv1.ApiKeyCapability_API_KEY_CAPABILITY_SEND
		admin = meshv1.ApiKeyCapability_API_KEY_CAPABILITY_ADMIN
	)
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		b := meshtest.Start(t, engine.Open(t))
		newMesh := func(t *testing.T) *meshtest.Mesh {
			t.Helper()
			return b.CreateMesh(t, strings.ToLower(strings.Join(strings.Split(t.Name(), "/")[2:], "-")), "")
		}

		t.Run("Create", func(t *testing.T) {
			t.Parallel()
			m := newMesh(t)
			expires := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
			res, err := b.MemberClient(m.Admin).CreateApiKey(t.Context(), &meshv1.CreateApiKeyRequest{
				MeshId: m.ID, Label: "dashboard", Capabilities: []meshv1.ApiKeyCapability{send, read, read},
				ExpireTime: timestamppb.New(expires),
			})
			require.NoError(t, err)
			secret := res.GetSecret()
			require.True(t, strings.HasPrefix(secret, "cm_"), secret)
			require.Len(t, secret, len("cm_")+43, "cm_ and base64url of 32 bytes")
			key := res.GetApiKey()
			require.Equal(t, secret[:11], key.GetPrefix())
			require.Equal(t, "dashboard", key.GetLabel())
			require.Equal(t, m.ID, key.GetMeshId())
			require.Equal(t, []meshv1.ApiKeyCapability{read, send}, key.GetCapabilities())
			require.Equal(t, expires, key.GetExpireTime().AsTime())

			// The listing shows the key, but never its secret again.
			list, err := b.Mesh.ListApiKeys(asOperator(t, b), &meshv1.ListApiKeysRequest{MeshId: m.ID})
			require.NoError(t, err)
			require.Len(t, list.GetApiKeys(), 1)
			require.Equal(t, key.GetId(), list.GetApiKeys()[0].GetId())
			require.Nil(t, list.GetApiKeys()[0].GetLastUseTime())
			require.NotContains(t, list.String(), secret[11:])

			// A use is recorded.
			_, err = b.Mesh.ListPeers(meshtest.Bearer(t.Context(), secret), &meshv1.ListPeersRequest{MeshId: m.ID})
			require.NoError(t, err)
			list, err = b.Mesh.ListApiKeys(asOperator(t, b), &meshv1.ListApiKeysRequest{MeshId: m.ID})
			require.NoError(t, err)
			require.NotNil(t, list.GetApiKeys()[0].GetLastUseTime())
		})

		t.Run("Expired", func(t *testing.T) {
			t.Parallel()
			clock := meshtest.NewClock()
			cb := meshtest.Start(t, engine.Open(t), meshtest.WithClock(clock))
			m := cb.CreateMesh(t, "expiring", "")
			_, err := cb.Mesh.CreateApiKey(meshtest.Bearer(t.Context(), cb.Operator), &meshv1.CreateApiKeyRequest{
				MeshId: m.ID, Label: "past", Capabilities: []meshv1.ApiKeyCapability{read},
				ExpireTime: timestamppb.New(clock.Now().Add(-time.Second)),
			})
			requireCode(t, err, connect.CodeInvalidArgument, "")

			res, err := cb.Mesh.CreateApiKey(meshtest.Bearer(t.Context(), cb.Operator), &meshv1.CreateApiKeyRequest{
				MeshId: m.ID, Label: "hour", Capabilities: []meshv1.ApiKeyCapability{read},
				ExpireTime: timestamppb.New(clock.Now().Add(time.Hour)),
			})
			require.NoError(t, err)
			ctx := meshtest.Bearer(t.Context(), res.GetSecret())
			_, err = cb.Mesh.ListMembers(ctx, &meshv1.ListMembersRequest{MeshId: m.ID})
			require.NoError(t, err)
			clock.Advance(time.Hour)
			_, err = cb.Mesh.ListMembers(ctx, &meshv1.ListMembersRequest{MeshId: m.ID})
			requireCode(t, err, connect.CodeUnauthenticated, "")
		})

		t.Run("Invalid", func(t *testing.T) {
			t.Parallel()
			m := newMesh(t)
			for _, req := range []*meshv1.CreateApiKeyRequest{
				{MeshId: m.ID, Label: "no capabilities"},
				{MeshId: m.ID, Label: "unspecified", Capabilities: []meshv1.ApiKeyCapability{meshv1.ApiKeyCapability_API_KEY_CAPABILITY_UNSPECIFIED}},
				{MeshId: m.ID, Label: "unknown", Capabilities: []meshv1.ApiKeyCapability{99}},
				{MeshId: m.ID, Label: " ", Capabilities: []meshv1.ApiKeyCapability{read}},
				{MeshId: m.ID, Label: strings.Repeat("l", 101), Capabilities: []meshv1.ApiKeyCapability{read}},
			} {
				_, err := b.Mesh.CreateApiKey(asOperator(t, b), req)
				requireCode(t, err, connect.CodeInvalidArgument, "")
			}
		})

		t.Run("PlainMemberRefused", func(t *testing.T) {
			t.Parallel()
			m := newMesh(t)
			bob := m.AddMember(t, "bob")
			client := b.MemberClient(bob)
			_, err := client.CreateApiKey(t.Context(), &meshv1.CreateApiKeyRequest{MeshId: m.ID, Label: "mine", Capabilities: []meshv1.ApiKeyCapability{read}})
			requireCode(t, err, connect.CodePermissionDenied, "")
			_, err = client.ListApiKeys(t.Context(), &meshv1.ListApiKeysRequest{MeshId: m.ID})
			requireCode(t, err, connect.CodePermissionDenied, "")
		})

		t.Run("ReadOnly", func(t *testing.T) {
			t.Parallel()
			m := newMesh(t)
			bob := m.AddMember(t, "bob")
			ctx := meshtest.Bearer(t.Context(), b.CreateAPIKey(t, m.ID, read))

			_, err := b.Mesh.ListPeers(ctx, &meshv1.ListPeersRequest{MeshId: m.ID})
			require.NoError(t, err)
			members, err := b.Mesh.ListMembers(ctx, &meshv1.ListMembersRequest{MeshId: m.ID})
			require.NoError(t, err)
			require.Len(t, members.GetMembers(), 2)
			_, err = b.Mesh.GetMesh(ctx, &meshv1.GetMeshRequest{})
			require.NoError(t, err)

			refused := []struct {
				name string
				call func(t *testing.T) error
			}{
				{"CreateApiKey", func(*testing.T) error {
					_, err := b.Mesh.CreateApiKey(ctx, &meshv1.CreateApiKeyRequest{MeshId: m.ID, Label: "more", Capabilities: []meshv1.ApiKeyCapability{admin}})
					return err
				}},
				{"ListInvites", func(*testing.T) error {
					_, err := b.Mesh.ListInvites(ctx, &meshv1.ListInvitesRequest{MeshId: m.ID})
					return err
				}},
				{"RevokeMember", func(*testing.T) error {
					_, err := b.Mesh.RevokeMember(ctx, &meshv1.RevokeMemberRequest{MeshId: m.ID, Member: bob.ID})
					return err
				}},
				{"UpdateMeshPolicy", func(*testing.T) error {
					_, err := b.Mesh.UpdateMeshPolicy(ctx, &meshv1.UpdateMeshPolicyRequest{MeshId: m.ID, Policy: &meshv1.MeshPolicy{}})
					return err
				}},
			}
			for _, tt := range refused {
				requireCode(t, tt.call(t), connect.CodePermissionDenied, "")
			}
			require.Nil(t, memberByID(t, b, m.ID, bob.ID).GetRevokeTime())
		})

		t.Run("Revoke", func(t *testing.T) {
			t.Parallel()
			m := newMesh(t)
			secret := b.CreateAPIKey(t, m.ID, admin)
			ctx := meshtest.Bearer(t.Context(), secret)
			list, err := b.Mesh.ListApiKeys(ctx, &meshv1.ListApiKeysRequest{MeshId: m.ID})
			require.NoError(t, err)
			id := list.GetApiKeys()[0].GetId()

			for _, prefix := range []string{"", id[:3]} {
				_, err := b.Mesh.RevokeApiKey(asOperator(t, b), &meshv1.RevokeApiKeyRequest{MeshId: m.ID, Id: prefix})
				requireCode(t, err, connect.CodeInvalidArgument, "")
			}
			_, err = b.Mesh.RevokeApiKey(asOperator(t, b), &meshv1.RevokeApiKeyRequest{MeshId: m.ID, Id: "zzzzzzzz"})
			requireCode(t, err, connect.CodeNotFound, "not_found")

			res, err := b.MemberClient(m.Admin).RevokeApiKey(t.Context(), &meshv1.RevokeApiKeyRequest{MeshId: m.ID, Id: id[:8]})
			require.NoError(t, err)
			require.Equal(t, id, res.GetApiKey().GetId())
			require.NotNil(t, res.GetApiKey().GetRevokeTime())

			_, err = b.Mesh.ListApiKeys(ctx, &meshv1.ListApiKeysRequest{MeshId: m.ID})
			requireCode(t, err, connect.CodeUnauthenticated, "")
			list, err = b.Mesh.ListApiKeys(asOperator(t, b), &meshv1.ListApiKeysRequest{MeshId: m.ID})
			require.NoError(t, err)
			require.NotNil(t, list.GetApiKeys()[0].GetRevokeTime())
		})
	})
}
