package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/config"

	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

// result is what one run of the binary did.
type result struct {
	stdout, stderr string
	code           int
}

// cm runs the binary as a member: its config dir, and USER. A member's
// one-shot sessions go by the name it joined with.
func cm(t *testing.T, configDir, user string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "CLAUDEMESH_CONFIG_DIR="+configDir, "USER="+user, "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return r
}

// ok runs the binary and requires success.
func (r result) ok(t *testing.T) result {
	t.Helper()
	require.Zero(t, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	return r
}

func (r result) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal([]byte(r.ok(t).stdout), v), r.stdout)
}

// inboxMessage is one entry of inbox --json.
type inboxMessage struct {
	ID, Mesh, From, FromName, Priority, Kind, Target, Text string
	Undecryptable                                          bool
}

// TestOneShotCommands runs send, inbox, state and status against one broker
// with three members who joined by invite: alice sends, bob listens with a
// live inbox, carol is offline until she reads her inbox.
func TestOneShotCommands(t *testing.T) {
	t.Parallel()
	dataDir, owner := t.TempDir(), t.TempDir()
	b := startBroker(t, []string{"CLAUDEMESH_DATA_DIR=" + dataDir, "CLAUDEMESH_CONFIG_DIR=" + owner}, "up", "--listen", "127.0.0.1:0", "--log-level", "warn")
	require.Eventually(t, func() bool { return strings.Contains(b.stdout.String(), `Created the local mesh "local"`) }, 10*time.Second, 50*time.Millisecond, b.stdout.String())
	var inv map[string]any
	runJSON(t, owner, &inv, "invite", "--mesh", "local", "--max-uses", "3", "--groups", "eng/backend:member")
	link, _ := inv["joinUrl"].(string)
	alice, bob, carol := t.TempDir(), t.TempDir(), t.TempDir()
	for dir, name := range map[string]string{alice: "alice", bob: "bob", carol: "carol"} {
		cm(t, dir, name, "join", link, "--name", name).ok(t)
	}

	t.Run("GroupMessageWaitsForOfflineMember", func(t *testing.T) {
		// @eng reaches carol (in eng/backend) although she never connected;
		// her inbox shows it, acks it, and alice sees it delivered.
		var sent map[string]string
		cm(t, alice, "alice", "send", "@eng", "standup", "at", "10", "--json").json(t, &sent)
		require.Equal(t, "@eng", sent["target"])
		require.NotEmpty(t, sent["messageId"])

		var got []inboxMessage
		cm(t, carol, "carol", "inbox", "--json").json(t, &got)
		require.Len(t, got, 1, "%+v", got)
		require.Equal(t, sent["messageId"], got[0].ID)
		require.Equal(t, "standup at 10", got[0].Text)
		require.Equal(t, "group", got[0].Kind)
		require.Equal(t, "@eng", got[0].Target)
		require.Equal(t, "alice", got[0].FromName)
		require.Equal(t, "local", got[0].Mesh)

		// The ack reached the broker: the sender sees the message delivered.
		session := connectSession(t, alice, "local", "alice-checker")
		require.Eventually(t, func() bool {
			reply, err := session.Request(t.Context(), &edgev1.MessageStatus{MessageId: sent["messageId"]})
			if err != nil {
				return false
			}
			res, _ := reply.Msg.(*edgev1.MessageStatusResult)
			return slices.ContainsFunc(res.GetRecipients(), func(r *edgev1.RecipientStatus) bool {
				return r.GetName() == "carol" && r.GetStatus() == "delivered"
			})
		}, 10*time.Second, 50*time.Millisecond)

		out := cm(t, carol, "carol", "inbox").ok(t)
		require.Equal(t, "No messages.\n", out.stdout)
	})

	t.Run("SendByNameToLiveInbox", func(t *testing.T) {
		// bob listens: his inbox first gets the @eng message queued while he
		// was offline, then alice finds him by his name in another case and
		// sends him a direct message, sealed to his session.
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		listen := exec.CommandContext(ctx, binary, "inbox", "--wait", "45s", "--count", "2")
		listen.Env = append(os.Environ(), "CLAUDEMESH_CONFIG_DIR="+bob, "USER=bob", "NO_COLOR=1")
		var stdout, stderr bytes.Buffer
		listen.Stdout, listen.Stderr = &stdout, &stderr
		require.NoError(t, listen.Start())
		require.Eventually(t, func() bool {
			var peers []map[string]any
			out := cm(t, alice, "alice", "peers", "--json")
			return out.code == 0 && json.Unmarshal([]byte(out.stdout), &peers) == nil &&
				slices.ContainsFunc(peers, func(p map[string]any) bool { return p["displayName"] == "bob" })
		}, 20*time.Second, 100*time.Millisecond)

		out := cm(t, alice, "alice", "send", "BOB", "are you there?", "--priority", "now").ok(t)
		require.Regexp(t, `^✓ Sent to bob \([0-9A-Za-z]{8}\)\n$`, out.stdout)

		require.NoError(t, listen.Wait(), "stderr:\n%s", stderr.String())
		require.Regexp(t, `^\[local\] from alice \(@eng, \d\d:\d\d:\d\d\):\nstandup at 10\n---\n`+
			`\[local\] from alice \(direct, now, \d\d:\d\d:\d\d\):\nare you there\?\n$`, stdout.String())
	})

	t.Run("SendToAnOfflineMemberKey", func(t *testing.T) {
		// bob's session ended (a one-shot command leaves at once), so his
		// name finds no one; his member key still reaches him: the message
		// waits, sealed so that his next session opens it with that key.
		out := cm(t, alice, "alice", "send", "bo", "later then")
		require.Equal(t, 1, out.code)
		require.Contains(t, out.stderr, `no connected peer named "bo"`)
		cfg, err := config.Load(bob)
		require.NoError(t, err)
		out = cm(t, alice, "alice", "send", cfg.Meshes[0].Pubkey, "later then").ok(t)
		require.Contains(t, out.stdout, "✓ Sent to peer-"+cfg.Meshes[0].Pubkey[:8])
		var got []inboxMessage
		cm(t, bob, "bob", "inbox", "--json").json(t, &got)
		require.Len(t, got, 1, "%+v", got)
		require.Equal(t, "later then", got[0].Text)
		require.Equal(t, "direct", got[0].Kind)
		require.False(t, got[0].Undecryptable)
	})

	t.Run("UnknownName", func(t *testing.T) {
		out := cm(t, alice, "alice", "send", "nobody", "hello")
		require.Equal(t, 1, out.code)
		require.Contains(t, out.stderr, `no connected peer named "nobody" in local`)
		require.Contains(t, out.stderr, "claudemesh peers")
	})

	t.Run("BrokerRefusal", func(t *testing.T) {
		out := cm(t, alice, "alice", "send", "@nobody-here", "hello")
		require.Equal(t, 1, out.code)
		require.Contains(t, out.stderr, "the broker refused the message to @nobody-here")
		require.Contains(t, out.stderr, "no recipient")
	})

	t.Run("BadPriority", func(t *testing.T) {
		out := cm(t, alice, "alice", "send", "@eng", "hi", "--priority", "urgent")
		require.Equal(t, 2, out.code)
		require.Contains(t, out.stderr, `--priority "urgent": use now, next or low`)
	})

	t.Run("State", func(t *testing.T) {
		var set map[string]any
		cm(t, alice, "alice", "state", "set", "sprint", `{"n": 14, "goal": "search"}`, "--json").json(t, &set)
		require.Equal(t, map[string]any{"n": float64(14), "goal": "search"}, set["value"])
		require.Equal(t, "alice", set["updatedBy"])

		out := cm(t, alice, "alice", "state", "set", "note", "release", "is", "on", "hold").ok(t)
		require.Equal(t, "✓ note = \"release is on hold\"\n", out.stdout)

		var got map[string]any
		cm(t, bob, "bob", "state", "get", "sprint", "--json").json(t, &got)
		require.Equal(t, set, got)

		out = cm(t, bob, "bob", "state", "get", "never-set").ok(t)
		require.Equal(t, "never-set is not set in local.\n", out.stdout)

		var list []map[string]any
		cm(t, carol, "carol", "state", "list", "--json").json(t, &list)
		values := map[string]any{}
		for _, e := range list {
			values[e["key"].(string)] = e["value"]
		}
		require.Equal(t, "release is on hold", values["note"])
		require.Equal(t, set["value"], values["sprint"])

		out = cm(t, alice, "alice", "state", "set", "", "x")
		require.Equal(t, 1, out.code)
		require.Contains(t, out.stderr, `the broker refused to set "" in local`)
	})

	t.Run("Status", func(t *testing.T) {
		var st struct {
			OK     bool `json:"ok"`
			Config struct {
				Private bool `json:"private"`
			} `json:"config"`
			Meshes []struct {
				Slug          string `json:"slug"`
				Reachable     bool   `json:"reachable"`
				HelloAccepted bool   `json:"helloAccepted"`
				DisplayName   string `json:"displayName"`
			} `json:"meshes"`
		}
		cm(t, alice, "alice", "status", "--json").json(t, &st)
		require.True(t, st.OK)
		require.True(t, st.Config.Private)
		require.Len(t, st.Meshes, 1)
		require.Equal(t, "local", st.Meshes[0].Slug)
		require.True(t, st.Meshes[0].Reachable)
		require.True(t, st.Meshes[0].HelloAccepted)
		require.Equal(t, "alice", st.Meshes[0].DisplayName)

		out := cm(t, alice, "alice", "status").ok(t)
		require.Regexp(t, `✓ local  ws://\S+  hello accepted as alice, \d+ peers? online`, out.stdout)
		require.Contains(t, out.stdout, "(mode 0600 ✓)")
	})
}

func TestOneShotHelpAndCompletion(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	for _, args := range [][]string{
		{"send", "--help"}, {"inbox", "--help"}, {"state", "--help"}, {"state", "get", "--help"},
		{"state", "set", "--help"}, {"state", "list", "--help"}, {"status", "--help"},
	} {
		out := cm(t, home, "alice", args...).ok(t)
		require.Contains(t, out.stdout, "Examples:\n  claudemesh "+args[0], args)
	}

	out := cm(t, home, "alice", "completion", "bash").ok(t)
	require.Contains(t, out.stdout, "__start_claudemesh")
	require.Contains(t, out.stdout, "complete -o default -F __start_claudemesh claudemesh")

	// Usage mistakes exit 2 and say how to call the command.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"send", "alice"}, `like: claudemesh send alice "hello"`},
		{[]string{"state", "get"}, "like: claudemesh state get sprint"},
		{[]string{"state", "set", "k"}, "like: claudemesh state set sprint"},
		{[]string{"inbox", "--count", "-1"}, "--count must be 0"},
		{[]string{"inbox"}, "no meshes joined"},
	} {
		out := cm(t, home, "alice", tt.args...)
		require.Equal(t, 2, out.code, tt.args)
		require.Contains(t, out.stderr, tt.want, tt.args)
	}
	out = cm(t, home, "alice", "inbox", "--wait", "soon")
	require.NotZero(t, out.code)
	require.Contains(t, out.stderr, "use a duration like 1s or 2m, or a number of seconds")
}
