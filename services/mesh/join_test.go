package mesh_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
	"claudemesh.dev/db/storetest"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/identity"
	"claudemesh.dev/services/invite"
	"claudemesh.dev/services/meshtest"
	"claudemesh.dev/services/rpcerr"
)

// joinResult is the outcome of a join: the member, or the classic JoinError
// code.
type joinResult struct {
	memberID string
	already  bool
	// code is the classic error code; "" when the key joined.
	code string
}

// joinTransport enrolls a key through one of the broker's two join paths.
// It is safe to call from any goroutine: it returns an error, rather than
// failing the test, when the answer is not a join result of the right
// shape.
type joinTransport struct {
	name string
	join func(ctx context.Context, b *meshtest.Broker, token, pubkey, name string) (joinResult, error)
}

// joinTransports are the Connect RPC and the classic POST /join.
func joinTransports() []joinTransport {
	return []joinTransport{
		{name: "Connect", join: joinConnect},
		{name: "HTTP", join: joinHTTP},
	}
}

func joinConnect(ctx context.Context, b *meshtest.Broker, token, pubkey, name string) (joinResult, error) {
	res, err := b.Mesh.JoinMesh(ctx, &meshv1.JoinMeshRequest{InviteToken: token, MemberPubkey: pubkey, DisplayName: name})
	if err != nil {
		code := rpcerr.Reason(err)
		if code == "" {
			return joinResult{}, fmt.Errorf("join failed without a JoinError code: %w", err)
		}
		return joinResult{code: code}, nil
	}
	if res.GetMember().GetId() == "" {
		return joinResult{}, errors.New("join answered no member")
	}
	return joinResult{memberID: res.GetMember().GetId(), already: res.GetAlreadyMember()}, nil
}

// joinHTTP posts the classic body, with the decoded payload as the classic
// CLI sends it, and checks the classic answer shapes: 200
// {ok:true, memberId, alreadyMember?} or 400 {ok:false, error:<code>}.
func joinHTTP(ctx context.Context, b *meshtest.Broker, token, pubkey, name string) (joinResult, error) {
	var payload any = map[string]any{}
	if raw, err := base64.RawURLEncoding.DecodeString(token); err == nil && json.Valid(raw) {
		payload = json.RawMessage(raw)
	}
	body, err := json.Marshal(map[string]any{"invite_token": token, "invite_payload": payload, "peer_pubkey": pubkey, "display_name": name})
	if err != nil {
		return joinResult{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.URL+"/join", bytes.NewReader(body))
	if err != nil {
		return joinResult{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return joinResult{}, err
	}
	defer func() { _ = res.Body.Close() }()
	var out struct {
		OK            *bool           `json:"ok"`
		Error         string          `json:"error"`
		MemberID      string          `json:"memberId"`
		AlreadyMember json.RawMessage `json:"alreadyMember"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return joinResult{}, fmt.Errorf("status %d: decode answer: %w", res.StatusCode, err)
	}
	switch {
	case out.OK == nil:
		return joinResult{}, fmt.Errorf("status %d: the answer has no ok", res.StatusCode)
	case *out.OK:
		if res.StatusCode != http.StatusOK || out.MemberID == "" {
			return joinResult{}, fmt.Errorf("status %d, memberId %q: want 200 and a member id", res.StatusCode, out.MemberID)
		}
		// alreadyMember is present (and true) only for a re-join.
		switch string(out.AlreadyMember) {
		case "":
			return joinResult{memberID: out.MemberID}, nil
		case "true":
			return joinResult{memberID: out.MemberID, already: true}, nil
		}
		return joinResult{}, fmt.Errorf("alreadyMember is %s: want true or absent", out.AlreadyMember)
	}
	if res.StatusCode != http.StatusBadRequest || out.Error == "" {
		return joinResult{}, fmt.Errorf("status %d, error %q: want 400 and an error code", res.StatusCode, out.Error)
	}
	return joinResult{code: out.Error}, nil
}

// joinAttempt is what a JoinMesh error case sets up: the broker to join,
// the token, and the key to join with (a fresh one when zero).
type joinAttempt struct {
	b     *meshtest.Broker
	token string
	key   identity.KeyPair
}

func TestJoinMeshErrors(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		store := engine.Open(t)
		b := meshtest.Start(t, store)
		tests := []struct {
			name string
			code string
			// setup prepares the attempt on the shared broker, in its own mesh
			// called slug.
			setup func(t *testing.T, slug string) joinAttempt
		}{
			{
				name: "InviteBadSignature",
				code: "invite_bad_signature",
				setup: func(t *testing.T, slug string) joinAttempt {
					m := b.CreateMesh(t, slug, "")
					token := m.Invite(t, meshtest.InviteOptions{MaxUses: 5})
					// Promote the invite to admin after signing.
					return joinAttempt{b: b, token: tamper(t, token, func(p *invite.Payload) { p.Role = "admin" })}
				},
			},
			{
				name: "InviteExhausted",
				code: "invite_exhausted",
				setup: func(t *testing.T, slug string) joinAttempt {
					m := b.CreateMesh(t, slug, "")
					token := m.Invite(t, meshtest.InviteOptions{MaxUses: 1})
					m.Join(t, token, "first")
					return joinAttempt{b: b, token: token}
				},
			},
			{
				name: "InviteExpired",
				code: "invite_expired",
				setup: func(t *testing.T, slug string) joinAttempt {
					// Its own broker, whose clock moves past the expiry after
					// the invite was registered.
					clock := meshtest.NewClock()
					cb := meshtest.Start(t, engine.Open(t), meshtest.WithClock(clock))
					m := cb.CreateMesh(t, slug, "")
					token := m.Invite(t, meshtest.InviteOptions{Expires: time.Hour, MaxUses: 5})
					clock.Advance(time.Hour + time.Second)
					return joinAttempt{b: cb, token: token}
				},
			},
			{
				name: "InviteMalformedJSONMissingField",
				code: "invite_malformed",
				setup: func(*testing.T, string) joinAttempt {
					raw := `{"v":1,"mesh_id":"m","mesh_slug":"s","broker_url":"ws://h/ws","expires_at":9999999999}`
					return joinAttempt{b: b, token: base64.RawURLEncoding.EncodeToString([]byte(raw))}
				},
			},
			{
				name: "InviteMalformedLink",
				code: "invite_malformed",
				setup: func(*testing.T, string) joinAttempt {
					return joinAttempt{b: b, token: "https://example.com/not-an-invite"}
				},
			},
			{
				name: "InviteMalformedNotJSON",
				code: "invite_malformed",
				setup: func(*testing.T, string) joinAttempt {
					return joinAttempt{b: b, token: base64.RawURLEncoding.EncodeToString([]byte("this is not json at all"))}
				},
			},
			{
				name: "InviteMeshMismatch",
				code: "invite_mesh_mismatch",
				setup: func(t *testing.T, slug string) joinAttempt {
					// A registration the broker itself never makes: the token
					// of one mesh filed under another.
					m := b.CreateMesh(t, slug, "")
					elsewhere := b.CreateMesh(t, slug+"-x", "")
					token := m.SignInvite(t, meshtest.InviteOptions{})
					require.NoError(t, store.CreateInvite(t.Context(), db.Invite{
						ID: db.NewID(), MeshID: elsewhere.ID, Token: token, MaxUses: 5, Role: db.RoleMember,
						ExpiresAt: time.Now().Add(time.Hour), CreatedAt: time.Now(),
					}))
					return joinAttempt{b: b, token: token}
				},
			},
			{
				name: "InviteNotFound",
				code: "invite_not_found",
				setup: func(t *testing.T, slug string) joinAttempt {
					// Signed by the owner, but never registered.
					m := b.CreateMesh(t, slug, "")
					return joinAttempt{b: b, token: m.SignInvite(t, meshtest.InviteOptions{})}
				},
			},
			{
				name: "InviteOwnerMismatch",
				code: "invite_owner_mismatch",
				setup: func(t *testing.T, slug string) joinAttempt {
					m := b.CreateMesh(t, slug, "")
					token := signToken(t, invite.Payload{MeshID: m.ID, MeshSlug: slug, ExpiresAt: time.Now().Add(time.Hour).Unix()}, meshtest.NewKey(t))
					return joinAttempt{b: b, token: token}
				},
			},
			{
				name: "InviteRevoked",
				code: "invite_revoked",
				setup: func(t *testing.T, slug string) joinAttempt {
					m := b.CreateMesh(t, slug, "")
					token := m.Invite(t, meshtest.InviteOptions{MaxUses: 5})
					_, err := b.Mesh.RevokeInvite(asOperator(t, b), &meshv1.RevokeInviteRequest{
						MeshId: m.ID, InviteId: inviteByToken(t, b, m.ID, token).GetId(),
					})
					require.NoError(t, err)
					return joinAttempt{b: b, token: token}
				},
			},
			{
				name: "MemberRevoked",
				code: "member_revoked",
				setup: func(t *testing.T, slug string) joinAttempt {
					m := b.CreateMesh(t, slug, "")
					token := m.Invite(t, meshtest.InviteOptions{MaxUses: 5})
					bob := m.Join(t, token, "bob")
					_, err := b.Mesh.RevokeMember(asOperator(t, b), &meshv1.RevokeMemberRequest{MeshId: m.ID, Member: bob.ID})
					require.NoError(t, err)
					return joinAttempt{b: b, token: token, key: bob.Key}
				},
			},
			{
				name: "MeshArchived",
				code: "mesh_not_found",
				setup: func(t *testing.T, slug string) joinAttempt {
					m := b.CreateMesh(t, slug, "")
					token := m.Invite(t, meshtest.InviteOptions{MaxUses: 5})
					require.NoError(t, store.ArchiveMesh(t.Context(), m.ID, time.Now()))
					return joinAttempt{b: b, token: token}
				},
			},
			{
				name: "MeshMissingOwnerKey",
				code: "mesh_missing_owner_key",
				setup: func(t *testing.T, slug string) joinAttempt {
					id := db.NewID()
					require.NoError(t, store.CreateMesh(t.Context(), db.Mesh{ID: id, Slug: slug, Name: slug, CreatedAt: time.Now()}))
					token := signToken(t, invite.Payload{MeshID: id, MeshSlug: slug, ExpiresAt: time.Now().Add(time.Hour).Unix()}, meshtest.NewKey(t))
					return joinAttempt{b: b, token: token}
				},
			},
			{
				name: "MeshNotFound",
				code: "mesh_not_found",
				setup: func(t *testing.T, _ string) joinAttempt {
					token := signToken(t, invite.Payload{MeshID: db.NewID(), ExpiresAt: time.Now().Add(time.Hour).Unix()}, meshtest.NewKey(t))
					return joinAttempt{b: b, token: token}
				},
			},
		}
		for _, transport := range joinTransports() {
			t.Run(transport.name, func(t *testing.T) {
				t.Parallel()
				for _, tt := range tests {
					t.Run(tt.name, func(t *testing.T) {
						t.Parallel()
						slug := strings.ToLower(transport.name + "-" + tt.name)
						attempt := tt.setup(t, slug)
						key := attempt.key
						if key.Public == nil {
							key = meshtest.NewKey(t)
						}
						got, err := transport.join(t.Context(), attempt.b, attempt.token, key.PublicHex(), "joiner")
						require.NoError(t, err)
						require.Equal(t, joinResult{code: tt.code}, got)
					})
				}
			})
		}
	})
}

func TestJoinMesh(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		b := meshtest.Start(t, engine.Open(t))
		for _, transport := range joinTransports() {
			t.Run(transport.name, func(t *testing.T) {
				t.Parallel()
				// newMesh makes a mesh of its own for a subtest.
				newMesh := func(t *testing.T) *meshtest.Mesh {
					t.Helper()
					parts := strings.Split(t.Name(), "/")
					return b.CreateMesh(t, strings.ToLower(strings.Join(parts[2:], "-")), "")
				}
				join := func(t *testing.T, token string, key identity.KeyPair, name string) joinResult {
					t.Helper()
					got, err := transport.join(t.Context(), b, token, key.PublicHex(), name)
					require.NoError(t, err)
					return got
				}

				t.Run("ConcurrentSameKey", func(t *testing.T) {
					t.Parallel()
					// Two joins with one key at once: one enrolls the key, the
					// other finds it enrolled; one use is consumed, even when
					// the invite has only one.
					for _, maxUses := range []int32{1, 2} {
						t.Run(fmt.Sprintf("MaxUses%d", maxUses), func(t *testing.T) {
							t.Parallel()
							m := newMesh(t)
							token := m.Invite(t, meshtest.InviteOptions{MaxUses: maxUses})
							key := meshtest.NewKey(t)
							results := joinConcurrently(t, transport, b, token, []identity.KeyPair{key, key})
							require.Empty(t, results[0].code+results[1].code, "%+v", results)
							require.Equal(t, results[0].memberID, results[1].memberID)
							require.NotEqual(t, results[0].already, results[1].already, "one of the two joined, the other found it joined")
							require.Len(t, listMembers(t, b, m.ID), 2, "the admin and one member")
							require.Equal(t, int32(1), inviteByToken(t, b, m.ID, token).GetUsedCount())
						})
					}
				})

				t.Run("ConcurrentSingleUse", func(t *testing.T) {
					t.Parallel()
					m := newMesh(t)
					token := m.Invite(t, meshtest.InviteOptions{MaxUses: 1})
					keys := make([]identity.KeyPair, 10)
					for i := range keys {
						keys[i] = meshtest.NewKey(t)
					}
					results := joinConcurrently(t, transport, b, token, keys)
					var joined, exhausted int
					for _, r := range results {
						switch {
						case r.code == "invite_exhausted":
							exhausted++
						case r.code == "" && !r.already:
							joined++
						default:
							require.Failf(t, "unexpected join result", "%+v", r)
						}
					}
					require.Equal(t, 1, joined)
					require.Equal(t, 9, exhausted)
					require.Len(t, listMembers(t, b, m.ID), 2, "the admin and the one winner")
					require.Equal(t, int32(1), inviteByToken(t, b, m.ID, token).GetUsedCount())
				})

				t.Run("IdempotentRejoin", func(t *testing.T) {
					t.Parallel()
					m := newMesh(t)
					token := m.Invite(t, meshtest.InviteOptions{MaxUses: 2})
					key := meshtest.NewKey(t)
					first := join(t, token, key, "bob")
					require.Equal(t, joinResult{memberID: first.memberID}, first)
					again := join(t, token, key, "bob")
					require.Equal(t, joinResult{memberID: first.memberID, already: true}, again)
					require.Equal(t, int32(1), inviteByToken(t, b, m.ID, token).GetUsedCount(), "a re-join consumes no use")

					// Once the invite is used up, the same key still re-joins.
					other := join(t, token, meshtest.NewKey(t), "carol")
					require.Empty(t, other.code)
					require.Equal(t, joinResult{code: "invite_exhausted"}, join(t, token, meshtest.NewKey(t), "dave"))
					require.Equal(t, joinResult{memberID: first.memberID, already: true}, join(t, token, key, "bob"))
					require.Equal(t, int32(2), inviteByToken(t, b, m.ID, token).GetUsedCount())
					require.Len(t, listMembers(t, b, m.ID), 3)
				})

				t.Run("Joins", func(t *testing.T) {
					t.Parallel()
					m := newMesh(t)
					token := m.Invite(t, meshtest.InviteOptions{MaxUses: 3})
					key := meshtest.NewKey(t)
					got := join(t, token, key, "bob")
					require.NotEmpty(t, got.memberID)
					require.False(t, got.already)
					member := memberByID(t, b, m.ID, got.memberID)
					require.Equal(t, "bob", member.GetDisplayName())
					require.Equal(t, key.PublicHex(), member.GetPubkey())
					require.Equal(t, meshv1.MemberRole_MEMBER_ROLE_MEMBER, member.GetRole())
					require.Equal(t, meshv1.MessageMode_MESSAGE_MODE_PUSH, member.GetMessageMode())
					require.Nil(t, member.GetRevokeTime())
					require.Equal(t, int32(1), inviteByToken(t, b, m.ID, token).GetUsedCount())

					// The new member can say hello.
					b.Connect(t, meshtest.Member{ID: got.memberID, MeshID: m.ID, Name: "bob", Key: key}, meshtest.Hello{SessionID: "s-" + got.memberID})
				})

				t.Run("LinkForms", func(t *testing.T) {
					t.Parallel()
					m := newMesh(t)
					token := m.Invite(t, meshtest.InviteOptions{MaxUses: 3})
					for _, link := range []string{invite.ICURL(token), b.URL + "/join/" + token, "https://claudemesh.com/de/join/" + token} {
						got := join(t, link, meshtest.NewKey(t), "linked")
						require.Empty(t, got.code, link)
					}
					require.Equal(t, int32(3), inviteByToken(t, b, m.ID, token).GetUsedCount())
				})

				t.Run("Preset", func(t *testing.T) {
					t.Parallel()
					m := newMesh(t)
					token := m.SignInvite(t, meshtest.InviteOptions{})
					_, err := b.Mesh.CreateInvite(t.Context(), &meshv1.CreateInviteRequest{MeshId: m.ID, Token: token, Preset: &meshv1.InvitePreset{
						DisplayName: "Reviewer Rita",
						RoleTag:     "reviewer",
						Groups:      []*meshv1.GroupMembership{{Name: "frontend", Role: "lead"}, {Name: "qa"}},
						MessageMode: meshv1.MessageMode_MESSAGE_MODE_INBOX,
					}})
					require.NoError(t, err)
					got := join(t, token, meshtest.NewKey(t), "hostname-1234")
					member := memberByID(t, b, m.ID, got.memberID)
					require.Equal(t, "Reviewer Rita", member.GetDisplayName(), "the preset name wins over the joiner's")
					require.Equal(t, "reviewer", member.GetRoleTag())
					require.Len(t, member.GetDefaultGroups(), 2)
					require.Equal(t, "frontend", member.GetDefaultGroups()[0].GetName())
					require.Equal(t, "lead", member.GetDefaultGroups()[0].GetRole())
					require.Equal(t, "qa", member.GetDefaultGroups()[1].GetName())
					require.Equal(t, meshv1.MessageMode_MESSAGE_MODE_INBOX, member.GetMessageMode())
					require.Equal(t, meshv1.MemberRole_MEMBER_ROLE_MEMBER, member.GetRole())
				})

				t.Run("RoleFromPayload", func(t *testing.T) {
					t.Parallel()
					m := newMesh(t)
					token := m.Invite(t, meshtest.InviteOptions{Role: "admin"})
					got := join(t, token, meshtest.NewKey(t), "deputy")
					require.Equal(t, meshv1.MemberRole_MEMBER_ROLE_ADMIN, memberByID(t, b, m.ID, got.memberID).GetRole())
				})
			})
		}
	})
}

// joinConcurrently joins with every key at once and returns the results in
// the keys' order.
func joinConcurrently(t *testing.T, transport joinTransport, b *meshtest.Broker, token string, keys []identity.KeyPair) []joinResult {
	t.Helper()
	results := make([]joinResult, len(keys))
	errs := make([]error, len(keys))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, key := range keys {
		wg.Go(func() {
			<-start
			results[i], errs[i] = transport.join(t.Context(), b, token, key.PublicHex(), fmt.Sprintf("racer-%d", i))
		})
	}
	close(start)
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	return results
}
