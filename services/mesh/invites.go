package mesh

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"time"

	"connectrpc.com/connect"

	"claudemesh.dev/db"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/auth"
	"claudemesh.dev/services/identity"
	"claudemesh.dev/services/invite"
	"claudemesh.dev/services/rpcerr"
)

// Invite limits.
const (
	maxInviteUses = 10000
	// maxInviteLifetime bounds how far in the future an invite may expire.
	maxInviteLifetime = 366 * 24 * time.Hour
)

// CreateInvite registers an invite token signed by the mesh owner key. The
// signature is the credential: only the holder of the owner key can make
// one.
func (s *Service) CreateInvite(ctx context.Context, req *meshv1.CreateInviteRequest) (*meshv1.CreateInviteResponse, error) {
	token, err := invite.TokenFromLink(req.GetToken())
	if err != nil {
		return nil, rpcerr.WithReason(connect.CodeInvalidArgument, "invite_malformed", "%s", err.Error())
	}
	payload, err := invite.Decode(token)
	if err != nil {
		return nil, rpcerr.WithReason(connect.CodeInvalidArgument, "invite_malformed", "%s", err.Error())
	}
	if err := payload.Verify(); err != nil {
		return nil, rpcerr.WithReason(connect.CodeInvalidArgument, "invite_bad_signature", "invite signature does not verify: %s", err.Error())
	}
	meshID := cmp.Or(req.GetMeshId(), payload.MeshID)
	if meshID != payload.MeshID {
		return nil, rpcerr.WithReason(connect.CodeInvalidArgument, "invite_mesh_mismatch", "the invite is for mesh %s, not %s", payload.MeshID, meshID)
	}
	createdBy := ""
	if id := auth.FromContext(ctx); id.Kind != auth.KindAnonymous && id.Kind != auth.KindEdge {
		c, err := s.callerIn(ctx, meshID)
		if err != nil {
			return nil, err
		}
		createdBy = c.memberID
	}
	mesh, err := s.store.GetMesh(ctx, meshID)
	if err != nil || mesh.ArchivedAt != nil {
		return nil, rpcerr.WithReason(connect.CodeNotFound, "mesh_not_found", "mesh %s not found", meshID)
	}
	if mesh.OwnerPubkey != payload.OwnerPubkey {
		return nil, rpcerr.WithReason(connect.CodePermissionDenied, "invite_owner_mismatch", "the invite is not signed by the mesh owner key")
	}
	now := s.now()
	expires := time.Unix(payload.ExpiresAt, 0).UTC()
	if !expires.After(now) {
		return nil, rpcerr.WithReason(connect.CodeInvalidArgument, "invite_expired", "the invite expired at %s", expires.Format(time.RFC3339))
	}
	if expires.Sub(now) > maxInviteLifetime {
		return nil, rpcerr.Invalid("invites may last at most %d days", int(maxInviteLifetime.Hours()/24))
	}
	maxUses := req.GetMaxUses()
	if maxUses == 0 {
		maxUses = 1
	}
	if maxUses < 0 || maxUses > maxInviteUses {
		return nil, rpcerr.Invalid("max_uses must be between 1 and %d", maxInviteUses)
	}
	preset := presetFromProto(req.GetPreset())
	if err := validatePreset(preset); err != nil {
		return nil, err
	}
	inv := db.Invite{
		ID:                db.NewID(),
		MeshID:            meshID,
		Token:             token,
		MaxUses:           maxUses,
		Role:              payload.Role,
		Preset:            preset,
		ExpiresAt:         expires,
		CreatedByMemberID: createdBy,
		CreatedAt:         now,
	}
	if err := s.store.CreateInvite(ctx, inv); err != nil {
		return nil, rpcerr.From(ctx, s.log, "invite", err)
	}
	joinURL, err := invite.JoinURL(s.cfg.PublicURL, token)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "join URL", err)
	}
	return &meshv1.CreateInviteResponse{Invite: inviteToProto(inv), JoinUrl: joinURL}, nil
}

func validatePreset(p db.InvitePreset) error {
	if p.DisplayName != "" {
		if err := validateDisplayName(p.DisplayName); err != nil {
			return err
		}
	}
	if err := validateGroups(p.Groups); err != nil {
		return err
	}
	switch p.MessageMode {
	case "", modePush, modeInbox, modeOff:
		return nil
	}
	return rpcerr.Invalid("message mode %q: use push, inbox or off", p.MessageMode)
}

// ListInvites lists a mesh's invites, newest first.
func (s *Service) ListInvites(ctx context.Context, req *meshv1.ListInvitesRequest) (*meshv1.ListInvitesResponse, error) {
	c, err := s.callerIn(ctx, req.GetMeshId())
	if err != nil {
		return nil, err
	}
	if err := s.requireAdmin(ctx, c); err != nil {
		return nil, err
	}
	invites, err := s.store.ListInvites(ctx, c.meshID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "invites", err)
	}
	out := &meshv1.ListInvitesResponse{}
	for _, inv := range invites {
		out.Invites = append(out.Invites, inviteToProto(inv))
	}
	return out, nil
}

// RevokeInvite revokes an invite by id or unique id prefix.
func (s *Service) RevokeInvite(ctx context.Context, req *meshv1.RevokeInviteRequest) (*meshv1.RevokeInviteResponse, error) {
	c, err := s.callerIn(ctx, req.GetMeshId())
	if err != nil {
		return nil, err
	}
	if err := s.requireAdmin(ctx, c); err != nil {
		return nil, err
	}
	invites, err := s.store.ListInvites(ctx, c.meshID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "invites", err)
	}
	inv, err := uniquePrefix(invites, req.GetInviteId(), "invite", func(i db.Invite) string { return i.ID })
	if err != nil {
		return nil, err
	}
	if inv.RevokedAt == nil {
		now := s.now()
		if err := s.store.RevokeInvite(ctx, inv.ID, now); err != nil {
			return nil, rpcerr.From(ctx, s.log, "invite", err)
		}
		inv.RevokedAt = &now
	}
	return &meshv1.RevokeInviteResponse{Invite: inviteToProto(inv)}, nil
}

// uniquePrefix finds the one item whose id starts with prefix.
func uniquePrefix[T any](items []T, prefix, what string, id func(T) string) (T, error) {
	var zero T
	if len(prefix) < 4 {
		return zero, rpcerr.Invalid("%s id %q: give at least 4 characters", what, prefix)
	}
	var matches []T
	for _, it := range items {
		if strings.HasPrefix(id(it), prefix) {
			matches = append(matches, it)
		}
	}
	switch len(matches) {
	case 0:
		return zero, rpcerr.WithReason(connect.CodeNotFound, "not_found", "no %s with id %q", what, prefix)
	case 1:
		return matches[0], nil
	}
	return zero, rpcerr.WithReason(connect.CodeInvalidArgument, "ambiguous_prefix", "%q matches %d %ss; give more characters", prefix, len(matches), what)
}

// JoinMesh enrolls a member with an invite, following the classic joinMesh:
// the invite must be signed by the mesh owner, registered, not revoked, not
// expired and not used up. Joining again with the same key is idempotent and
// consumes nothing; concurrent joins take uses atomically.
func (s *Service) JoinMesh(ctx context.Context, req *meshv1.JoinMeshRequest) (*meshv1.JoinMeshResponse, error) {
	pubkey := strings.ToLower(req.GetMemberPubkey())
	if !identity.IsPublicHex(pubkey) {
		return nil, rpcerr.WithReason(connect.CodeInvalidArgument, "invalid_pubkey", "peer_pubkey must be 64 hex chars (32 bytes)")
	}
	token, err := invite.TokenFromLink(req.GetInviteToken())
	if err != nil {
		return nil, joinError(connect.CodeInvalidArgument, "invite_malformed", err.Error())
	}
	payload, err := invite.Decode(token)
	if err != nil {
		return nil, joinError(connect.CodeInvalidArgument, "invite_malformed", err.Error())
	}
	if err := payload.Verify(); err != nil {
		return nil, joinError(connect.CodeInvalidArgument, "invite_bad_signature", "the invite signature does not verify")
	}
	mesh, err := s.store.GetMesh(ctx, payload.MeshID)
	switch {
	case errors.Is(err, db.ErrNotFound) || (err == nil && mesh.ArchivedAt != nil):
		return nil, joinError(connect.CodeNotFound, "mesh_not_found", "the mesh of this invite does not exist")
	case err != nil:
		return nil, rpcerr.From(ctx, s.log, "mesh", err)
	case mesh.OwnerPubkey == "":
		return nil, joinError(connect.CodeFailedPrecondition, "mesh_missing_owner_key", "the mesh has no owner key")
	case mesh.OwnerPubkey != payload.OwnerPubkey:
		return nil, joinError(connect.CodePermissionDenied, "invite_owner_mismatch", "the invite is not signed by the mesh owner key")
	}
	inv, err := s.store.GetInviteByToken(ctx, token)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return nil, joinError(connect.CodeNotFound, "invite_not_found", "this invite was never registered with the broker")
	case err != nil:
		return nil, rpcerr.From(ctx, s.log, "invite", err)
	case inv.MeshID != mesh.ID:
		return nil, joinError(connect.CodeInvalidArgument, "invite_mesh_mismatch", "the invite does not belong to its mesh")
	case inv.RevokedAt != nil:
		return nil, joinError(connect.CodeFailedPrecondition, "invite_revoked", "the invite was revoked")
	}
	now := s.now()
	if !now.Before(inv.ExpiresAt) {
		return nil, joinError(connect.CodeFailedPrecondition, "invite_expired", "the invite expired")
	}
	if existing, found, err := s.memberByPubkey(ctx, mesh.ID, pubkey); err != nil {
		return nil, err
	} else if found {
		if existing.RevokedAt != nil {
			return nil, joinError(connect.CodePermissionDenied, "member_revoked", "this key was removed from the mesh; ask an admin to restore it")
		}
		return &meshv1.JoinMeshResponse{Member: memberToProto(existing, false), Mesh: meshToProto(mesh, nil), AlreadyMember: true}, nil
	}
	member := newMemberFromInvite(inv, mesh.ID, pubkey, req.GetDisplayName(), now)
	if err := validateDisplayName(member.DisplayName); err != nil {
		return nil, err
	}
	err = s.store.InTx(ctx, func(q db.Queries) error {
		if _, err := q.ConsumeInvite(ctx, inv.ID, now); err != nil {
			return err
		}
		return q.CreateMember(ctx, member)
	})
	switch {
	case errors.Is(err, db.ErrNotFound):
		// A concurrent join with the same key may have taken the last use:
		// then this join is a re-join, as it would have been a moment later.
		if existing, found, lerr := s.memberByPubkey(ctx, mesh.ID, pubkey); lerr == nil && found && existing.RevokedAt == nil {
			return &meshv1.JoinMeshResponse{Member: memberToProto(existing, false), Mesh: meshToProto(mesh, nil), AlreadyMember: true}, nil
		}
		return nil, joinError(connect.CodeFailedPrecondition, "invite_exhausted", "the invite has no uses left")
	case errors.Is(err, db.ErrConflict):
		// A concurrent join with the same key won; report it as a re-join.
		existing, found, lerr := s.memberByPubkey(ctx, mesh.ID, pubkey)
		if lerr != nil || !found {
			return nil, joinError(connect.CodeInternal, "member_insert_failed", "could not enroll the member")
		}
		return &meshv1.JoinMeshResponse{Member: memberToProto(existing, false), Mesh: meshToProto(mesh, nil), AlreadyMember: true}, nil
	case err != nil:
		s.log.ErrorContext(ctx, "join mesh", "mesh_id", mesh.ID, "err", err)
		return nil, joinError(connect.CodeInternal, "member_insert_failed", "could not enroll the member")
	}
	s.log.InfoContext(ctx, "member joined", "mesh_id", mesh.ID, "member_id", member.ID, "invite_id", inv.ID)
	return &meshv1.JoinMeshResponse{Member: memberToProto(member, false), Mesh: meshToProto(mesh, nil)}, nil
}

func newMemberFromInvite(inv db.Invite, meshID, pubkey, displayName string, now time.Time) db.Member {
	return db.Member{
		ID:            db.NewID(),
		MeshID:        meshID,
		Pubkey:        pubkey,
		DisplayName:   cmp.Or(inv.Preset.DisplayName, cmp.Or(strings.TrimSpace(displayName), "member-"+pubkey[:8])),
		Role:          inv.Role,
		RoleTag:       inv.Preset.RoleTag,
		DefaultGroups: inv.Preset.Groups,
		MessageMode:   cmp.Or(inv.Preset.MessageMode, modePush),
		InviteID:      inv.ID,
		JoinedAt:      now,
	}
}

func (s *Service) memberByPubkey(ctx context.Context, meshID, pubkey string) (db.Member, bool, error) {
	m, err := s.store.GetMemberByPubkey(ctx, meshID, pubkey)
	if errors.Is(err, db.ErrNotFound) {
		return db.Member{}, false, nil
	}
	if err != nil {
		return db.Member{}, false, rpcerr.From(ctx, s.log, "member", err)
	}
	return m, true, nil
}

// joinError is a JoinMesh failure with its classic JoinError code.
func joinError(code connect.Code, reason, message string) error {
	return rpcerr.WithReason(code, reason, "%s", message)
}

// InvitePreview is what the invite landing page shows.
type InvitePreview struct {
	Valid       bool
	Reason      string
	MeshName    string
	MeshSlug    string
	Inviter     string
	Role        string
	MemberCount int
	UsesLeft    int
	ExpiresAt   string
	Command     string
}

// PreviewInvite describes an invite for its landing page, without
// consuming it. An unusable invite is reported with Valid false and why.
func (s *Service) PreviewInvite(ctx context.Context, token string) (InvitePreview, error) {
	invalid := func(reason string) (InvitePreview, error) { return InvitePreview{Reason: reason}, nil }
	payload, err := invite.Decode(token)
	if err != nil || payload.Verify() != nil {
		return invalid("This link is not a valid claudemesh invite.")
	}
	mesh, err := s.store.GetMesh(ctx, payload.MeshID)
	if errors.Is(err, db.ErrNotFound) || (err == nil && (mesh.ArchivedAt != nil || mesh.OwnerPubkey != payload.OwnerPubkey)) {
		return invalid("The mesh of this invite does not exist on this broker.")
	}
	if err != nil {
		return InvitePreview{}, err
	}
	inv, err := s.store.GetInviteByToken(ctx, token)
	if errors.Is(err, db.ErrNotFound) {
		return invalid("This invite was never registered with this broker.")
	}
	if err != nil {
		return InvitePreview{}, err
	}
	now := s.now()
	switch {
	case inv.RevokedAt != nil:
		return invalid("This invite was revoked.")
	case !now.Before(inv.ExpiresAt):
		return invalid("This invite has expired.")
	case inv.UsedCount >= inv.MaxUses:
		return invalid("This invite has been used up.")
	}
	members, err := s.store.ListMembers(ctx, mesh.ID)
	if err != nil {
		return InvitePreview{}, err
	}
	inviter, count := "The mesh owner", 0
	for _, m := range members {
		if m.RevokedAt == nil {
			count++
		}
		if m.ID == inv.CreatedByMemberID {
			inviter = m.DisplayName
		}
	}
	link, err := invite.JoinURL(s.cfg.PublicURL, token)
	if err != nil {
		return InvitePreview{}, err
	}
	return InvitePreview{
		Valid:       true,
		MeshName:    cmp.Or(mesh.Name, mesh.Slug),
		MeshSlug:    mesh.Slug,
		Inviter:     inviter,
		Role:        inv.Role,
		MemberCount: count,
		UsesLeft:    int(inv.MaxUses - inv.UsedCount),
		ExpiresAt:   inv.ExpiresAt.Format("2006-01-02 15:04 UTC"),
		Command:     "claudemesh join " + link,
	}, nil
}
