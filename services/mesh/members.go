package mesh

import (
	"context"
	"errors"
	"strings"

	"connectrpc.com/connect"

	"claudemesh.dev/db"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/auth"
	"claudemesh.dev/services/rpcerr"
)

// ListMembers lists a mesh's members, with whether each has a live session.
func (s *Service) ListMembers(ctx context.Context, req *meshv1.ListMembersRequest) (*meshv1.ListMembersResponse, error) {
	c, err := s.callerIn(ctx, req.GetMeshId())
	if err != nil {
		return nil, err
	}
	members, err := s.store.ListMembers(ctx, c.meshID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "members", err)
	}
	online, err := s.onlineMembers(ctx, c.meshID)
	if err != nil {
		return nil, err
	}
	out := &meshv1.ListMembersResponse{}
	for _, m := range members {
		if m.RevokedAt != nil && !req.GetIncludeRevoked() {
			continue
		}
		out.Members = append(out.Members, memberToProto(m, online[m.ID]))
	}
	return out, nil
}

// onlineMembers returns the members of a mesh with a live presence.
func (s *Service) onlineMembers(ctx context.Context, meshID string) (map[string]bool, error) {
	live, err := s.store.ListLivePresences(ctx, meshID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "presences", err)
	}
	out := make(map[string]bool, len(live))
	for _, p := range live {
		out[p.MemberID] = true
	}
	return out, nil
}

// UpdateMember changes a member's profile under the mesh's self-editable
// policy; admins may change any member, and roles.
func (s *Service) UpdateMember(ctx context.Context, req *meshv1.UpdateMemberRequest) (*meshv1.UpdateMemberResponse, error) {
	c, err := s.callerIn(ctx, req.GetMeshId())
	if err != nil {
		return nil, err
	}
	target, err := s.store.GetMember(ctx, req.GetMemberId())
	if err != nil || target.MeshID != c.meshID {
		return nil, rpcerr.WithReason(connect.CodeNotFound, "not_found", "no member %q in this mesh", req.GetMemberId())
	}
	admin := s.requireAdmin(ctx, c) == nil
	if !admin {
		if c.memberID != target.ID {
			return nil, rpcerr.Denied("only mesh admins may change other members")
		}
		if err := s.checkSelfEditable(ctx, c.meshID, req); err != nil {
			return nil, err
		}
	}
	p := db.UpdateMemberParams{ID: target.ID}
	if req.DisplayName != nil {
		name := strings.TrimSpace(req.GetDisplayName())
		if err := validateDisplayName(name); err != nil {
			return nil, err
		}
		p.DisplayName = &name
	}
	if req.RoleTag != nil {
		tag := strings.TrimSpace(req.GetRoleTag())
		if len(tag) > 64 {
			return nil, rpcerr.Invalid("role tag: at most 64 characters")
		}
		p.RoleTag = &tag
	}
	if req.GetSetDefaultGroups() {
		groups := groupsFromProto(req.GetDefaultGroups())
		if err := validateGroups(groups); err != nil {
			return nil, err
		}
		p.DefaultGroups = &groups
	}
	if req.MessageMode != nil {
		mode := messageModeFromProto(req.GetMessageMode())
		p.MessageMode = &mode
	}
	if req.Role != nil {
		if !admin {
			return nil, rpcerr.Denied("only mesh admins may change roles")
		}
		role := roleFromProto(req.GetRole())
		p.Role = &role
	}
	m, err := s.store.UpdateMember(ctx, p)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "member", err)
	}
	return &meshv1.UpdateMemberResponse{Member: memberToProto(m, false)}, nil
}

// checkSelfEditable refuses changes the mesh policy keeps for admins.
func (s *Service) checkSelfEditable(ctx context.Context, meshID string, req *meshv1.UpdateMemberRequest) error {
	mesh, err := s.store.GetMesh(ctx, meshID)
	if err != nil {
		return rpcerr.From(ctx, s.log, "mesh", err)
	}
	se := mesh.Policy.SelfEditable
	var locked []string
	if req.DisplayName != nil && !se.DisplayName {
		locked = append(locked, "displayName")
	}
	if req.RoleTag != nil && !se.RoleTag {
		locked = append(locked, "roleTag")
	}
	if req.GetSetDefaultGroups() && !se.Groups {
		locked = append(locked, "groups")
	}
	if req.MessageMode != nil && !se.MessageMode {
		locked = append(locked, "messageMode")
	}
	if len(locked) > 0 {
		return rpcerr.Denied("admin-managed fields: %s", strings.Join(locked, ", "))
	}
	return nil
}

// RevokeMember bans a member and closes their sessions with 4002.
func (s *Service) RevokeMember(ctx context.Context, req *meshv1.RevokeMemberRequest) (*meshv1.RevokeMemberResponse, error) {
	c, err := s.callerIn(ctx, req.GetMeshId())
	if err != nil {
		return nil, err
	}
	if err := s.requireAdmin(ctx, c); err != nil {
		return nil, err
	}
	target, err := s.findMember(ctx, c.meshID, req.GetMember())
	if err != nil {
		return nil, err
	}
	if target.ID == c.memberID {
		return nil, rpcerr.WithReason(connect.CodeInvalidArgument, "invalid", "cannot ban yourself")
	}
	now := s.now()
	if target.RevokedAt == nil {
		if err := s.store.RevokeMember(ctx, target.ID, now, req.GetReason()); err != nil {
			return nil, rpcerr.From(ctx, s.log, "member", err)
		}
		target.RevokedAt, target.RevokeReason = &now, req.GetReason()
	}
	closed := s.closeRevokedSessions(ctx, target)
	s.log.InfoContext(ctx, "member revoked", "mesh_id", c.meshID, "member_id", target.ID, "by", auth.FromContext(ctx).Kind.String(), "closed_sessions", closed)
	return &meshv1.RevokeMemberResponse{Member: memberToProto(target, false), ClosedSessions: int32(closed)}, nil //nolint:gosec // bounded by the per-mesh connection cap
}

// RestoreMember lifts a ban.
func (s *Service) RestoreMember(ctx context.Context, req *meshv1.RestoreMemberRequest) (*meshv1.RestoreMemberResponse, error) {
	c, err := s.callerIn(ctx, req.GetMeshId())
	if err != nil {
		return nil, err
	}
	if err := s.requireAdmin(ctx, c); err != nil {
		return nil, err
	}
	target, err := s.findMember(ctx, c.meshID, req.GetMember())
	if err != nil {
		return nil, err
	}
	if target.RevokedAt != nil {
		if err := s.store.RestoreMember(ctx, target.ID); err != nil {
			return nil, rpcerr.From(ctx, s.log, "member", err)
		}
		target.RevokedAt, target.RevokeReason = nil, ""
	}
	return &meshv1.RestoreMemberResponse{Member: memberToProto(target, false)}, nil
}

// findMember finds a member of a mesh by id, pubkey, or a display name that
// is unique (case-insensitive).
func (s *Service) findMember(ctx context.Context, meshID, ref string) (db.Member, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return db.Member{}, rpcerr.Invalid("name a member by id, pubkey or display name")
	}
	m, err := s.store.GetMember(ctx, ref)
	if err == nil && m.MeshID == meshID {
		return m, nil
	}
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return db.Member{}, rpcerr.From(ctx, s.log, "member", err)
	}
	if m, found, err := s.memberByPubkey(ctx, meshID, strings.ToLower(ref)); err != nil || found {
		return m, err
	}
	members, err := s.store.ListMembers(ctx, meshID)
	if err != nil {
		return db.Member{}, rpcerr.From(ctx, s.log, "members", err)
	}
	var matches []db.Member
	for _, m := range members {
		if strings.EqualFold(m.DisplayName, ref) {
			matches = append(matches, m)
		}
	}
	switch len(matches) {
	case 0:
		return db.Member{}, rpcerr.WithReason(connect.CodeNotFound, "not_found", "no member %q in this mesh", ref)
	case 1:
		return matches[0], nil
	}
	return db.Member{}, rpcerr.WithReason(connect.CodeInvalidArgument, "ambiguous", "%d members are named %q; use the id or pubkey", len(matches), ref)
}
