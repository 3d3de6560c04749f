package mesh_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/structpb"

	"claudemesh.dev/db/storetest"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/meshtest"
)

// setState writes a key; set_state has no reply.
func setState(p *meshtest.Peer, key string, value any) {
	p.Send(map[string]any{"type": "set_state", "key": key, "value": value})
}

func getState(p *meshtest.Peer, key string) map[string]any {
	return p.Request(map[string]any{"type": "get_state", "key": key}, "state_result")
}

// expectStateChange reads the next frame but system events and requires a
// state_change of key to value by updatedBy.
func expectStateChange(t *testing.T, p *meshtest.Peer, key string, value any, updatedBy string) {
	t.Helper()
	f := p.Expect("state_change")
	require.Equal(t, key, f["key"], "state_change %v", f)
	require.Equal(t, value, f["value"], "state_change %v", f)
	require.Equal(t, updatedBy, f["updatedBy"], "state_change %v", f)
	require.NotContains(t, f, "_reqId")
}

func TestSharedState(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		t.Run("StateChangeToEveryOtherSession", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine)
			alice1 := openSession(t, tb.b, tb.alice, hello{})
			alice2 := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{})
			carol := openSession(t, tb.b, tb.carol, hello{})

			value := map[string]any{"step": float64(1)}
			setState(alice1.Peer, "plan", value)
			for _, p := range []*session{alice2, bob, carol} {
				expectStateChange(t, p.Peer, "plan", value, "team-admin")
			}
			// The writer gets neither a reply nor the change.
			alice1.ExpectQuiet(quiet)

			res := getState(bob.Peer, "plan")
			require.Equal(t, "plan", res["key"])
			require.Equal(t, value, res["value"])
			require.Equal(t, "team-admin", res["updatedBy"])
			_, err := time.Parse(time.RFC3339Nano, res["updatedAt"].(string))
			require.NoError(t, err)
		})

		t.Run("UpdatedByIsTheMembersName", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine)
			alice := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{name: "bob-laptop"})
			setState(bob.Peer, "k", "v")
			expectStateChange(t, alice.Peer, "k", "v", "bob")
			require.Equal(t, "bob", getState(alice.Peer, "k")["updatedBy"])
		})

		t.Run("MissingKey", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine)
			alice := openSession(t, tb.b, tb.alice, hello{})
			res := getState(alice.Peer, "nope")
			require.Equal(t, "nope", res["key"])
			require.Contains(t, res, "value")
			require.Nil(t, res["value"])
			require.Empty(t, res["updatedBy"])
			require.Empty(t, res["updatedAt"])
			require.Contains(t, res, "updatedBy")
			require.Contains(t, res, "updatedAt")
		})

		t.Run("EveryJSONKind", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine)
			alice := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{})
			for _, tt := range []struct {
				name  string
				value any
			}{
				{"Null", nil},
				{"True", true},
				{"False", false},
				{"Zero", float64(0)},
				{"Fraction", 3.5},
				{"Negative", float64(-2)},
				{"Large", 1e15},
				{"String", "text ✓"},
				{"EmptyString", ""},
				{"EmptyArray", []any{}},
				{"Array", []any{float64(1), "a", nil, true}},
				{"EmptyObject", map[string]any{}},
				{"Nested", map[string]any{"a": map[string]any{"b": []any{float64(1), map[string]any{"c": nil}}}}},
			} {
				t.Run(tt.name, func(t *testing.T) {
					setState(alice.Peer, tt.name, tt.value)
					expectStateChange(t, bob.Peer, tt.name, tt.value, "team-admin")
					require.Equal(t, tt.value, getState(bob.Peer, tt.name)["value"])
				})
			}
		})

		t.Run("ListSortedByKey", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine)
			alice := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{})
			require.Equal(t, []any{}, alice.Request(map[string]any{"type": "list_state"}, "state_list")["entries"])
			for _, kv := range []struct {
				key   string
				value any
			}{{"b", "1"}, {"a", "2"}, {"c/x", "3"}, {"A", "4"}, {"a", "5"}} {
				setState(alice.Peer, kv.key, kv.value)
				expectStateChange(t, bob.Peer, kv.key, kv.value, "team-admin")
			}
			res := bob.Request(map[string]any{"type": "list_state"}, "state_list")
			entries, ok := res["entries"].([]any)
			require.True(t, ok)
			keys, values := make([]any, 0, len(entries)), make([]any, 0, len(entries))
			for _, e := range entries {
				m := e.(map[string]any)
				keys = append(keys, m["key"])
				values = append(values, m["value"])
				require.Equal(t, "team-admin", m["updatedBy"])
				require.NotEmpty(t, m["updatedAt"])
			}
			require.Equal(t, []any{"A", "a", "b", "c/x"}, keys)
			require.Equal(t, []any{"4", "5", "1", "3"}, values)
		})

		t.Run("APIKeyWriter", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine)
			alice := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{})
			secret := tb.b.CreateAPIKey(t, tb.mesh.ID, meshv1.ApiKeyCapability_API_KEY_CAPABILITY_STATE_WRITE)
			_, err := tb.b.Mesh.SetState(meshtest.Bearer(t.Context(), secret), &meshv1.SetStateRequest{
				Key: "deploy", Value: structpb.NewStringValue("green"),
			})
			require.NoError(t, err)
			// Every session is told, once.
			for _, p := range []*session{alice, bob} {
				expectStateChange(t, p.Peer, "deploy", "green", "api")
				p.ExpectQuiet(quiet)
			}
		})

		t.Run("InvalidKey", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine)
			alice := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{})
			alice.Send(map[string]any{"type": "set_state", "key": " ", "value": 1, "_reqId": "bad"})
			require.Equal(t, "bad", alice.ExpectError("invalid_argument")["_reqId"])
			bob.ExpectQuiet(quiet)
		})
	})
}
