package meshmsg

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// renderSystem is one readable line for a broker event (classic §7.3 where
// the classic client had one). sentAt dates "last seen" in peer_returned.
func renderSystem(event string, data map[string]any, sentAt time.Time) string {
	name := fmt.Sprintf("%q", peerLabel(data))
	switch event {
	case "peer_joined":
		return "[system] Peer " + name + " joined the mesh" + parenthesized(groupList(data["groups"]))
	case "peer_returned":
		return welcomeBack(name, data, sentAt)
	case "peers_joined":
		return peersJoined(data)
	case "peer_left":
		return "[system] Peer " + name + " left the mesh"
	case "peer_visible":
		return "[system] Peer " + name + " is visible again"
	case "peer_hidden":
		return "[system] Peer " + name + " is hidden now"
	case "loop_guard":
		return loopGuard(data)
	case "mcp_deployed":
		return fmt.Sprintf("[SERVICE] %q deployed (%s tools) by %s", str(data, "name"), number(data["tool_count"]), who(data, "deployed_by"))
	case "mcp_undeployed":
		return fmt.Sprintf("[SERVICE] %q undeployed by %s", str(data, "name"), who(data, "by"))
	case "mcp_scope_changed":
		return fmt.Sprintf("[SERVICE] %q scope changed to %s by %s", str(data, "name"), compactJSON(data["scope"]), who(data, "by"))
	}
	if event == "" {
		event = "event"
	}
	if len(data) == 0 {
		return "[system] " + event
	}
	return "[system] " + event + ": " + compactJSON(data)
}

// maxNamesListed bounds the names peers_joined lists.
const maxNamesListed = 10

// peersJoined renders the broker's coalesced announcement of several
// joins: how many, and the first names.
func peersJoined(data map[string]any) string {
	peers, _ := data["peers"].([]any)
	names := make([]string, 0, min(len(peers), maxNamesListed))
	for _, p := range peers {
		if len(names) == maxNamesListed {
			break
		}
		if m, ok := p.(map[string]any); ok {
			names = append(names, peerLabel(m))
		}
	}
	count := len(peers)
	if n, ok := data["count"].(float64); ok && int(n) > count {
		count = int(n) // the broker lists only the first ones
	}
	text := fmt.Sprintf("[system] %d peers joined the mesh: %s", count, strings.Join(names, ", "))
	if more := count - len(names); more > 0 {
		text += fmt.Sprintf(" (+%d more)", more)
	}
	return text
}

// welcomeBack renders peer_returned: who came back, when they were last
// seen, the groups they have again and their last summary.
func welcomeBack(name string, data map[string]any, sentAt time.Time) string {
	var b strings.Builder
	b.WriteString("[system] Welcome back, " + name + "!")
	if seen, err := time.Parse(time.RFC3339Nano, str(data, "lastSeenAt")); err == nil {
		b.WriteString(" Last seen " + ago(seen, sentAt) + ".")
	}
	if groups := groupList(data["groups"]); groups != "" {
		b.WriteString(" Restored: " + groups + ".")
	}
	if summary := str(data, "summary"); summary != "" {
		fmt.Fprintf(&b, " Summary: %q", summary)
	}
	return b.String()
}

// loopGuard renders the loop guard holding a dialogue.
func loopGuard(data map[string]any) string {
	line := "[system] Loop guard: messages between you and another member are held"
	if n, w := number(data["count"]), number(data["windowSec"]); n != "?" && w != "?" {
		line += " after " + n + " in " + w + "s"
	}
	if reason := str(data, "reason"); reason != "" {
		line += " (" + reason + ")"
	}
	return line + ". It resets when a person prompts either of you."
}

// peerLabel names the peer of a presence event: its name, else the start
// of its key.
func peerLabel(data map[string]any) string {
	if name := str(data, "name"); name != "" {
		return name
	}
	if key := str(data, "pubkey"); len(key) >= 8 {
		return "peer-" + key[:8]
	}
	return "someone"
}

// groupList renders [{name, role}] as "@name:role, @other".
func groupList(v any) string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, g := range list {
		switch g := g.(type) {
		case map[string]any:
			if str(g, "name") == "" {
				continue
			}
			s := "@" + str(g, "name")
			if role := str(g, "role"); role != "" {
				s += ":" + role
			}
			out = append(out, s)
		case string:
			if g != "" {
				out = append(out, "@"+g)
			}
		}
	}
	return strings.Join(out, ", ")
}

func parenthesized(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// ago is how long before now t was, roughly.
func ago(t, now time.Time) string {
	if now.IsZero() {
		return t.UTC().Format("2006-01-02 15:04 MST")
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
}

// str is a string field of event data, "" when absent or not a string.
func str(data map[string]any, key string) string {
	s, _ := data[key].(string)
	return s
}

// who names the actor of a service event.
func who(data map[string]any, key string) string {
	if s := str(data, key); s != "" {
		return s
	}
	return "someone"
}

// number renders a JSON number without a fraction, "?" when v is not one.
func number(v any) string {
	f, ok := v.(float64)
	if !ok {
		return "?"
	}
	return fmt.Sprintf("%.0f", f)
}

// compactJSON is v as one line of JSON (keys sorted).
func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
