package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

// maxSummary bounds a summary: it is shown in every peer list.
const maxSummary = 280

type setSummaryInput struct {
	Summary string `json:"summary" jsonschema:"what you are working on, one line"`
}

type setStatusInput struct {
	Status string `json:"status" jsonschema:"idle, working or dnd (do not disturb: only now messages)"`
}

type setVisibleInput struct {
	Visible bool `json:"visible" jsonschema:"false hides you from peer lists, broadcasts and groups; direct messages still arrive"`
}

type setProfileInput struct {
	Avatar       *string  `json:"avatar,omitempty" jsonschema:"an emoji or short text"`
	Title        *string  `json:"title,omitempty" jsonschema:"e.g. backend lead"`
	Bio          *string  `json:"bio,omitempty"`
	Capabilities []string `json:"capabilities,omitempty" jsonschema:"what you can do for peers"`
}

type groupInput struct {
	Name string `json:"name" jsonschema:"the group, without @; may be a path like eng/backend"`
	Role string `json:"role,omitempty" jsonschema:"your role in it, e.g. lead, member, observer"`
}

type meshInput struct {
	MeshSlug string `json:"mesh_slug,omitempty" jsonschema:"the mesh (default: the first)"`
}

func (s *Server) addPresenceTools() {
	tool(s, "set_summary", "Tell peers what you are working on (shown in list_peers).", s.setSummary)
	tool(s, "set_status", "Set your status: idle, working or dnd. Hooks set idle/working on their own.", s.setStatus)
	tool(s, "set_visible", "Hide from or show yourself to peers.", s.setVisible)
	tool(s, "set_profile", "Set your avatar, title, bio and capabilities.", s.setProfile)
	tool(s, "join_group", "Join a group (@name) with an optional role.", s.joinGroup)
	tool(s, "leave_group", "Leave a group.", s.leaveGroup)
	tool(s, "mesh_info", "Overview of a mesh: peers, groups, state keys, your name and groups.", s.meshInfo)
}

func (s *Server) setSummary(_ context.Context, in setSummaryInput) (string, error) {
	summary := strings.TrimSpace(in.Summary)
	if utf8.RuneCountInString(summary) > maxSummary {
		return "", fmt.Errorf("summary: at most %d characters", maxSummary)
	}
	return s.fanOut(s.links, "Summary set", &edgev1.SetSummary{Summary: summary}), nil
}

func (s *Server) setStatus(_ context.Context, in setStatusInput) (string, error) {
	switch in.Status {
	case "idle", "working", "dnd":
	default:
		return "", errors.New("status: idle, working or dnd")
	}
	return s.fanOut(s.links, "Status "+in.Status+" set", &edgev1.SetStatus{Status: in.Status}), nil
}

func (s *Server) setVisible(ctx context.Context, in setVisibleInput) (string, error) {
	what := "Visible"
	if !in.Visible {
		what = "Hidden"
	}
	return s.everyMesh(ctx, what, &edgev1.SetVisible{Visible: in.Visible})
}

func (s *Server) setProfile(ctx context.Context, in setProfileInput) (string, error) {
	msg := &edgev1.SetProfile{Avatar: in.Avatar, Title: in.Title, Bio: in.Bio}
	if in.Capabilities != nil {
		values := make([]any, len(in.Capabilities))
		for i, c := range in.Capabilities {
			values[i] = c
		}
		list, err := structpb.NewList(values)
		if err != nil {
			return "", fmt.Errorf("capabilities: %w", err)
		}
		msg.Capabilities = list
	}
	return s.everyMesh(ctx, "Profile set", msg)
}

// everyMesh sends a frame the broker acks to every mesh and says where it
// took effect.
func (s *Server) everyMesh(ctx context.Context, what string, msg proto.Message) (string, error) {
	var done, errs []string
	for _, l := range s.links {
		if _, err := reply[*edgev1.Ack](ctx, s, l, msg); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		done = append(done, l.mesh.Slug)
	}
	if len(done) == 0 {
		return "", errors.New(strings.Join(errs, "; "))
	}
	text := fmt.Sprintf("%s on %s.", what, strings.Join(done, ", "))
	if len(errs) > 0 {
		text += " Failed: " + strings.Join(errs, "; ")
	}
	return text, nil
}

func (s *Server) joinGroup(_ context.Context, in groupInput) (string, error) {
	name, err := groupName(in.Name)
	if err != nil {
		return "", err
	}
	msg := &edgev1.JoinGroup{Name: name}
	if r := strings.TrimSpace(in.Role); r != "" {
		msg.Role = &r
	}
	return s.fanOut(s.links, "Joined @"+name, msg), nil
}

func (s *Server) leaveGroup(_ context.Context, in groupInput) (string, error) {
	name, err := groupName(in.Name)
	if err != nil {
		return "", err
	}
	return s.fanOut(s.links, "Left @"+name, &edgev1.LeaveGroup{Name: name}), nil
}

// groupName checks a group name as the model typed it.
func groupName(name string) (string, error) {
	name = strings.TrimPrefix(strings.TrimSpace(name), "@")
	if name == "" || name == "all" || strings.ContainsAny(name, " \t@:,") || len(name) > 64 {
		return "", fmt.Errorf("group name %q: one word or a path like eng/backend, without spaces, @, : or commas", name)
	}
	return name, nil
}

func (s *Server) meshInfo(ctx context.Context, in meshInput) (string, error) {
	l, err := s.pickLink(in.MeshSlug)
	if err != nil {
		return "", err
	}
	info, err := reply[*edgev1.MeshInfoResult](ctx, s, l, &edgev1.MeshInfo{})
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Mesh %s", l.mesh.Slug)
	if info.GetTemplate() != "" {
		fmt.Fprintf(&b, " (template %s)", info.GetTemplate())
	}
	fmt.Fprintf(&b, ": %d peer(s) online.\nYou: %s", info.GetPeers(), info.GetYourName())
	for _, g := range info.GetYourGroups() {
		b.WriteString(" @" + g.GetName())
		if g.GetRole() != "" {
			b.WriteString(":" + g.GetRole())
		}
	}
	if len(info.GetGroups()) > 0 {
		b.WriteString("\nGroups: @" + strings.Join(info.GetGroups(), " @"))
	}
	if len(info.GetStateKeys()) > 0 {
		b.WriteString("\nState keys: " + strings.Join(info.GetStateKeys(), ", "))
	}
	if n := s.inbox.count(s.handOver); n > 0 {
		fmt.Fprintf(&b, "\n%d message(s) waiting: call check_messages.", n)
	}
	return b.String(), nil
}
