package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db/storetest"
	"claudemesh.dev/services/httpapi"
	"claudemesh.dev/services/meshtest"
	"claudemesh.dev/services/server"
)

func TestHookSetStatus(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()

			type testBundle struct {
				b     *meshtest.Broker
				alice *meshtest.Peer
				bob   *meshtest.Peer
			}
			setup := func(t *testing.T, opts ...func(*server.Config)) *testBundle {
				t.Helper()
				// The rate limits refill with the broker's clock: stopped,
				// they do not refill while a test runs however slow it is.
				opts = append([]func(*server.Config){meshtest.WithClock(meshtest.NewClock())}, opts...)
				b := meshtest.Start(t, engine.Open(t), opts...)
				m := b.CreateMesh(t, "team", "personal")
				bob := m.AddMember(t, "bob")
				return &testBundle{
					b:     b,
					alice: b.Connect(t, m.Admin, meshtest.Hello{SessionID: "s-alice"}),
					bob:   b.Connect(t, bob, meshtest.Hello{SessionID: "s-bob"}),
				}
			}
			post := func(t *testing.T, b *meshtest.Broker, body map[string]any, header map[string]string) (int, map[string]any) {
				t.Helper()
				return b.PostJSON(t, "/hook/set-status", body, header)
			}
			statusOf := func(t *testing.T, p *meshtest.Peer, sessionID string) string {
				t.Helper()
				peer := meshtest.FindPeer(p.ListPeers(), "sessionId", sessionID)
				require.NotNil(t, peer)
				return peer["status"].(string)
			}

			t.Run("TokenInBody", func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				code, res := post(t, tb.b, map[string]any{"hook_token": tb.bob.Ack["hookToken"], "status": "working", "cwd": "/work/project", "pid": 4242}, nil)
				require.Equal(t, http.StatusOK, code)
				require.Equal(t, map[string]any{"ok": true, "presence_id": tb.bob.Ack["presenceId"]}, res)
				require.Equal(t, "working", statusOf(t, tb.alice, "s-bob"))
				require.Equal(t, "idle", statusOf(t, tb.alice, "s-alice"))
			})

			t.Run("TokenInHeader", func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				code, res := post(t, tb.b, map[string]any{"status": "dnd", "cwd": "/work/project", "session_id": "s-bob"},
					map[string]string{httpapi.HookTokenHeader: tb.bob.Ack["hookToken"].(string)})
				require.Equal(t, http.StatusOK, code)
				require.Equal(t, map[string]any{"ok": true, "presence_id": tb.bob.Ack["presenceId"]}, res)
				require.Equal(t, "dnd", statusOf(t, tb.bob, "s-bob"))
			})

			t.Run("BadToken", func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				presenceID := tb.bob.Ack["presenceId"].(string)
				for _, token := range []string{
					presenceID + ".not-the-secret",
					"no-separator",
					"nosuchpresence." + strings.SplitN(tb.bob.Ack["hookToken"].(string), ".", 2)[1],
					tb.bob.Ack["hookToken"].(string) + "x",
				} {
					code, res := post(t, tb.b, map[string]any{"hook_token": token, "status": "working"}, nil)
					require.Equal(t, http.StatusUnauthorized, code, "token %q", token)
					require.Equal(t, false, res["ok"])
					require.NotEmpty(t, res["error"])
				}
				require.Equal(t, "idle", statusOf(t, tb.bob, "s-bob"))
			})

			t.Run("TokenOfAnotherSession", func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				code, res := post(t, tb.b, map[string]any{"hook_token": tb.alice.Ack["hookToken"], "session_id": "s-bob", "status": "working"}, nil)
				require.Equal(t, http.StatusForbidden, code)
				require.Equal(t, false, res["ok"])
				require.Equal(t, "idle", statusOf(t, tb.bob, "s-bob"))
				require.Equal(t, "idle", statusOf(t, tb.alice, "s-alice"))
			})

			t.Run("MissingFields", func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				for _, body := range []map[string]any{
					{"hook_token": tb.bob.Ack["hookToken"], "cwd": "/work/project"},
					{"hook_token": tb.bob.Ack["hookToken"], "status": "busy"},
					{"status": "idle", "cwd": "/work/project"},
				} {
					code, res := post(t, tb.b, body, nil)
					require.Equal(t, http.StatusOK, code, "body %v", body)
					require.Equal(t, false, res["ok"], "body %v", body)
					require.NotEmpty(t, res["error"])
				}
			})

			t.Run("NotJSON", func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				code, res := post(t, tb.b, map[string]any{"status": 5}, nil)
				require.Equal(t, http.StatusBadRequest, code)
				require.Equal(t, false, res["ok"])
			})

			t.Run("Pending", func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				code, res := post(t, tb.b, map[string]any{"session_id": "s-not-yet", "status": "working", "cwd": "/work/project", "pid": 7}, nil)
				require.Equal(t, http.StatusOK, code)
				require.Equal(t, map[string]any{"ok": true, "pending": true}, res)
				// Without a token a hook never changes a live session.
				code, res = post(t, tb.b, map[string]any{"session_id": "s-bob", "status": "working"}, nil)
				require.Equal(t, http.StatusOK, code)
				require.Equal(t, map[string]any{"ok": true, "pending": true}, res)
				require.Equal(t, "idle", statusOf(t, tb.bob, "s-bob"))
			})

			t.Run("RateLimitPerSession", func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				status := []string{"idle", "working"}
				for i := range 30 {
					code, res := post(t, tb.b, map[string]any{"hook_token": tb.bob.Ack["hookToken"], "status": status[i%2]}, nil)
					require.Equal(t, http.StatusOK, code, "request %d: %v", i+1, res)
				}
				code, res := post(t, tb.b, map[string]any{"hook_token": tb.bob.Ack["hookToken"], "status": "idle"}, nil)
				require.Equal(t, http.StatusTooManyRequests, code)
				require.Equal(t, map[string]any{"ok": false, "error": "rate limited"}, res)
				require.Equal(t, "working", statusOf(t, tb.bob, "s-bob"), "the refused update did not apply")

				// Another session on the same machine is not limited by bob's.
				code, res = post(t, tb.b, map[string]any{"hook_token": tb.alice.Ack["hookToken"], "status": "working"}, nil)
				require.Equal(t, http.StatusOK, code, "answer %v", res)
				// Nor by its token in the header instead of the body.
				code, _ = post(t, tb.b, map[string]any{"status": "idle"}, map[string]string{httpapi.HookTokenHeader: tb.bob.Ack["hookToken"].(string)})
				require.Equal(t, http.StatusTooManyRequests, code, "the header token is the same session")
			})

			t.Run("RateLimitPerAddress", func(t *testing.T) {
				t.Parallel()
				tb := setup(t, func(cfg *server.Config) { cfg.HookRatePerMinute = 2 })
				// Twenty hooks a minute from one address, whatever the session.
				for i := range 20 {
					code, res := post(t, tb.b, map[string]any{"session_id": fmt.Sprintf("s-%d", i), "status": "idle"}, nil)
					require.Equal(t, http.StatusOK, code, "request %d: %v", i+1, res)
				}
				code, res := post(t, tb.b, map[string]any{"hook_token": tb.bob.Ack["hookToken"], "status": "working"}, nil)
				require.Equal(t, http.StatusTooManyRequests, code)
				require.Equal(t, map[string]any{"ok": false, "error": "rate limited"}, res)
			})

			t.Run("RateLimitSmallPerSession", func(t *testing.T) {
				t.Parallel()
				tb := setup(t, func(cfg *server.Config) { cfg.HookRatePerMinute = 2 })
				for range 2 {
					code, _ := post(t, tb.b, map[string]any{"session_id": "s-pending", "status": "idle"}, nil)
					require.Equal(t, http.StatusOK, code)
				}
				code, _ := post(t, tb.b, map[string]any{"session_id": "s-pending", "status": "idle"}, nil)
				require.Equal(t, http.StatusTooManyRequests, code)
				code, _ = post(t, tb.b, map[string]any{"session_id": "s-other", "status": "idle"}, nil)
				require.Equal(t, http.StatusOK, code)
			})
		})
	}
}
