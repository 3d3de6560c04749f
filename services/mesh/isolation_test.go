package mesh_test

import (
	"context"
	"net/http"
	"testing"

	"connectrpc.com/connect"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/structpb"

	"claudemesh.dev/db/storetest"
	catalogv1 "claudemesh.dev/gen/pb/claudemesh/catalog/v1"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/gen/pb/claudemesh/mesh/v1/meshv1connect"
	schedulerv1 "claudemesh.dev/gen/pb/claudemesh/scheduler/v1"
	vaultv1 "claudemesh.dev/gen/pb/claudemesh/vault/v1"
	"claudemesh.dev/services/meshtest"
)

// TestCrossMeshIsolation checks that callers of mesh A can neither read nor
// change mesh B: through every RPC of the broker's services (found by
// reflection, so a new RPC cannot be forgotten) naming B, through RPCs naming B's objects
// under A's mesh id, and through a peer's frames.
func TestCrossMeshIsolation(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		b := meshtest.Start(t, engine.Open(t))
		meshA := b.CreateMesh(t, "mesh-a", "dev-team")
		meshB := b.CreateMesh(t, "mesh-b", "dev-team")
		aBob := meshA.AddMember(t, "abob")
		bBob := meshB.AddMember(t, "bbob")
		aPeer := b.Connect(t, aBob, meshtest.Hello{SessionID: "s-abob"})
		bPeer := b.Connect(t, bBob, meshtest.Hello{SessionID: "s-bbob"})
		bPresence, _ := bPeer.Ack["presenceId"].(string)
		require.NotEmpty(t, bPresence)
		aAdminKey := b.CreateAPIKey(t, meshA.ID, meshv1.ApiKeyCapability_API_KEY_CAPABILITY_ADMIN)
		b.CreateAPIKey(t, meshB.ID, meshv1.ApiKeyCapability_API_KEY_CAPABILITY_ADMIN)
		bInviteToken := meshB.Invite(t, meshtest.InviteOptions{MaxUses: 5})
		bInvite := inviteByToken(t, b, meshB.ID, bInviteToken)
		bKeys, err := b.Mesh.ListApiKeys(asOperator(t, b), &meshv1.ListApiKeysRequest{MeshId: meshB.ID})
		require.NoError(t, err)
		bKey := bKeys.GetApiKeys()[0]

		// The callers of mesh A: its admin and a plain member signing their
		// requests, and an admin API key.
		callers := []struct {
			name          string
			authorization func(procedure string) string
		}{
			{"AdminAPIKey", func(string) string { return "Bearer " + aAdminKey }},
			{"AdminMember", func(procedure string) string { return b.MemberAuthorization(meshA.Admin, procedure) }},
			{"Member", func(procedure string) string { return b.MemberAuthorization(aBob, procedure) }},
		}

		t.Run("EveryRPCNamingB", func(t *testing.T) {
			t.Parallel()
			// Requests filled in enough to get past validation to the mesh
			// check; every field naming a mesh, session or object names B's.
			requests := map[string]proto.Message{
				"CreateApiKey":     &meshv1.CreateApiKeyRequest{Label: "stolen", Capabilities: []meshv1.ApiKeyCapability{meshv1.ApiKeyCapability_API_KEY_CAPABILITY_ADMIN}},
				"CreateInvite":     &meshv1.CreateInviteRequest{Token: meshB.SignInvite(t, meshtest.InviteOptions{Role: "admin"}), MaxUses: 10},
				"DeleteFile":       &meshv1.DeleteFileRequest{FileId: "file-1"},
				"GetFile":          &meshv1.GetFileRequest{FileId: "file-1"},
				"GetFileStatus":    &meshv1.GetFileStatusRequest{FileId: "file-1"},
				"GetMessageStatus": &meshv1.GetMessageStatusRequest{MessageId: "message-1"},
				"GetState":         &meshv1.GetStateRequest{Key: "sprint"},
				"GrantFileAccess":  &meshv1.GrantFileAccessRequest{FileId: "file-1", PeerPubkey: aBob.Key.PublicHex(), SealedKey: "c2VhbGVk"},
				"JoinGroup":        &meshv1.JoinGroupRequest{Group: &meshv1.GroupMembership{Name: "backend"}},
				"LeaveGroup":       &meshv1.LeaveGroupRequest{Name: "backend"},
				"ListMembers":      &meshv1.ListMembersRequest{IncludeRevoked: true},
				"RestoreMember":    &meshv1.RestoreMemberRequest{Member: bBob.ID},
				"RevokeApiKey":     &meshv1.RevokeApiKeyRequest{Id: bKey.GetId()},
				"RevokeInvite":     &meshv1.RevokeInviteRequest{InviteId: bInvite.GetId()},
				"RevokeMember":     &meshv1.RevokeMemberRequest{Member: bBob.ID, Reason: "cross-mesh"},
				"Send":             &meshv1.SendRequest{TargetSpec: "*", Nonce: "bm9uY2U=", Ciphertext: "Y2lwaGVy"},
				"SetState":         &meshv1.SetStateRequest{Key: "sprint", Value: structpb.NewStringValue("pwned")},
				"SetStatus":        &meshv1.SetStatusRequest{Status: meshv1.PeerStatus_PEER_STATUS_DND},
				"SetSummary":       &meshv1.SetSummaryRequest{Summary: "pwned"},
				"UpdateMember": &meshv1.UpdateMemberRequest{
					MemberId: bBob.ID, DisplayName: proto.String("pwned"), Role: meshv1.MemberRole_MEMBER_ROLE_ADMIN.Enum(),
				},
				"UpdateMeshPolicy": &meshv1.UpdateMeshPolicyRequest{Policy: &meshv1.MeshPolicy{SelfEditable: &meshv1.SelfEditable{}}},
			}
			meshService := meshv1.File_claudemesh_mesh_v1_mesh_service_proto.Services().ByName("MeshService")
			for name := range requests {
				require.NotNil(t, meshService.Methods().ByName(protoreflect.Name(name)), "requests names an RPC that does not exist: %s", name)
			}
			naming := 0
			for _, service := range []protoreflect.ServiceDescriptor{
				meshService,
				schedulerv1.File_claudemesh_scheduler_v1_scheduler_service_proto.Services().Get(0),
				vaultv1.File_claudemesh_vault_v1_vault_service_proto.Services().Get(0),
				catalogv1.File_claudemesh_catalog_v1_catalog_service_proto.Services().Get(0),
			} {
				methods := service.Methods()
				for i := range methods.Len() {
					method := methods.Get(i)
					var filled proto.Message
					if service == meshService {
						filled = requests[string(method.Name())]
					}
					req := newRequest(t, method, filled)
					// Point every reference at mesh B.
					named := setString(req, "mesh_id", meshB.ID) ||
						setString(req, "presence_id", bPresence) ||
						setString(req, "mesh", meshB.Slug)
					if named {
						naming++
					}
					// Sequential subtests, so that the checks below run after
					// every call.
					for _, caller := range callers {
						t.Run(string(service.Name())+"/"+string(method.Name())+"/"+caller.name, func(t *testing.T) {
							procedure := "/" + string(service.FullName()) + "/" + string(method.Name())
							code, res := callDynamic(t, b, method, procedure, caller.authorization(procedure), req)
							require.Contains(t, []connect.Code{connect.CodePermissionDenied, connect.CodeNotFound, connect.CodeUnimplemented}, code,
								"%s answered %v (%v)", procedure, code, res)
						})
					}
				}
			}
			require.GreaterOrEqual(t, naming, 50, "most RPCs name a mesh or a session")

			// Nothing in B changed.
			members := listMembers(t, b, meshB.ID)
			require.Len(t, members, 2)
			for _, m := range members {
				require.Nil(t, m.GetRevokeTime())
			}
			require.Equal(t, "bbob", memberByID(t, b, meshB.ID, bBob.ID).GetDisplayName())
			require.Equal(t, meshv1.MemberRole_MEMBER_ROLE_MEMBER, memberByID(t, b, meshB.ID, bBob.ID).GetRole())
			invites := listInvites(t, b, meshB.ID)
			require.Len(t, invites, 2, "bbob's invite and the test's")
			for _, inv := range invites {
				require.Nil(t, inv.GetRevokeTime())
			}
			keys, err := b.Mesh.ListApiKeys(asOperator(t, b), &meshv1.ListApiKeysRequest{MeshId: meshB.ID})
			require.NoError(t, err)
			require.Len(t, keys.GetApiKeys(), 1)
			require.Nil(t, keys.GetApiKeys()[0].GetRevokeTime())
			mesh, err := b.Mesh.GetMesh(asOperator(t, b), &meshv1.GetMeshRequest{Mesh: meshB.ID})
			require.NoError(t, err)
			require.True(t, mesh.GetMesh().GetPolicy().GetSelfEditable().GetDisplayName())
			state, err := b.Store.GetState(t.Context(), meshB.ID, "sprint")
			require.NoError(t, err)
			require.JSONEq(t, `"current"`, string(state.Value))
			peers := bPeer.ListPeers()
			require.Len(t, peers, 1)
			require.Equal(t, "bbob", peers[0]["displayName"])
		})

		t.Run("GetMeshOfB", func(t *testing.T) {
			t.Parallel()
			for _, ref := range []string{meshB.ID, meshB.Slug} {
				_, err := b.MemberClient(meshA.Admin).GetMesh(t.Context(), &meshv1.GetMeshRequest{Mesh: ref})
				requireCode(t, err, connect.CodePermissionDenied, "")
				_, err = b.Mesh.GetMesh(meshtest.Bearer(t.Context(), aAdminKey), &meshv1.GetMeshRequest{Mesh: ref})
				requireCode(t, err, connect.CodePermissionDenied, "")
			}
		})

		t.Run("ObjectsOfBUnderA", func(t *testing.T) {
			t.Parallel()
			// A's own mesh id with B's member, invite and key: not found in A.
			ctx := meshtest.Bearer(t.Context(), aAdminKey)
			calls := make([]func() error, 0, 9)
			calls = append(calls,
				func() error {
					_, err := b.Mesh.UpdateMember(ctx, &meshv1.UpdateMemberRequest{MeshId: meshA.ID, MemberId: bBob.ID, DisplayName: proto.String("pwned")})
					return err
				},
				func() error {
					_, err := b.Mesh.RevokeInvite(ctx, &meshv1.RevokeInviteRequest{MeshId: meshA.ID, InviteId: bInvite.GetId()})
					return err
				},
				func() error {
					_, err := b.Mesh.RevokeApiKey(ctx, &meshv1.RevokeApiKeyRequest{MeshId: meshA.ID, Id: bKey.GetId()})
					return err
				},
			)
			for _, ref := range []string{bBob.ID, bBob.Key.PublicHex(), "bbob"} {
				calls = append(calls, func() error {
					_, err := b.Mesh.RevokeMember(ctx, &meshv1.RevokeMemberRequest{MeshId: meshA.ID, Member: ref})
					return err
				}, func() error {
					_, err := b.Mesh.RestoreMember(ctx, &meshv1.RestoreMemberRequest{MeshId: meshA.ID, Member: ref})
					return err
				})
			}
			for _, call := range calls {
				requireCode(t, call(), connect.CodeNotFound, "")
			}
			require.Nil(t, memberByID(t, b, meshB.ID, bBob.ID).GetRevokeTime())
		})

		t.Run("OwnMeshByDefault", func(t *testing.T) {
			t.Parallel()
			// Without a mesh id, a caller acts in its own mesh.
			for _, caller := range callers {
				ctx := meshtest.Authorization(t.Context(), caller.authorization(meshv1connect.MeshServiceListMembersProcedure))
				res, err := b.Mesh.ListMembers(ctx, &meshv1.ListMembersRequest{IncludeRevoked: true})
				require.NoError(t, err, caller.name)
				require.NotEmpty(t, res.GetMembers())
				for _, m := range res.GetMembers() {
					require.Equal(t, meshA.ID, m.GetMeshId(), caller.name)
				}
				ctx = meshtest.Authorization(t.Context(), caller.authorization(meshv1connect.MeshServiceListPeersProcedure))
				peers, err := b.Mesh.ListPeers(ctx, &meshv1.ListPeersRequest{})
				require.NoError(t, err, caller.name)
				require.Len(t, peers.GetPeers(), 1, caller.name)
				require.Equal(t, aBob.ID, peers.GetPeers()[0].GetMemberId(), caller.name)
			}
		})

		t.Run("PeerFrames", func(t *testing.T) {
			t.Parallel()
			peers := aPeer.ListPeers()
			require.Len(t, peers, 1)
			require.Equal(t, aBob.ID, peers[0]["memberId"])
			info := aPeer.Request(map[string]any{"type": "mesh_info"}, "mesh_info_result")
			require.Equal(t, meshA.ID, info["mesh"])

			// A hello naming B with A's member is refused and closes the
			// socket.
			c := b.Dial(t)
			c.Send(meshtest.HelloFrame(meshtest.Member{ID: aBob.ID, MeshID: meshB.ID, Key: aBob.Key}, meshtest.Hello{}))
			c.ExpectError("unauthorized")
			require.Equal(t, websocket.StatusPolicyViolation, c.ExpectClose())
		})
	})
}

// newRequest returns the request message of method: a copy of filled when
// given, else an empty one.
func newRequest(t *testing.T, method protoreflect.MethodDescriptor, filled proto.Message) *dynamicpb.Message {
	t.Helper()
	req := dynamicpb.NewMessage(method.Input())
	if filled == nil {
		return req
	}
	require.Equal(t, method.Input().FullName(), filled.ProtoReflect().Descriptor().FullName())
	data, err := proto.Marshal(filled)
	require.NoError(t, err)
	require.NoError(t, proto.Unmarshal(data, req))
	return req
}

// setString sets a string field of msg if it has one by that name.
func setString(msg *dynamicpb.Message, field, value string) bool {
	fd := msg.Descriptor().Fields().ByName(protoreflect.Name(field))
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() {
		return false
	}
	msg.Set(fd, protoreflect.ValueOfString(value))
	return true
}

// callDynamic calls method with req and an Authorization header through a
// Connect client, and returns the code it answered with (0 for OK) and what
// it answered.
func callDynamic(t *testing.T, b *meshtest.Broker, method protoreflect.MethodDescriptor, procedure, authorization string, req *dynamicpb.Message) (connect.Code, any) {
	t.Helper()
	client := connect.NewClient[dynamicpb.Message, dynamicpb.Message](http.DefaultClient, b.URL+procedure,
		connect.WithSchema(method),
		connect.WithResponseInitializer(func(_ connect.Spec, message any) error {
			res, ok := message.(*dynamicpb.Message)
			if !ok {
				return nil
			}
			*res = *dynamicpb.NewMessage(method.Output())
			return nil
		}),
	)
	request := connect.NewRequest(req)
	request.Header().Set("Authorization", authorization)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	switch {
	case method.IsStreamingServer() && !method.IsStreamingClient():
		stream, err := client.CallServerStream(ctx, request)
		if err != nil {
			return connect.CodeOf(err), err
		}
		defer func() { _ = stream.Close() }()
		if stream.Receive() {
			return 0, stream.Msg()
		}
		return connect.CodeOf(stream.Err()), stream.Err()
	case !method.IsStreamingClient():
		res, err := client.CallUnary(ctx, request)
		if err != nil {
			return connect.CodeOf(err), err
		}
		return 0, res.Msg
	}
	require.FailNow(t, "client streaming RPCs are not covered", "%s", procedure)
	return 0, nil
}
