package db

import (
	"encoding/json"
	"time"
)

// GroupRole is a group membership with an optional role inside the group.
type GroupRole struct {
	Name string `json:"name"`
	Role string `json:"role,omitempty"`
}

// SelfEditable says which member fields a non-admin member may change.
type SelfEditable struct {
	DisplayName bool `json:"displayName"`
	RoleTag     bool `json:"roleTag"`
	Groups      bool `json:"groups"`
	MessageMode bool `json:"messageMode"`
}

// MeshPolicy is the per-mesh policy.
type MeshPolicy struct {
	SelfEditable SelfEditable `json:"selfEditable"`
	// SendRatePerMinute and SendBurst override the broker's per-member send
	// limit when set.
	SendRatePerMinute int32 `json:"sendRatePerMinute,omitempty"`
	SendBurst         int32 `json:"sendBurst,omitempty"`
}

// Mesh is a persistent workspace.
type Mesh struct {
	ID          string
	Slug        string
	Name        string
	Template    string
	OwnerPubkey string
	Policy      MeshPolicy
	PromptHint  string
	CreatedAt   time.Time
	ArchivedAt  *time.Time
}

// MeshGroup is a group declared in a mesh (by its template or an admin).
type MeshGroup struct {
	MeshID    string
	Name      string
	Roles     []string
	CreatedAt time.Time
}

// Member roles.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// Member is a durable identity in a mesh: an ed25519 key enrolled by invite.
type Member struct {
	ID            string
	MeshID        string
	Pubkey        string
	DisplayName   string
	Role          string
	RoleTag       string
	DefaultGroups []GroupRole
	MessageMode   string
	InviteID      string
	JoinedAt      time.Time
	LastSeenAt    *time.Time
	RevokedAt     *time.Time
	RevokeReason  string
}

// InvitePreset is applied to the member an invite enrolls.
type InvitePreset struct {
	DisplayName string      `json:"displayName,omitempty"`
	RoleTag     string      `json:"roleTag,omitempty"`
	Groups      []GroupRole `json:"groups,omitempty"`
	MessageMode string      `json:"messageMode,omitempty"`
}

// Invite is a signed, expiring, limited-use invitation to a mesh.
type Invite struct {
	ID                string
	MeshID            string
	Token             string
	MaxUses           int32
	UsedCount         int32
	Role              string
	Preset            InvitePreset
	ExpiresAt         time.Time
	CreatedByMemberID string
	CreatedAt         time.Time
	RevokedAt         *time.Time
}

// APIKey is a bearer credential, stored as the SHA-256 of its secret. A key
// with an empty MeshID is an operator key.
type APIKey struct {
	ID                string
	MeshID            string
	Label             string
	SecretHash        string
	Prefix            string
	Capabilities      []string
	CreatedByMemberID string
	CreatedAt         time.Time
	LastUsedAt        *time.Time
	ExpiresAt         *time.Time
	RevokedAt         *time.Time
}

// Stats are a session's counters.
type Stats struct {
	MessagesIn  int64 `json:"messagesIn"`
	MessagesOut int64 `json:"messagesOut"`
	ToolCalls   int64 `json:"toolCalls"`
	Uptime      int64 `json:"uptime"`
	Errors      int64 `json:"errors"`
}

// Profile is a session's self-description.
type Profile struct {
	Avatar       string   `json:"avatar,omitempty"`
	Title        string   `json:"title,omitempty"`
	Bio          string   `json:"bio,omitempty"`
	Capabilities []string `json:"capabilities,omitempty"`
}

// Presence is one connected session of a member, served by one broker
// replica. DisconnectedAt is nil while it is live.
type Presence struct {
	ID              string
	MeshID          string
	MemberID        string
	ReplicaID       string
	SessionID       string
	SessionPubkey   string
	DisplayName     string
	PID             int32
	Cwd             string
	Hostname        string
	PeerType        string
	Channel         string
	Model           string
	PeerRole        string
	Status          string
	StatusSource    string
	StatusUpdatedAt time.Time
	Summary         *string
	Groups          []GroupRole
	Visible         bool
	Profile         Profile
	Stats           Stats
	HookTokenHash   string
	ConnectedAt     time.Time
	HeartbeatAt     time.Time
	DisconnectedAt  *time.Time
}

// PresenceStatus is a status write.
type PresenceStatus struct {
	Status    string
	Source    string
	UpdatedAt time.Time
}

// PeerState is what a member's sessions leave behind for the next one
// ("welcome back").
type PeerState struct {
	MeshID          string
	MemberID        string
	Groups          []GroupRole
	Profile         Profile
	Visible         bool
	LastSummary     string
	LastDisplayName string
	CumulativeStats Stats
	LastSeenAt      time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Message is one sent message: the envelope the broker routes and never
// decrypts.
type Message struct {
	ID                  string
	MeshID              string
	SenderMemberID      string
	SenderSessionPubkey string
	SenderName          string
	TargetSpec          string
	Priority            string
	Nonce               string
	Ciphertext          string
	Subtype             string
	ClientMessageID     string
	RequestFingerprint  string
	ReplyToID           string
	CreatedAt           time.Time
	ExpiresAt           time.Time
}

// Delivery is one message's journey to one recipient: a session of a member
// (RecipientSessionPubkey set: only that session may take it) or any session
// of the member (empty: for members offline when the message was sent, and
// messages addressed to the member key).
type Delivery struct {
	MessageID              string
	MeshID                 string
	RecipientMemberID      string
	RecipientSessionPubkey string
	Priority               string
	CreatedAt              time.Time
	ExpiresAt              time.Time
	ClaimedBy              string
	ClaimExpiresAt         *time.Time
	PushedAt               *time.Time
	AckedAt                *time.Time
	ExpiredAt              *time.Time
}

// Recipient names a member of a mesh that has mail.
type Recipient struct {
	MeshID   string
	MemberID string
}

// ClaimedDelivery is a delivery claimed for push, with its message.
type ClaimedDelivery struct {
	Delivery Delivery
	Message  Message
}

// StateEntry is one shared key/value of a mesh.
type StateEntry struct {
	MeshID            string
	Key               string
	Value             json.RawMessage
	UpdatedByMemberID string
	UpdatedByName     string
	UpdatedAt         time.Time
}

// Schedule is a one-shot (empty Cron) or recurring message. NextFireAt is
// nil once a one-shot schedule has fired.
type Schedule struct {
	ID           string
	MeshID       string
	MemberID     string
	TargetSpec   string
	Message      string
	Subtype      string
	Cron         string
	Timezone     string
	NextFireAt   *time.Time
	FiredCount   int32
	LastFiredAt  *time.Time
	LastFireLate bool
	CreatedAt    time.Time
	CancelledAt  *time.Time
}

// VaultEntry is one encrypted secret of one member.
type VaultEntry struct {
	MeshID      string
	MemberID    string
	Key         string
	Ciphertext  []byte
	Nonce       []byte
	SealedKey   []byte
	EntryType   string
	MountPath   string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Service is a deployed MCP server (or skill bundle) of a mesh.
type Service struct {
	ID                 string
	MeshID             string
	Name               string
	Type               string
	Description        string
	Source             json.RawMessage
	Runtime            string
	Config             json.RawMessage
	EnvSealed          []byte
	Scope              json.RawMessage
	Status             string
	StatusError        string
	Tools              json.RawMessage
	RestartCount       int32
	DeployedByMemberID string
	DeployedByName     string
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Skill is a named instruction snippet shared in a mesh.
type Skill struct {
	ID             string
	MeshID         string
	Name           string
	Description    string
	Instructions   string
	Tags           []string
	Manifest       json.RawMessage
	AuthorMemberID string
	AuthorName     string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// File is a file shared in a mesh; its bytes live in FileChunks.
type File struct {
	ID                 string
	MeshID             string
	Name               string
	SizeBytes          int64
	MimeType           string
	Tags               []string
	Persistent         bool
	Encrypted          bool
	OwnerPubkey        string
	UploadedByMemberID string
	UploadedByName     string
	TargetSpec         string
	ChunkCount         int32
	SHA256             string
	UploadedAt         time.Time
	ExpiresAt          *time.Time
	DeletedAt          *time.Time
}

// FileChunk is one piece of a file's bytes.
type FileChunk struct {
	FileID string
	Seq    int32
	Data   []byte
}

// FileKey is a file key sealed to one peer.
type FileKey struct {
	FileID          string
	PeerPubkey      string
	SealedKey       string
	GrantedByPubkey string
	GrantedAt       time.Time
}

// FileAccess records one download of a file.
type FileAccess struct {
	ID                string
	FileID            string
	MemberID          string
	PeerSessionPubkey string
	PeerName          string
	AccessedAt        time.Time
}

// PendingStatus is a hook status that arrived before its presence existed.
type PendingStatus struct {
	ID        string
	MeshID    string
	SessionID string
	PID       int32
	Cwd       string
	Status    string
	CreatedAt time.Time
	AppliedAt *time.Time
}
