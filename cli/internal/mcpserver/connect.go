package mcpserver

import (
	"context"
	"fmt"
	"strings"

	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

// onConnect runs after every accepted hello on a mesh: it caches the
// template hint for the next session's instructions and, on the first
// connection, greets the model once the channel is open.
func (s *Server) onConnect(l *meshLink, ack *edgev1.HelloAck) {
	if err := saveHint(s.opts.ConfigDir, l.mesh.MeshID, ack.GetPromptHint()); err != nil {
		s.log.Warn("mesh hint not cached", "mesh", l.mesh.Slug, "err", err)
	}
	l.once.Do(func() { go s.welcome(l) })
}

// welcome tells the model, through the channel, who it is connected as and
// who is online.
func (s *Server) welcome(l *meshLink) {
	select {
	case <-s.readyCh:
	case <-s.done:
		return
	}
	if !s.channelOpen() || s.opts.Mode != ModePush {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	peers, err := s.peersOf(ctx, l)
	if err != nil {
		return
	}
	names := make([]string, 0, len(peers))
	for _, p := range peers {
		names = append(names, p.GetDisplayName())
	}
	text := fmt.Sprintf("[system] Connected as %s to mesh %s. %d peer(s) online", l.session.HelloAck().GetMemberDisplayName(), l.mesh.Slug, len(peers))
	if len(names) > 0 {
		text += ": " + strings.Join(names, ", ")
	}
	text += ". Call set_summary to tell them what you are doing."
	s.notify(channelParams{Content: text, Meta: map[string]string{"kind": "welcome", "mesh_slug": l.mesh.Slug, "mesh_id": l.mesh.MeshID}})
}
