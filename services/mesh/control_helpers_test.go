package mesh_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	"claudemesh.dev/db/storetest"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/identity"
	"claudemesh.dev/services/invite"
	"claudemesh.dev/services/meshtest"
	"claudemesh.dev/services/rpcerr"
)

// onEachEngine runs test once per storage engine, as parallel subtests named
// after the engine.
func onEachEngine(t *testing.T, test func(t *testing.T, engine storetest.Engine)) {
	t.Helper()
	for _, engine := range storetest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			test(t, engine)
		})
	}
}

// asOperator returns a context whose RPCs carry the operator token.
func asOperator(t *testing.T, b *meshtest.Broker) context.Context {
	t.Helper()
	return meshtest.Bearer(t.Context(), b.Operator)
}

// requireCode requires err to be a Connect error with code, and with the
// ErrorInfo reason when reason is not "".
func requireCode(t *testing.T, err error, code connect.Code, reason string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, connect.CodeOf(err), "error: %v", err)
	if reason != "" {
		require.Equal(t, reason, rpcerr.Reason(err), "error: %v", err)
	}
}

// signToken signs p with owner and encodes it, filling the fields a test
// leaves empty with valid values.
func signToken(t *testing.T, p invite.Payload, owner identity.KeyPair) string {
	t.Helper()
	if p.V == 0 {
		p.V = 1
	}
	if p.MeshSlug == "" {
		p.MeshSlug = "some-mesh"
	}
	if p.BrokerURL == "" {
		p.BrokerURL = "ws://127.0.0.1:1/ws"
	}
	if p.MeshRootKey == "" {
		p.MeshRootKey = invite.NewRootKey()
	}
	if p.Role == "" {
		p.Role = "member"
	}
	token, err := invite.Encode(invite.Sign(p, owner))
	require.NoError(t, err)
	return token
}

// tamper decodes a token, changes its payload with change and encodes it
// again without signing it.
func tamper(t *testing.T, token string, change func(p *invite.Payload)) string {
	t.Helper()
	p, err := invite.Decode(token)
	require.NoError(t, err)
	change(&p)
	out, err := invite.Encode(p)
	require.NoError(t, err)
	return out
}

// listInvites lists a mesh's invites with the operator token.
func listInvites(t *testing.T, b *meshtest.Broker, meshID string) []*meshv1.Invite {
	t.Helper()
	res, err := b.Mesh.ListInvites(asOperator(t, b), &meshv1.ListInvitesRequest{MeshId: meshID})
	require.NoError(t, err)
	return res.GetInvites()
}

// inviteByToken finds a listed invite by its token.
func inviteByToken(t *testing.T, b *meshtest.Broker, meshID, token string) *meshv1.Invite {
	t.Helper()
	for _, inv := range listInvites(t, b, meshID) {
		if inv.GetToken() == token {
			return inv
		}
	}
	require.FailNow(t, "invite not listed")
	return nil
}

// listMembers lists a mesh's members (revoked included) with the operator
// token.
func listMembers(t *testing.T, b *meshtest.Broker, meshID string) []*meshv1.Member {
	t.Helper()
	res, err := b.Mesh.ListMembers(asOperator(t, b), &meshv1.ListMembersRequest{MeshId: meshID, IncludeRevoked: true})
	require.NoError(t, err)
	return res.GetMembers()
}

// memberByID finds a listed member.
func memberByID(t *testing.T, b *meshtest.Broker, meshID, id string) *meshv1.Member {
	t.Helper()
	for _, m := range listMembers(t, b, meshID) {
		if m.GetId() == id {
			return m
		}
	}
	require.FailNow(t, "member not listed", "member %s", id)
	return nil
}
