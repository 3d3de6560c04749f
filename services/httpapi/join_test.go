package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db/storetest"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/meshtest"
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

// joinBody is a classic POST /join body for token and key.
func joinBody(t *testing.T, token, pubkey, name string) map[string]any {
	t.Helper()
	payload, err := base64.RawURLEncoding.DecodeString(token)
	require.NoError(t, err)
	return map[string]any{
		"invite_token":   token,
		"invite_payload": json.RawMessage(payload),
		"peer_pubkey":    pubkey,
		"display_name":   name,
	}
}

func TestPostJoin(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		b := meshtest.Start(t, engine.Open(t))
		m := b.CreateMesh(t, "joinable", "")
		token := m.Invite(t, meshtest.InviteOptions{MaxUses: 100})

		t.Run("BodyTooLarge", func(t *testing.T) {
			t.Parallel()
			body := joinBody(t, token, meshtest.NewKey(t).PublicHex(), strings.Repeat("x", 64<<10))
			status, res := b.PostJSON(t, "/join", body, nil)
			require.Equal(t, http.StatusRequestEntityTooLarge, status)
			require.Equal(t, map[string]any{"ok": false, "error": "payload too large"}, res)
		})

		t.Run("Joins", func(t *testing.T) {
			t.Parallel()
			key := meshtest.NewKey(t)
			status, res := b.PostJSON(t, "/join", joinBody(t, token, key.PublicHex(), "bob"), nil)
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, true, res["ok"])
			memberID, _ := res["memberId"].(string)
			require.NotEmpty(t, memberID)
			require.NotContains(t, res, "alreadyMember", "present only for a re-join")
			require.Equal(t, m.ID, res["meshId"])
			require.Equal(t, "joinable", res["meshSlug"])
			require.Equal(t, "member", res["role"])

			status, res = b.PostJSON(t, "/join", joinBody(t, token, key.PublicHex(), "bob"), nil)
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, true, res["ok"])
			require.Equal(t, memberID, res["memberId"])
			require.Equal(t, true, res["alreadyMember"])

			// The member can say hello with its key.
			b.Connect(t, meshtest.Member{ID: memberID, MeshID: m.ID, Name: "bob", Key: key}, meshtest.Hello{SessionID: "s-bob"})
		})

		t.Run("JoinError", func(t *testing.T) {
			t.Parallel()
			status, res := b.PostJSON(t, "/join", joinBody(t, m.SignInvite(t, meshtest.InviteOptions{}), meshtest.NewKey(t).PublicHex(), "eve"), nil)
			require.Equal(t, http.StatusBadRequest, status)
			require.Equal(t, false, res["ok"])
			require.Equal(t, "invite_not_found", res["error"])
		})

		t.Run("MissingFields", func(t *testing.T) {
			t.Parallel()
			const message = "invite_token, invite_payload, peer_pubkey, display_name required"
			for _, field := range []string{"invite_token", "peer_pubkey", "display_name"} {
				for _, value := range []any{nil, ""} {
					body := joinBody(t, token, meshtest.NewKey(t).PublicHex(), "bob")
					if value == nil {
						delete(body, field)
					} else {
						body[field] = value
					}
					status, res := b.PostJSON(t, "/join", body, nil)
					require.Equal(t, http.StatusBadRequest, status, "%s=%v", field, value)
					require.Equal(t, map[string]any{"ok": false, "error": message}, res, "%s=%v", field, value)
				}
			}
		})

		t.Run("NotJSON", func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.URL+"/join", strings.NewReader("invite_token=abc"))
			require.NoError(t, err)
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer func() { _ = res.Body.Close() }()
			require.Equal(t, http.StatusBadRequest, res.StatusCode)
			var body map[string]any
			require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
			require.Equal(t, false, body["ok"])
		})

		t.Run("PayloadOptional", func(t *testing.T) {
			t.Parallel()
			// The token carries the signed payload; a client may leave the
			// decoded copy out.
			body := joinBody(t, token, meshtest.NewKey(t).PublicHex(), "carol")
			delete(body, "invite_payload")
			status, res := b.PostJSON(t, "/join", body, nil)
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, true, res["ok"])
		})

		t.Run("PubkeyNotHex", func(t *testing.T) {
			t.Parallel()
			for _, pubkey := range []string{
				strings.Repeat("g", 64),
				strings.Repeat("a", 63),
				strings.Repeat("a", 65),
				"0x" + strings.Repeat("a", 62),
			} {
				status, res := b.PostJSON(t, "/join", joinBody(t, token, pubkey, "bob"), nil)
				require.Equal(t, http.StatusBadRequest, status, pubkey)
				require.Equal(t, map[string]any{"ok": false, "error": "peer_pubkey must be 64 hex chars (32 bytes)"}, res, pubkey)
			}
		})

		t.Run("PubkeyUppercase", func(t *testing.T) {
			t.Parallel()
			key := meshtest.NewKey(t)
			status, res := b.PostJSON(t, "/join", joinBody(t, token, strings.ToUpper(key.PublicHex()), "dora"), nil)
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, true, res["ok"])
		})
	})
}

// getPage fetches a join landing page.
func getPage(t *testing.T, b *meshtest.Broker, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.URL+"/join/"+token, nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
	return res.StatusCode, string(body)
}

func TestJoinPage(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		b := meshtest.Start(t, engine.Open(t))

		t.Run("EscapesHTML", func(t *testing.T) {
			t.Parallel()
			m := b.NewMesh(t, meshtest.MeshOptions{Slug: "escaped", Name: `<script>alert("x")</script>`})
			_, body := getPage(t, b, m.Invite(t, meshtest.InviteOptions{}))
			require.NotContains(t, body, "<script>")
			require.Contains(t, body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;")
		})

		t.Run("Invalid", func(t *testing.T) {
			t.Parallel()
			m := b.CreateMesh(t, "invalid", "")
			exhausted := m.Invite(t, meshtest.InviteOptions{MaxUses: 1})
			m.Join(t, exhausted, "first")
			revoked := m.Invite(t, meshtest.InviteOptions{})
			invites, err := b.Mesh.ListInvites(meshtest.Bearer(t.Context(), b.Operator), &meshv1.ListInvitesRequest{MeshId: m.ID})
			require.NoError(t, err)
			for _, inv := range invites.GetInvites() {
				if inv.GetToken() == revoked {
					_, err := b.Mesh.RevokeInvite(meshtest.Bearer(t.Context(), b.Operator), &meshv1.RevokeInviteRequest{MeshId: m.ID, InviteId: inv.GetId()})
					require.NoError(t, err)
				}
			}
			tests := []struct {
				name   string
				token  string
				reason string
			}{
				{"Exhausted", exhausted, "This invite has been used up."},
				{"Garbage", "not-an-invite-at-all-really", "This link is not a valid claudemesh invite."},
				{"Revoked", revoked, "This invite was revoked."},
				{"Unregistered", m.SignInvite(t, meshtest.InviteOptions{}), "This invite was never registered with this broker."},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					status, body := getPage(t, b, tt.token)
					require.Equal(t, http.StatusNotFound, status)
					require.Contains(t, body, "This invite cannot be used")
					require.Contains(t, body, tt.reason)
					require.NotContains(t, body, "claudemesh join ")
				})
			}
		})

		t.Run("Valid", func(t *testing.T) {
			t.Parallel()
			m := b.NewMesh(t, meshtest.MeshOptions{Slug: "landing", Name: "Landing Crew"})
			token := m.SignInvite(t, meshtest.InviteOptions{})
			// An invite registered by a member names them as the inviter.
			res, err := b.MemberClient(m.Admin).CreateInvite(t.Context(), &meshv1.CreateInviteRequest{MeshId: m.ID, Token: token, MaxUses: 3})
			require.NoError(t, err)
			status, body := getPage(t, b, token)
			require.Equal(t, http.StatusOK, status)
			require.Contains(t, body, "Landing Crew")
			require.Contains(t, body, "landing-admin invited you")
			require.Contains(t, body, "<pre>claudemesh join "+b.URL+"/join/"+token+"</pre>")
			require.Equal(t, b.URL+"/join/"+token, res.GetJoinUrl())
			require.Contains(t, body, "3 uses left")

			anonymous := m.Invite(t, meshtest.InviteOptions{})
			_, body = getPage(t, b, anonymous)
			require.Contains(t, body, "The mesh owner invited you")
		})

		t.Run("Expired", func(t *testing.T) {
			t.Parallel()
			clock := meshtest.NewClock()
			cb := meshtest.Start(t, engine.Open(t), meshtest.WithClock(clock))
			token := cb.CreateMesh(t, "expiring", "").Invite(t, meshtest.InviteOptions{Expires: time.Hour})
			status, _ := getPage(t, cb, token)
			require.Equal(t, http.StatusOK, status)
			clock.Advance(time.Hour)
			status, body := getPage(t, cb, token)
			require.Equal(t, http.StatusNotFound, status)
			require.Contains(t, body, "This invite has expired.")
		})
	})
}
