package mesh

import (
	"context"
	"slices"
	"strings"
	"time"

	"claudemesh.dev/db"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/auth"
	"claudemesh.dev/services/rpcerr"
)

// CreateApiKey mints an API key scoped to one mesh. The secret is returned
// once and stored only as its SHA-256.
func (s *Service) CreateApiKey(ctx context.Context, req *meshv1.CreateApiKeyRequest) (*meshv1.CreateApiKeyResponse, error) { //nolint:revive // name generated from the proto
	c, err := s.callerIn(ctx, req.GetMeshId())
	if err != nil {
		return nil, err
	}
	if err := s.requireAdmin(ctx, c); err != nil {
		return nil, err
	}
	label := strings.TrimSpace(req.GetLabel())
	if label == "" || len(label) > 100 {
		return nil, rpcerr.Invalid("label: give 1-100 characters")
	}
	var caps []string
	for _, v := range req.GetCapabilities() {
		name, ok := capabilityName(v)
		if !ok {
			return nil, rpcerr.Invalid("unknown capability %v", v)
		}
		if !slices.Contains(caps, name) {
			caps = append(caps, name)
		}
	}
	if len(caps) == 0 {
		return nil, rpcerr.Invalid("give at least one capability: read, send, state_write or admin")
	}
	slices.Sort(caps)
	now := s.now()
	var expires *time.Time
	if req.GetExpireTime() != nil {
		t := req.GetExpireTime().AsTime().UTC().Truncate(time.Microsecond)
		if !t.After(now) {
			return nil, rpcerr.Invalid("expire_time is in the past")
		}
		expires = &t
	}
	secret := auth.NewSecret()
	key := db.APIKey{
		ID:                db.NewID(),
		MeshID:            c.meshID,
		Label:             label,
		SecretHash:        auth.HashSecret(secret),
		Prefix:            auth.SecretPrefix(secret),
		Capabilities:      caps,
		CreatedByMemberID: c.memberID,
		CreatedAt:         now,
		ExpiresAt:         expires,
	}
	if err := s.store.CreateAPIKey(ctx, key); err != nil {
		return nil, rpcerr.From(ctx, s.log, "API key", err)
	}
	return &meshv1.CreateApiKeyResponse{ApiKey: apiKeyToProto(key), Secret: secret}, nil
}

func capabilityName(v meshv1.ApiKeyCapability) (string, bool) {
	for name, value := range capabilityValues {
		if value == v {
			return name, true
		}
	}
	return "", false
}

// ListApiKeys lists a mesh's API keys, newest first.
func (s *Service) ListApiKeys(ctx context.Context, req *meshv1.ListApiKeysRequest) (*meshv1.ListApiKeysResponse, error) { //nolint:revive // name generated from the proto
	c, err := s.callerIn(ctx, req.GetMeshId())
	if err != nil {
		return nil, err
	}
	if err := s.requireAdmin(ctx, c); err != nil {
		return nil, err
	}
	keys, err := s.store.ListAPIKeys(ctx, c.meshID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "API keys", err)
	}
	out := &meshv1.ListApiKeysResponse{}
	for _, k := range keys {
		out.ApiKeys = append(out.ApiKeys, apiKeyToProto(k))
	}
	return out, nil
}

// RevokeApiKey revokes a mesh's API key by id or unique id prefix.
func (s *Service) RevokeApiKey(ctx context.Context, req *meshv1.RevokeApiKeyRequest) (*meshv1.RevokeApiKeyResponse, error) { //nolint:revive // name generated from the proto
	c, err := s.callerIn(ctx, req.GetMeshId())
	if err != nil {
		return nil, err
	}
	if err := s.requireAdmin(ctx, c); err != nil {
		return nil, err
	}
	keys, err := s.store.ListAPIKeys(ctx, c.meshID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "API keys", err)
	}
	key, err := uniquePrefix(keys, req.GetId(), "API key", func(k db.APIKey) string { return k.ID })
	if err != nil {
		return nil, err
	}
	if key.RevokedAt == nil {
		now := s.now()
		if err := s.store.RevokeAPIKey(ctx, key.ID, now); err != nil {
			return nil, rpcerr.From(ctx, s.log, "API key", err)
		}
		key.RevokedAt = &now
	}
	return &meshv1.RevokeApiKeyResponse{ApiKey: apiKeyToProto(key)}, nil
}
