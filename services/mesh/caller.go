package mesh

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	"claudemesh.dev/db"
	"claudemesh.dev/services/auth"
	"claudemesh.dev/services/rpcerr"
)

// caller is the resolved caller of an RPC that touches one mesh.
type caller struct {
	id     auth.Identity
	meshID string
	// session is set for peers (sessions served by this replica).
	session *session
	// memberID is set for peers and member-signed callers.
	memberID string
}

// callerIn checks that the RPC's caller belongs to meshID and returns it.
// Peers act in their own session's mesh; a meshID of "" means "the caller's
// mesh" and is only meaningful for peers and mesh-scoped keys. The operator
// may act in any mesh.
func (s *Service) callerIn(ctx context.Context, meshID string) (caller, error) {
	id := auth.FromContext(ctx)
	c := caller{id: id, meshID: meshID}
	switch id.Kind {
	case auth.KindPeer:
		sess := s.hub.get(id.PresenceID)
		if sess == nil {
			return caller{}, connect.NewError(connect.CodeUnauthenticated, errors.New("session is not connected to this broker"))
		}
		if meshID != "" && meshID != sess.meshID {
			return caller{}, notMember()
		}
		c.meshID, c.session, c.memberID = sess.meshID, sess, sess.memberID
	case auth.KindAPIKey:
		if meshID != "" && meshID != id.MeshID {
			return caller{}, notMember()
		}
		c.meshID = id.MeshID
	case auth.KindMember:
		if meshID != "" && meshID != id.MeshID {
			return caller{}, notMember()
		}
		c.meshID, c.memberID = id.MeshID, id.MemberID
	case auth.KindOperator:
		if meshID == "" {
			return caller{}, rpcerr.Invalid("mesh_id is required")
		}
	default:
		return caller{}, connect.NewError(connect.CodeUnauthenticated, errors.New("this RPC needs credentials"))
	}
	return c, nil
}

// sessionCaller returns the peer session the RPC acts for. presenceID, when
// set in the request, must be the caller's own session.
func (s *Service) sessionCaller(ctx context.Context, presenceID string) (*session, error) {
	c, err := s.callerIn(ctx, "")
	if err != nil {
		return nil, err
	}
	if c.session == nil {
		return nil, rpcerr.Denied("this RPC acts for a connected session")
	}
	if presenceID != "" && presenceID != c.session.presenceID {
		return nil, rpcerr.Denied("a session may only change itself")
	}
	return c.session, nil
}

// requireAdmin checks that the caller may administer its mesh: the
// operator, an API key with the admin capability, or a member with the admin
// role.
func (s *Service) requireAdmin(ctx context.Context, c caller) error {
	switch c.id.Kind {
	case auth.KindOperator:
		return nil
	case auth.KindAPIKey:
		if c.id.Has(auth.CapAdmin) {
			return nil
		}
	case auth.KindPeer, auth.KindMember:
		member, err := s.store.GetMember(ctx, c.memberID)
		if err != nil {
			return rpcerr.From(ctx, s.log, "member", err)
		}
		if member.Role == db.RoleAdmin && member.RevokedAt == nil {
			return nil
		}
	}
	return rpcerr.Denied("only mesh admins may do this")
}

func notMember() error {
	return rpcerr.WithReason(connect.CodePermissionDenied, "forbidden", "not a member of this mesh")
}
