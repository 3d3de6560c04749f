package mesh

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"claudemesh.dev/db"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
)

func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func timestampPtr(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func meshToProto(m db.Mesh, groups []db.MeshGroup) *meshv1.Mesh {
	out := &meshv1.Mesh{
		Id:          m.ID,
		Slug:        m.Slug,
		Name:        m.Name,
		Template:    m.Template,
		OwnerPubkey: m.OwnerPubkey,
		Policy:      policyToProto(m.Policy),
		PromptHint:  m.PromptHint,
		CreateTime:  timestamp(m.CreatedAt),
	}
	for _, g := range groups {
		out.Groups = append(out.Groups, &meshv1.MeshGroup{Name: g.Name, Roles: g.Roles})
	}
	return out
}

func policyToProto(p db.MeshPolicy) *meshv1.MeshPolicy {
	return &meshv1.MeshPolicy{
		SelfEditable: &meshv1.SelfEditable{
			DisplayName: p.SelfEditable.DisplayName,
			RoleTag:     p.SelfEditable.RoleTag,
			Groups:      p.SelfEditable.Groups,
			MessageMode: p.SelfEditable.MessageMode,
		},
		SendRatePerMinute: p.SendRatePerMinute,
		SendBurst:         p.SendBurst,
	}
}

func policyFromProto(p *meshv1.MeshPolicy) db.MeshPolicy {
	se := p.GetSelfEditable()
	return db.MeshPolicy{
		SelfEditable: db.SelfEditable{
			DisplayName: se.GetDisplayName(),
			RoleTag:     se.GetRoleTag(),
			Groups:      se.GetGroups(),
			MessageMode: se.GetMessageMode(),
		},
		SendRatePerMinute: p.GetSendRatePerMinute(),
		SendBurst:         p.GetSendBurst(),
	}
}

// defaultPolicy lets members edit all of their own profile, as classic does.
func defaultPolicy() db.MeshPolicy {
	return db.MeshPolicy{SelfEditable: db.SelfEditable{DisplayName: true, RoleTag: true, Groups: true, MessageMode: true}}
}

func memberToProto(m db.Member, online bool) *meshv1.Member {
	return &meshv1.Member{
		Id:            m.ID,
		MeshId:        m.MeshID,
		Pubkey:        m.Pubkey,
		DisplayName:   m.DisplayName,
		Role:          roleToProto(m.Role),
		RoleTag:       m.RoleTag,
		DefaultGroups: groupsToProto(m.DefaultGroups),
		MessageMode:   messageModeToProto(m.MessageMode),
		JoinTime:      timestamp(m.JoinedAt),
		LastSeenTime:  timestampPtr(m.LastSeenAt),
		RevokeTime:    timestampPtr(m.RevokedAt),
		Online:        online,
	}
}

func roleToProto(role string) meshv1.MemberRole {
	if role == db.RoleAdmin {
		return meshv1.MemberRole_MEMBER_ROLE_ADMIN
	}
	return meshv1.MemberRole_MEMBER_ROLE_MEMBER
}

func roleFromProto(r meshv1.MemberRole) string {
	if r == meshv1.MemberRole_MEMBER_ROLE_ADMIN {
		return db.RoleAdmin
	}
	return db.RoleMember
}

// Message modes as stored and as peers name them.
const (
	modePush  = "push"
	modeInbox = "inbox"
	modeOff   = "off"
)

func messageModeToProto(mode string) meshv1.MessageMode {
	switch mode {
	case modeInbox:
		return meshv1.MessageMode_MESSAGE_MODE_INBOX
	case modeOff:
		return meshv1.MessageMode_MESSAGE_MODE_OFF
	default:
		return meshv1.MessageMode_MESSAGE_MODE_PUSH
	}
}

func messageModeFromProto(m meshv1.MessageMode) string {
	switch m {
	case meshv1.MessageMode_MESSAGE_MODE_INBOX:
		return modeInbox
	case meshv1.MessageMode_MESSAGE_MODE_OFF:
		return modeOff
	default:
		return modePush
	}
}

func groupsToProto(gs []db.GroupRole) []*meshv1.GroupMembership {
	out := make([]*meshv1.GroupMembership, 0, len(gs))
	for _, g := range gs {
		out = append(out, &meshv1.GroupMembership{Name: g.Name, Role: g.Role})
	}
	return out
}

func groupsFromProto(gs []*meshv1.GroupMembership) []db.GroupRole {
	if len(gs) == 0 {
		return nil
	}
	out := make([]db.GroupRole, 0, len(gs))
	for _, g := range gs {
		out = append(out, db.GroupRole{Name: g.GetName(), Role: g.GetRole()})
	}
	return out
}

func inviteToProto(inv db.Invite) *meshv1.Invite {
	return &meshv1.Invite{
		Id:         inv.ID,
		MeshId:     inv.MeshID,
		Token:      inv.Token,
		MaxUses:    inv.MaxUses,
		UsedCount:  inv.UsedCount,
		Role:       roleToProto(inv.Role),
		Preset:     presetToProto(inv.Preset),
		ExpireTime: timestamp(inv.ExpiresAt),
		CreateTime: timestamp(inv.CreatedAt),
		RevokeTime: timestampPtr(inv.RevokedAt),
	}
}

func presetToProto(p db.InvitePreset) *meshv1.InvitePreset {
	out := &meshv1.InvitePreset{
		DisplayName: p.DisplayName,
		RoleTag:     p.RoleTag,
		Groups:      groupsToProto(p.Groups),
	}
	if p.MessageMode != "" {
		out.MessageMode = messageModeToProto(p.MessageMode)
	}
	return out
}

func presetFromProto(p *meshv1.InvitePreset) db.InvitePreset {
	out := db.InvitePreset{
		DisplayName: p.GetDisplayName(),
		RoleTag:     p.GetRoleTag(),
		Groups:      groupsFromProto(p.GetGroups()),
	}
	if p.GetMessageMode() != meshv1.MessageMode_MESSAGE_MODE_UNSPECIFIED {
		out.MessageMode = messageModeFromProto(p.GetMessageMode())
	}
	return out
}

func apiKeyToProto(k db.APIKey) *meshv1.ApiKey {
	out := &meshv1.ApiKey{
		Id:          k.ID,
		MeshId:      k.MeshID,
		Label:       k.Label,
		Prefix:      k.Prefix,
		CreateTime:  timestamp(k.CreatedAt),
		LastUseTime: timestampPtr(k.LastUsedAt),
		ExpireTime:  timestampPtr(k.ExpiresAt),
		RevokeTime:  timestampPtr(k.RevokedAt),
	}
	for _, c := range k.Capabilities {
		if v, ok := capabilityValues[c]; ok {
			out.Capabilities = append(out.Capabilities, v)
		}
	}
	return out
}

//nolint:gochecknoglobals // read-only table.
var capabilityValues = map[string]meshv1.ApiKeyCapability{
	"read":        meshv1.ApiKeyCapability_API_KEY_CAPABILITY_READ,
	"send":        meshv1.ApiKeyCapability_API_KEY_CAPABILITY_SEND,
	"state_write": meshv1.ApiKeyCapability_API_KEY_CAPABILITY_STATE_WRITE,
	"admin":       meshv1.ApiKeyCapability_API_KEY_CAPABILITY_ADMIN,
}

// Statuses and their sources.
const (
	statusIdle    = "idle"
	statusWorking = "working"
	statusDND     = "dnd"

	sourceInferred = "inferred"
	sourceManual   = "manual"
	sourceHook     = "hook"
)

func statusToProto(s string) meshv1.PeerStatus {
	switch s {
	case statusWorking:
		return meshv1.PeerStatus_PEER_STATUS_WORKING
	case statusDND:
		return meshv1.PeerStatus_PEER_STATUS_DND
	default:
		return meshv1.PeerStatus_PEER_STATUS_IDLE
	}
}

// statusFromProto returns the stored name of a status, or "" for an
// unspecified one.
func statusFromProto(s meshv1.PeerStatus) string {
	switch s {
	case meshv1.PeerStatus_PEER_STATUS_IDLE:
		return statusIdle
	case meshv1.PeerStatus_PEER_STATUS_WORKING:
		return statusWorking
	case meshv1.PeerStatus_PEER_STATUS_DND:
		return statusDND
	}
	return ""
}

func statusSourceToProto(s string) meshv1.StatusSource {
	switch s {
	case sourceHook:
		return meshv1.StatusSource_STATUS_SOURCE_HOOK
	case sourceManual:
		return meshv1.StatusSource_STATUS_SOURCE_MANUAL
	default:
		return meshv1.StatusSource_STATUS_SOURCE_INFERRED
	}
}

func statsToProto(s db.Stats) *meshv1.PeerStats {
	return &meshv1.PeerStats{
		MessagesIn:    s.MessagesIn,
		MessagesOut:   s.MessagesOut,
		ToolCalls:     s.ToolCalls,
		UptimeSeconds: s.Uptime,
		Errors:        s.Errors,
	}
}

func profileToProto(p db.Profile) *meshv1.PeerProfile {
	return &meshv1.PeerProfile{Avatar: p.Avatar, Title: p.Title, Bio: p.Bio, Capabilities: p.Capabilities}
}
