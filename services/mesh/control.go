package mesh

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"

	"connectrpc.com/connect"

	"claudemesh.dev/db"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/identity"
	"claudemesh.dev/services/rpcerr"
	"claudemesh.dev/services/templates"
)

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// CreateMesh registers a mesh, creates what its template declares (groups
// with their roles, initial shared state) and enrolls the first member as
// admin, in one transaction.
func (s *Service) CreateMesh(ctx context.Context, req *meshv1.CreateMeshRequest) (*meshv1.CreateMeshResponse, error) {
	slug := strings.TrimSpace(req.GetSlug())
	if !slugPattern.MatchString(slug) {
		return nil, rpcerr.Invalid("slug %q: use 1-63 lowercase letters, digits and dashes, starting with a letter or digit", slug)
	}
	var tmpl templates.Template
	if req.GetTemplate() != "" {
		var ok bool
		if tmpl, ok = templates.Get(req.GetTemplate()); !ok {
			return nil, rpcerr.Invalid("unknown template %q: use one of %s", req.GetTemplate(), strings.Join(templates.Names(), ", "))
		}
	}
	owner, member := strings.ToLower(req.GetOwnerPubkey()), strings.ToLower(req.GetMemberPubkey())
	if !identity.IsPublicHex(owner) {
		return nil, rpcerr.Invalid("owner_pubkey must be an ed25519 public key in 64 hex characters")
	}
	if !identity.IsPublicHex(member) {
		return nil, rpcerr.Invalid("member_pubkey must be an ed25519 public key in 64 hex characters")
	}
	name := cmp.Or(strings.TrimSpace(req.GetName()), slug)
	displayName := cmp.Or(strings.TrimSpace(req.GetMemberDisplayName()), slug+"-owner")
	if err := validateDisplayName(displayName); err != nil {
		return nil, err
	}
	now := s.now()
	mesh := db.Mesh{
		ID:          db.NewID(),
		Slug:        slug,
		Name:        name,
		Template:    tmpl.Name,
		OwnerPubkey: owner,
		Policy:      defaultPolicy(),
		PromptHint:  tmpl.PromptHint,
		CreatedAt:   now,
	}
	first := db.Member{
		ID:          db.NewID(),
		MeshID:      mesh.ID,
		Pubkey:      member,
		DisplayName: displayName,
		Role:        db.RoleAdmin,
		MessageMode: modePush,
		JoinedAt:    now,
	}
	var groups []db.MeshGroup
	err := s.store.InTx(ctx, func(q db.Queries) error {
		if err := q.CreateMesh(ctx, mesh); err != nil {
			return err
		}
		for _, g := range tmpl.Groups {
			mg := db.MeshGroup{MeshID: mesh.ID, Name: g.Name, Roles: g.Roles, CreatedAt: now}
			if err := q.UpsertMeshGroup(ctx, mg); err != nil {
				return err
			}
			groups = append(groups, mg)
		}
		for _, k := range tmpl.StateKeys {
			value, err := json.Marshal(k.Value)
			if err != nil {
				return err
			}
			if err := q.UpsertState(ctx, db.StateEntry{MeshID: mesh.ID, Key: k.Key, Value: value, UpdatedByName: "template:" + tmpl.Name, UpdatedAt: now}); err != nil {
				return err
			}
		}
		return q.CreateMember(ctx, first)
	})
	if errors.Is(err, db.ErrConflict) {
		return nil, rpcerr.WithReason(connect.CodeAlreadyExists, "mesh_exists", "a mesh with slug %q already exists", slug)
	}
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "mesh", err)
	}
	s.log.InfoContext(ctx, "mesh created", "mesh_id", mesh.ID, "slug", slug, "template", tmpl.Name)
	return &meshv1.CreateMeshResponse{Mesh: meshToProto(mesh, groups), Member: memberToProto(first, false)}, nil
}

// GetMesh returns a mesh by id or slug; peers and mesh-scoped keys may leave
// it empty for their own mesh.
func (s *Service) GetMesh(ctx context.Context, req *meshv1.GetMeshRequest) (*meshv1.GetMeshResponse, error) {
	mesh, err := s.resolveMesh(ctx, req.GetMesh())
	if err != nil {
		return nil, err
	}
	c, err := s.callerIn(ctx, mesh.ID)
	if err != nil {
		return nil, err
	}
	out, err := s.meshProto(ctx, c.meshID)
	if err != nil {
		return nil, err
	}
	return &meshv1.GetMeshResponse{Mesh: out}, nil
}

// resolveMesh finds a mesh by id or slug; "" is the caller's own mesh.
func (s *Service) resolveMesh(ctx context.Context, idOrSlug string) (db.Mesh, error) {
	if idOrSlug == "" {
		c, err := s.callerIn(ctx, "")
		if err != nil {
			return db.Mesh{}, err
		}
		idOrSlug = c.meshID
	}
	m, err := s.store.GetMesh(ctx, idOrSlug)
	if errors.Is(err, db.ErrNotFound) {
		m, err = s.store.GetMeshBySlug(ctx, idOrSlug)
	}
	if err == nil && m.ArchivedAt != nil {
		err = db.ErrNotFound
	}
	if err != nil {
		return db.Mesh{}, rpcerr.From(ctx, s.log, "mesh", err)
	}
	return m, nil
}

// meshProto loads a mesh with its declared groups.
func (s *Service) meshProto(ctx context.Context, meshID string) (*meshv1.Mesh, error) {
	m, err := s.store.GetMesh(ctx, meshID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "mesh", err)
	}
	groups, err := s.store.ListMeshGroups(ctx, meshID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "mesh groups", err)
	}
	return meshToProto(m, groups), nil
}

// ListMeshes lists the broker's meshes (operator only, by policy).
func (s *Service) ListMeshes(ctx context.Context, _ *meshv1.ListMeshesRequest) (*meshv1.ListMeshesResponse, error) {
	meshes, err := s.store.ListMeshes(ctx)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "meshes", err)
	}
	out := &meshv1.ListMeshesResponse{}
	for _, m := range meshes {
		groups, err := s.store.ListMeshGroups(ctx, m.ID)
		if err != nil {
			return nil, rpcerr.From(ctx, s.log, "mesh groups", err)
		}
		out.Meshes = append(out.Meshes, meshToProto(m, groups))
	}
	return out, nil
}

// UpdateMeshPolicy replaces a mesh's policy.
func (s *Service) UpdateMeshPolicy(ctx context.Context, req *meshv1.UpdateMeshPolicyRequest) (*meshv1.UpdateMeshPolicyResponse, error) {
	c, err := s.callerIn(ctx, req.GetMeshId())
	if err != nil {
		return nil, err
	}
	if err := s.requireAdmin(ctx, c); err != nil {
		return nil, err
	}
	if req.GetPolicy() == nil {
		return nil, rpcerr.Invalid("policy is required")
	}
	if err := s.store.UpdateMeshPolicy(ctx, c.meshID, policyFromProto(req.GetPolicy())); err != nil {
		return nil, rpcerr.From(ctx, s.log, "mesh", err)
	}
	s.policies.Delete(c.meshID)
	out, err := s.meshProto(ctx, c.meshID)
	if err != nil {
		return nil, err
	}
	return &meshv1.UpdateMeshPolicyResponse{Mesh: out}, nil
}

// validateDisplayName keeps display names printable and short.
func validateDisplayName(name string) error {
	if name == "" || len(name) > 64 || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return rpcerr.Invalid("display name %q: use 1-64 printable characters", name)
	}
	return nil
}
