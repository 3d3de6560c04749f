package db

import (
	"context"
	"time"
)

// Queries is every query claudemesh runs, grouped by table. Each engine
// implements it twice over: on its pool (Store) and inside a transaction
// (InTx).
//
// Rules every method keeps unless its comment says otherwise:
//   - a read or a single-row write (update, delete, revoke, touch, …) of a
//     row that does not exist returns ErrNotFound;
//   - JSON documents come back equal as JSON, not byte for byte (Postgres
//     normalises key order and spacing);
//   - list methods with a limit return nothing for a limit ≤ 0 and order
//     their rows as documented (ids sort bytewise).
type Queries interface {
	MeshQueries
	MemberQueries
	InviteQueries
	APIKeyQueries
	PresenceQueries
	MessageQueries
	StateQueries
	ScheduleQueries
	VaultQueries
	ServiceQueries
	SkillQueries
	FileQueries
	PendingStatusQueries
	NotifyQueries
}

// MeshQueries reads and writes meshes and their declared groups.
type MeshQueries interface {
	// CreateMesh inserts a mesh; ErrConflict if the id or slug is taken.
	CreateMesh(ctx context.Context, m Mesh) error
	// GetMesh returns a mesh by id, archived or not.
	GetMesh(ctx context.Context, id string) (Mesh, error)
	// GetMeshBySlug returns a mesh by slug.
	GetMeshBySlug(ctx context.Context, slug string) (Mesh, error)
	// ListMeshes returns the meshes that are not archived, oldest first.
	ListMeshes(ctx context.Context) ([]Mesh, error)
	// UpdateMeshPolicy replaces a mesh's policy.
	UpdateMeshPolicy(ctx context.Context, id string, policy MeshPolicy) error
	// ArchiveMesh marks a mesh archived.
	ArchiveMesh(ctx context.Context, id string, at time.Time) error
	// UpsertMeshGroup declares a group (or replaces its roles).
	UpsertMeshGroup(ctx context.Context, g MeshGroup) error
	// ListMeshGroups returns a mesh's declared groups, by name.
	ListMeshGroups(ctx context.Context, meshID string) ([]MeshGroup, error)
}

// UpdateMemberParams changes a member's profile; nil fields keep their value.
type UpdateMemberParams struct {
	ID            string
	DisplayName   *string
	Role          *string
	RoleTag       *string
	DefaultGroups *[]GroupRole
	MessageMode   *string
}

// MemberQueries reads and writes members.
type MemberQueries interface {
	// CreateMember inserts a member; ErrConflict if the mesh already has a
	// member with that pubkey.
	CreateMember(ctx context.Context, m Member) error
	// GetMember returns a member by id.
	GetMember(ctx context.Context, id string) (Member, error)
	// GetMemberByPubkey returns the member of a mesh with that pubkey,
	// revoked or not.
	GetMemberByPubkey(ctx context.Context, meshID, pubkey string) (Member, error)
	// ListMembers returns a mesh's members (revoked included), oldest first.
	ListMembers(ctx context.Context, meshID string) ([]Member, error)
	// UpdateMember applies the non-nil fields and returns the member.
	UpdateMember(ctx context.Context, p UpdateMemberParams) (Member, error)
	// RevokeMember marks a member revoked.
	RevokeMember(ctx context.Context, id string, at time.Time, reason string) error
	// RestoreMember clears a member's revocation.
	RestoreMember(ctx context.Context, id string) error
	// TouchMember records when a member was last seen.
	TouchMember(ctx context.Context, id string, at time.Time) error
}

// InviteQueries reads and writes invites.
type InviteQueries interface {
	// CreateInvite inserts an invite; ErrConflict if the token exists.
	CreateInvite(ctx context.Context, inv Invite) error
	// GetInvite returns an invite by id.
	GetInvite(ctx context.Context, id string) (Invite, error)
	// GetInviteByToken returns an invite by its token.
	GetInviteByToken(ctx context.Context, token string) (Invite, error)
	// ListInvites returns a mesh's invites, newest first.
	ListInvites(ctx context.Context, meshID string) ([]Invite, error)
	// RevokeInvite marks an invite revoked.
	RevokeInvite(ctx context.Context, id string, at time.Time) error
	// ConsumeInvite takes one use of an invite atomically, if the invite is
	// not revoked, not expired at now, and has a use left: it returns the
	// invite with its new used count, or ErrNotFound otherwise.
	ConsumeInvite(ctx context.Context, id string, now time.Time) (Invite, error)
}

// APIKeyQueries reads and writes API keys.
type APIKeyQueries interface {
	// CreateAPIKey inserts a key; ErrConflict if the hash exists.
	CreateAPIKey(ctx context.Context, k APIKey) error
	// GetAPIKeyByHash returns a key by the SHA-256 of its secret.
	GetAPIKeyByHash(ctx context.Context, secretHash string) (APIKey, error)
	// ListAPIKeys returns a mesh's keys, newest first; an empty mesh id
	// lists the operator keys.
	ListAPIKeys(ctx context.Context, meshID string) ([]APIKey, error)
	// RevokeAPIKey marks a key revoked.
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
	// TouchAPIKey records a key's last use.
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
}

// PresenceQueries reads and writes presences and peer states.
type PresenceQueries interface {
	// CreatePresence inserts a presence.
	CreatePresence(ctx context.Context, p Presence) error
	// GetPresence returns a presence by id, live or not.
	GetPresence(ctx context.Context, id string) (Presence, error)
	// ListLivePresences returns a mesh's live presences, by connection time.
	ListLivePresences(ctx context.Context, meshID string) ([]Presence, error)
	// ListLiveSessionPresences returns the live presences of a mesh with a
	// Claude Code session id.
	ListLiveSessionPresences(ctx context.Context, meshID, sessionID string) ([]Presence, error)
	// UpdatePresenceStatus writes a presence's status.
	UpdatePresenceStatus(ctx context.Context, id string, s PresenceStatus) error
	// UpdatePresenceSummary writes a presence's summary (nil clears it).
	UpdatePresenceSummary(ctx context.Context, id string, summary *string) error
	// UpdatePresenceGroups replaces a presence's groups.
	UpdatePresenceGroups(ctx context.Context, id string, groups []GroupRole) error
	// UpdatePresenceVisible writes a presence's visibility.
	UpdatePresenceVisible(ctx context.Context, id string, visible bool) error
	// UpdatePresenceProfile replaces a presence's profile.
	UpdatePresenceProfile(ctx context.Context, id string, p Profile) error
	// UpdatePresenceStats replaces a presence's stats.
	UpdatePresenceStats(ctx context.Context, id string, s Stats) error
	// ReattachPresence moves a presence to a replica, marks it live again and
	// refreshes its heartbeat.
	ReattachPresence(ctx context.Context, id, replicaID string, at time.Time) error
	// DisconnectPresence marks a presence disconnected.
	DisconnectPresence(ctx context.Context, id string, at time.Time) error
	// HeartbeatReplica refreshes the heartbeat of every live presence of a
	// replica and returns how many there are.
	HeartbeatReplica(ctx context.Context, replicaID string, at time.Time) (int64, error)
	// DisconnectReplica marks every live presence of a replica disconnected
	// and returns their ids.
	DisconnectReplica(ctx context.Context, replicaID string, at time.Time) ([]string, error)
	// DisconnectStalePresences marks live presences whose heartbeat is older
	// than before disconnected, and returns them.
	DisconnectStalePresences(ctx context.Context, before, at time.Time) ([]Presence, error)
	// ExpireWorkingStatuses flips presences stuck in "working" since before
	// to "idle" with source "inferred", and returns their ids.
	ExpireWorkingStatuses(ctx context.Context, before, at time.Time) ([]string, error)
	// UpsertPeerState writes a member's peer state.
	UpsertPeerState(ctx context.Context, s PeerState) error
	// GetPeerState returns a member's peer state.
	GetPeerState(ctx context.Context, meshID, memberID string) (PeerState, error)
	// ListPeerStates returns the peer states of a mesh's members, by member
	// id.
	ListPeerStates(ctx context.Context, meshID string) ([]PeerState, error)
	// GetPresenceBySessionPubkey returns the most recently connected
	// presence of a mesh with a session key, live or not.
	GetPresenceBySessionPubkey(ctx context.Context, meshID, sessionPubkey string) (Presence, error)
}

// Ack is a presence's acknowledgement of messages pushed to it.
type Ack struct {
	ClaimedBy  string
	MessageIDs []string
	At         time.Time
}

// ClaimDeliveriesParams selects the deliveries a session may take.
type ClaimDeliveriesParams struct {
	MeshID   string
	MemberID string
	// SessionPubkey is the claiming session's key: rows addressed to another
	// session of the member are skipped.
	SessionPubkey string
	// Priorities the recipient's status allows ("now", "next", "low").
	Priorities []string
	// ClaimedBy is the claiming presence id.
	ClaimedBy string
	Now       time.Time
	// LeaseUntil is when the claim lapses if the recipient does not ack.
	LeaseUntil time.Time
	Limit      int32
}

// MessageQueries reads and writes messages and their per-recipient
// deliveries.
type MessageQueries interface {
	// InsertMessages inserts messages (a batch: the broker commits
	// concurrent sends together); ErrConflict, and nothing inserted, if a
	// sender already sent a message with the same client message id.
	InsertMessages(ctx context.Context, ms []Message) error
	// InsertDeliveries inserts delivery rows, with every field given (a row
	// may be inserted already claimed and pushed, for a recipient online on
	// this broker). A message has at most one row per recipient member and
	// session key; a second one is ErrConflict.
	InsertDeliveries(ctx context.Context, ds []Delivery) error
	// GetMessage returns a message by id.
	GetMessage(ctx context.Context, id string) (Message, error)
	// GetMessageByClientID returns the message a member sent with a client
	// message id.
	GetMessageByClientID(ctx context.Context, senderMemberID, clientMessageID string) (Message, error)
	// FindMessagesByPrefix returns up to limit messages of a mesh whose id
	// starts with prefix.
	FindMessagesByPrefix(ctx context.Context, meshID, prefix string, limit int32) ([]Message, error)
	// ListDeliveries returns a message's deliveries.
	ListDeliveries(ctx context.Context, messageID string) ([]Delivery, error)
	// ClaimDeliveries leases the oldest deliverable rows for a session (not
	// acked, not expired, unclaimed or with a lapsed claim, allowed
	// priority), marks them pushed, and returns them with their messages in
	// (created_at, id) order. Concurrent claims get disjoint rows. A row
	// under a running claim is skipped even when p.ClaimedBy holds it (it is
	// in flight); ReleaseClaims lets its holder claim it again.
	ClaimDeliveries(ctx context.Context, p ClaimDeliveriesParams) ([]ClaimedDelivery, error)
	// AckDeliveries marks acked the deliveries of these messages claimed by a
	// presence, and returns how many were newly acked (acking twice keeps the
	// first time; unknown ids and rows claimed by others are ignored).
	AckDeliveries(ctx context.Context, claimedBy string, messageIDs []string, at time.Time) (int64, error)
	// AckDeliveriesBatch does what AckDeliveries does for each ack, in one
	// statement on engines where a statement costs a round trip, and
	// returns how many rows each ack newly acked (a row that two acks of the
	// batch name counts for the first).
	AckDeliveriesBatch(ctx context.Context, acks []Ack) ([]int64, error)
	// LeaveSessionDeliveries hands a session's pending rows of group and
	// broadcast messages (targets @… and *, which are not sealed to its
	// key) to its member, unclaimed, when the session is gone for good: the
	// member's next session gets them. A row of a message the member has
	// another row of is deleted instead. It returns how many rows moved.
	// Direct messages stay: they are sealed to the session's key, which a
	// resumed session brings back.
	LeaveSessionDeliveries(ctx context.Context, meshID, memberID, sessionPubkey string) (int64, error)
	// ReleaseClaims drops the claims a presence holds so others may take the
	// rows, and returns how many.
	ReleaseClaims(ctx context.Context, claimedBy string) (int64, error)
	// ListLapsedClaims returns up to limit recipients (mesh and member) with
	// a delivery whose claim lapsed by now without an ack: mail to push
	// again. Each recipient once, in no particular order.
	ListLapsedClaims(ctx context.Context, now time.Time, limit int32) ([]Recipient, error)
	// ExpireDeliveries marks unacked deliveries past their expiry expired and
	// returns how many.
	ExpireDeliveries(ctx context.Context, at time.Time) (int64, error)
	// CountPendingDeliveries counts the deliveries not acked nor expired.
	CountPendingDeliveries(ctx context.Context) (int64, error)
}

// StateQueries reads and writes shared state.
type StateQueries interface {
	// UpsertState writes a key; a nil Value is stored as JSON null.
	UpsertState(ctx context.Context, e StateEntry) error
	// GetState reads a key.
	GetState(ctx context.Context, meshID, key string) (StateEntry, error)
	// ListState returns a mesh's keys, by key.
	ListState(ctx context.Context, meshID string) ([]StateEntry, error)
}

// AdvanceScheduleParams records a schedule's fire.
type AdvanceScheduleParams struct {
	ID string
	// Due is the fire being recorded: the next_fire_at the caller read. The
	// schedule advances only while it is still active and due then.
	Due     time.Time
	FiredAt time.Time
	// NextFireAt is nil when the schedule is done.
	NextFireAt *time.Time
	Late       bool
}

// ScheduleQueries reads and writes schedules.
type ScheduleQueries interface {
	// CreateSchedule inserts a schedule.
	CreateSchedule(ctx context.Context, s Schedule) error
	// GetSchedule returns a schedule by id.
	GetSchedule(ctx context.Context, id string) (Schedule, error)
	// ListSchedules returns a member's active schedules (not cancelled, not
	// done), by next fire time.
	ListSchedules(ctx context.Context, meshID, memberID string) ([]Schedule, error)
	// CountSchedules counts a member's active schedules.
	CountSchedules(ctx context.Context, meshID, memberID string) (int64, error)
	// CancelSchedule cancels a member's active schedule; ErrNotFound if it is
	// not theirs or not active.
	CancelSchedule(ctx context.Context, id, memberID string, at time.Time) error
	// ClaimDueSchedules locks and returns up to limit active schedules due at
	// now, oldest due first. On Postgres concurrent callers get disjoint rows
	// (FOR UPDATE SKIP LOCKED); call it inside InTx together with
	// AdvanceSchedule.
	ClaimDueSchedules(ctx context.Context, now time.Time, limit int32) ([]Schedule, error)
	// AdvanceSchedule records the fire p.Due and sets the next one, if the
	// schedule is still active with that next fire time: a compare-and-set,
	// so that of several schedulers (or a scheduler and a cancel) racing for
	// one fire exactly one records it, with or without ClaimDueSchedules'
	// row locks. ErrNotFound if the schedule was advanced or cancelled since
	// (or does not exist).
	AdvanceSchedule(ctx context.Context, p AdvanceScheduleParams) error
	// NextScheduleDue returns the earliest next fire time of any active
	// schedule; ErrNotFound if there is none.
	NextScheduleDue(ctx context.Context) (time.Time, error)
}

// VaultQueries reads and writes vault entries.
type VaultQueries interface {
	// UpsertVaultEntry writes an entry (keeping its creation time).
	UpsertVaultEntry(ctx context.Context, e VaultEntry) error
	// ListVaultEntries returns a member's entries, by key.
	ListVaultEntries(ctx context.Context, meshID, memberID string) ([]VaultEntry, error)
	// GetVaultEntries returns a member's entries with those keys, by key.
	GetVaultEntries(ctx context.Context, meshID, memberID string, keys []string) ([]VaultEntry, error)
	// DeleteVaultEntry deletes an entry; ErrNotFound if there is none.
	DeleteVaultEntry(ctx context.Context, meshID, memberID, key string) error
}

// UpdateServiceStatusParams records a service's state.
type UpdateServiceStatusParams struct {
	ID           string
	Status       string
	StatusError  string
	Tools        []byte
	RestartCount int32
	UpdatedAt    time.Time
}

// ServiceQueries reads and writes deployed services.
type ServiceQueries interface {
	// UpsertService inserts a service or replaces the one with the same mesh
	// and name (keeping its id and creation time).
	UpsertService(ctx context.Context, s Service) (Service, error)
	// GetService returns a mesh's service by name.
	GetService(ctx context.Context, meshID, name string) (Service, error)
	// ListServices returns a mesh's services, by name.
	ListServices(ctx context.Context, meshID string) ([]Service, error)
	// ListServicesByStatus returns the services of every mesh in a status.
	ListServicesByStatus(ctx context.Context, status string) ([]Service, error)
	// CountServices counts a mesh's services.
	CountServices(ctx context.Context, meshID string) (int64, error)
	// UpdateServiceStatus records a service's status, tools and restarts.
	UpdateServiceStatus(ctx context.Context, p UpdateServiceStatusParams) error
	// UpdateServiceScope replaces a service's scope.
	UpdateServiceScope(ctx context.Context, id string, scope []byte, at time.Time) error
	// DeleteService deletes a service; ErrNotFound if there is none.
	DeleteService(ctx context.Context, id string) error
}

// SkillQueries reads and writes skills.
type SkillQueries interface {
	// UpsertSkill inserts a skill or replaces the one with the same mesh and
	// name (keeping its id and creation time).
	UpsertSkill(ctx context.Context, s Skill) (Skill, error)
	// GetSkill returns a mesh's skill by name.
	GetSkill(ctx context.Context, meshID, name string) (Skill, error)
	// ListSkills returns a mesh's skills, by name.
	ListSkills(ctx context.Context, meshID string) ([]Skill, error)
	// DeleteSkill deletes a skill; ErrNotFound if there is none.
	DeleteSkill(ctx context.Context, meshID, name string) error
}

// FileQueries reads and writes files, their chunks, keys and accesses.
type FileQueries interface {
	// CreateFile inserts a file's metadata.
	CreateFile(ctx context.Context, f File) error
	// InsertFileChunk inserts one chunk of a file.
	InsertFileChunk(ctx context.Context, c FileChunk) error
	// GetFile returns a file by id (deleted or not).
	GetFile(ctx context.Context, id string) (File, error)
	// ListFiles returns a mesh's files that are not deleted, newest first.
	ListFiles(ctx context.Context, meshID string, limit int32) ([]File, error)
	// GetFileChunk returns one chunk of a file.
	GetFileChunk(ctx context.Context, fileID string, seq int32) (FileChunk, error)
	// DeleteFile marks a file deleted and drops its chunks.
	DeleteFile(ctx context.Context, id string, at time.Time) error
	// UpsertFileKey writes a sealed key of a file for a peer.
	UpsertFileKey(ctx context.Context, k FileKey) error
	// GetFileKey returns a file's sealed key for a peer.
	GetFileKey(ctx context.Context, fileID, peerPubkey string) (FileKey, error)
	// InsertFileAccess records a download.
	InsertFileAccess(ctx context.Context, a FileAccess) error
	// ListFileAccesses returns a file's accesses, newest first.
	ListFileAccesses(ctx context.Context, fileID string) ([]FileAccess, error)
}

// PendingStatusQueries stores hook statuses that arrive before a presence.
type PendingStatusQueries interface {
	// InsertPendingStatus stores a hook status.
	InsertPendingStatus(ctx context.Context, p PendingStatus) error
	// TakePendingStatus returns the newest unapplied status of a session
	// created at or after since, marks it applied at at, and returns it;
	// ErrNotFound if there is none.
	TakePendingStatus(ctx context.Context, meshID, sessionID string, since, at time.Time) (PendingStatus, error)
	// DeletePendingStatuses deletes statuses created before before, or
	// applied, and returns how many.
	DeletePendingStatuses(ctx context.Context, before time.Time) (int64, error)
}

// NotifyQueries announce changes to the other broker replicas.
type NotifyQueries interface {
	// Notify sends payload on a channel to every replica listening (see
	// Listener), when the transaction commits (at once outside one). SQLite
	// serves one broker process, so there it does nothing.
	Notify(ctx context.Context, channel, payload string) error
}

// Listener is implemented by stores that carry notifications between broker
// replicas (Postgres LISTEN/NOTIFY).
type Listener interface {
	// Listen calls handle with the payload of every notification on channel
	// until ctx is done, reconnecting after connection failures. It returns
	// nil when ctx is done. listening, if not nil, runs each time the
	// listen takes effect, at first and after every reconnect: what was
	// notified before may have been missed, so a caller that must not miss
	// anything re-reads its state there.
	Listen(ctx context.Context, channel string, listening func(), handle func(payload string)) error
}
