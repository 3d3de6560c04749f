package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"google.golang.org/protobuf/proto"

	"claudemesh.dev/cli/internal/brokerclient"
	"claudemesh.dev/edge/frame"
)

// requestTimeout bounds one broker round trip of a tool, connecting
// included.
const requestTimeout = 10 * time.Second

// errNoMeshes is every tool's answer when nothing is joined.
var errNoMeshes = errors.New("no meshes joined. Run `claudemesh join <invite link>` (or `claudemesh up` for a local mesh) in a terminal, then restart Claude Code")

// tool registers a tool whose handler returns text.
func tool[In any](s *Server, name, description string, h func(context.Context, In) (string, error)) {
	mcp.AddTool(s.mcp, &mcp.Tool{Name: name, Description: description},
		func(ctx context.Context, _ *mcp.CallToolRequest, in In) (*mcp.CallToolResult, any, error) {
			if len(s.links) == 0 {
				return nil, nil, errNoMeshes
			}
			text, err := h(ctx, in)
			if err != nil {
				return nil, nil, err
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}, nil, nil
		})
}

// addTools registers every tool. Descriptions are short on purpose: they
// are in the model's context all session long.
func (s *Server) addTools() {
	s.addMessagingTools()
	s.addPresenceTools()
	s.addStateTools()
	s.addScheduleTools()
}

// pickLink returns the mesh a tool acts on: the one named, else the first
// connected one, else the first.
func (s *Server) pickLink(slug string) (*meshLink, error) {
	slug = strings.TrimSpace(slug)
	if slug != "" {
		for _, l := range s.links {
			if l.mesh.Slug == slug || l.mesh.MeshID == slug {
				return l, nil
			}
		}
		return nil, fmt.Errorf("no joined mesh %q; joined: %s", slug, s.slugs())
	}
	if c := s.connectedLinks(); len(c) > 0 {
		return c[0], nil
	}
	return s.links[0], nil
}

// pickLinks returns the meshes a fan-out tool acts on: the one named, else
// all.
func (s *Server) pickLinks(slug string) ([]*meshLink, error) {
	if strings.TrimSpace(slug) == "" {
		return s.links, nil
	}
	l, err := s.pickLink(slug)
	if err != nil {
		return nil, err
	}
	return []*meshLink{l}, nil
}

func (s *Server) slugs() string {
	out := make([]string, 0, len(s.links))
	for _, l := range s.links {
		out = append(out, l.mesh.Slug)
	}
	return strings.Join(out, ", ")
}

// request sends a frame on a mesh and waits for the broker's answer,
// waiting a bounded time for a connection first.
func (s *Server) request(ctx context.Context, l *meshLink, msg proto.Message) (frame.Frame, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	f, err := l.session.Request(ctx, msg)
	if err == nil {
		return f, nil
	}
	var be *brokerclient.Error
	if errors.As(err, &be) {
		return f, fmt.Errorf("%s: %s", l.mesh.Slug, be.Message)
	}
	if !l.session.Connected() {
		why := ""
		if e := l.session.Err(); e != nil {
			why = " (" + e.Error() + ")"
		}
		return f, fmt.Errorf("%s: not connected to the broker%s; it keeps retrying in the background", l.mesh.Slug, why)
	}
	return f, fmt.Errorf("%s: %w", l.mesh.Slug, err)
}

// reply expects a frame of type T in answer to a request.
func reply[T proto.Message](ctx context.Context, s *Server, l *meshLink, msg proto.Message) (T, error) {
	var zero T
	f, err := s.request(ctx, l, msg)
	if err != nil {
		return zero, err
	}
	out, ok := f.Msg.(T)
	if !ok {
		return zero, fmt.Errorf("%s: the broker answered %s", l.mesh.Slug, f.Type)
	}
	return out, nil
}

// fanOut sends a fire-and-forget frame to every mesh and says where it went.
func (s *Server) fanOut(links []*meshLink, what string, msg proto.Message) string {
	var done, queued []string
	for _, l := range links {
		l.session.Send(msg)
		if l.session.Connected() {
			done = append(done, l.mesh.Slug)
		} else {
			queued = append(queued, l.mesh.Slug)
		}
	}
	var b strings.Builder
	if len(done) > 0 {
		fmt.Fprintf(&b, "%s on %s.", what, strings.Join(done, ", "))
	}
	if len(queued) > 0 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s is queued for %s (reconnecting).", what, strings.Join(queued, ", "))
	}
	return b.String()
}

// shortID is the first 8 characters of an id, for compact results.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
