package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"claudemesh.dev/cli/internal/meshmsg"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
	"claudemesh.dev/services/identity"
)

type sendMessageInput struct {
	To       any    `json:"to" jsonschema:"a peer name, 64-hex key, @group, * for everyone, or a list of these; prefix mesh-slug: when several meshes are joined"`
	Message  string `json:"message" jsonschema:"the text to send"`
	Priority string `json:"priority,omitempty" jsonschema:"now (interrupts), next (default: when idle) or low"`
}

type listPeersInput struct {
	MeshSlug string `json:"mesh_slug,omitempty" jsonschema:"only this mesh"`
}

type messageStatusInput struct {
	ID string `json:"id" jsonschema:"the message id send_message returned (8+ characters)"`
}

type noInput struct{}

func (s *Server) addMessagingTools() {
	tool(s, "send_message", "Send a message to peers: a name, @group, * (everyone), or a list. Direct messages are end-to-end encrypted.", s.sendMessage)
	tool(s, "check_messages", "Read the messages that have not reached you yet.", func(context.Context, noInput) (string, error) {
		return s.checkMessages(), nil
	})
	tool(s, "list_peers", "List the sessions connected to your meshes: name, status, groups, summary.", s.listPeers)
	tool(s, "message_status", "What became of a message you sent: queued, pushed, delivered (read) or expired, per recipient.", s.messageStatus)
}

// targetList reads send_message's "to": one string or a list of strings.
func targetList(to any) ([]string, error) {
	var out []string
	switch v := to.(type) {
	case string:
		out = []string{v}
	case []any:
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, errors.New(`"to" must be a string or a list of strings`)
			}
			out = append(out, s)
		}
	default:
		return nil, errors.New(`"to" must be a string or a list of strings`)
	}
	out = slices.DeleteFunc(out, func(s string) bool { return strings.TrimSpace(s) == "" })
	if len(out) == 0 {
		return nil, errors.New(`"to" names no one`)
	}
	return out, nil
}

// resolved is one target of a send, on one mesh.
type resolved struct {
	link   *meshLink
	target meshmsg.Target
	asked  string
}

func (s *Server) sendMessage(ctx context.Context, in sendMessageInput) (string, error) {
	targets, err := targetList(in.To)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(in.Message) == "" {
		return "", errors.New("message is empty")
	}
	var (
		lines    []string
		sends    []resolved
		failures int
	)
	peers := map[*meshLink][]*edgev1.PeerInfo{}
	for _, asked := range targets {
		r, err := s.resolve(ctx, asked, peers)
		if err != nil {
			lines = append(lines, fmt.Sprintf("✗ %s: %v", asked, err))
			failures++
			continue
		}
		if slices.ContainsFunc(sends, func(x resolved) bool { return x.link == r.link && x.target.Spec == r.target.Spec }) {
			continue
		}
		sends = append(sends, r)
	}
	for _, r := range sends {
		line, ok := s.sendOne(ctx, r, in.Message, in.Priority)
		lines = append(lines, line)
		if !ok {
			failures++
		}
	}
	text := strings.Join(lines, "\n")
	if failures == len(lines) {
		return "", errors.New(text)
	}
	return text, nil
}

// sendOne seals and sends one message and returns its result line.
func (s *Server) sendOne(ctx context.Context, r resolved, text, priority string) (string, bool) {
	msg, err := meshmsg.NewSend(r.target, text, priority, r.link.sessionKey.Secret)
	if err != nil {
		return fmt.Sprintf("✗ %s: %v", r.asked, err), false
	}
	ack, err := reply[*edgev1.Ack](ctx, s, r.link, msg)
	if err != nil {
		return fmt.Sprintf("✗ %s: %v", r.asked, err), false
	}
	if !ack.GetQueued() {
		return fmt.Sprintf("✗ %s: %s", r.asked, ack.GetError()), false
	}
	name := r.target.Name
	if len(s.links) > 1 {
		name = r.link.mesh.Slug + ":" + name
	}
	return fmt.Sprintf("✓ %s → %s", name, ack.GetMessageId()), true
}

// resolve finds the mesh and recipient of one target (classic §5.1): an
// optional "<mesh-slug>:" prefix picks the mesh; keys, groups and * need one
// mesh; names are looked up among each mesh's peers.
func (s *Server) resolve(ctx context.Context, asked string, peers map[*meshLink][]*edgev1.PeerInfo) (resolved, error) {
	spec := strings.TrimSpace(asked)
	links := s.links
	if slug, rest, ok := strings.Cut(spec, ":"); ok {
		for _, l := range s.links {
			if l.mesh.Slug == slug {
				links, spec = []*meshLink{l}, rest
				break
			}
		}
	}
	if isAddress(spec) {
		if len(links) > 1 {
			return resolved{}, fmt.Errorf("several meshes joined (%s): prefix the target with its mesh, as <mesh-slug>:<target>", s.slugs())
		}
		var list []*edgev1.PeerInfo
		if !strings.HasPrefix(spec, "@") && spec != "*" {
			// A key: a member key online resolves to its session.
			list, _ = s.peersOf(ctx, links[0]) // offline, the key is used as given
		}
		t, err := meshmsg.Resolve(spec, list)
		return resolved{link: links[0], target: t, asked: asked}, err
	}
	var lastErr error
	for _, l := range links {
		list, ok := peers[l]
		if !ok {
			got, err := s.peersOf(ctx, l)
			if err != nil {
				lastErr = err
				continue
			}
			peers[l], list = got, got
		}
		t, err := meshmsg.Resolve(spec, list)
		if err == nil {
			return resolved{link: l, target: t, asked: asked}, nil
		}
		if lastErr == nil || !errors.Is(err, meshmsg.ErrNoPeer) {
			lastErr = err
		}
	}
	return resolved{}, lastErr
}

// peersOf lists a mesh's peers without this session.
func (s *Server) peersOf(ctx context.Context, l *meshLink) ([]*edgev1.PeerInfo, error) {
	list, err := reply[*edgev1.PeersList](ctx, s, l, &edgev1.ListPeers{})
	if err != nil {
		return nil, err
	}
	self := l.sessionKey.PublicHex()
	return slices.DeleteFunc(list.GetPeers(), func(p *edgev1.PeerInfo) bool { return p.GetPubkey() == self }), nil
}

// checkMessages returns every waiting message and acks them: returning
// them is reaching the model.
func (s *Server) checkMessages() string {
	s.confirmChannelled()
	holder := newHolder()
	items := s.inbox.claim(holder, offerTTL, s.handOver)
	if len(items) == 0 {
		return "No new messages."
	}
	text := s.render(items)
	s.consume(holder)
	return text
}

// consume acks the items a holder took to the model.
func (s *Server) consume(holder string) {
	for _, it := range s.inbox.take(holder) {
		it.link.session.Ack(it.msg.ID)
	}
}

// render is the text of messages for the model.
func (s *Server) render(items []*item) string {
	msgs := make([]meshmsg.Message, 0, len(items))
	for _, it := range items {
		msgs = append(msgs, it.msg)
	}
	return meshmsg.RenderAll(msgs, s.slugOf, s.opts.Now())
}

// slugOf is the slug of a joined mesh, by id.
func (s *Server) slugOf(meshID string) string {
	for _, l := range s.links {
		if l.mesh.MeshID == meshID {
			return l.mesh.Slug
		}
	}
	return ""
}

// when renders an ISO time compactly, as meshmsg.When does.
func when(iso string, now time.Time) string {
	t, err := time.Parse(time.RFC3339Nano, iso)
	if err != nil {
		return iso
	}
	return meshmsg.When(t, now)
}

func (s *Server) listPeers(ctx context.Context, in listPeersInput) (string, error) {
	links, err := s.pickLinks(in.MeshSlug)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i, l := range links {
		if i > 0 {
			b.WriteString("\n")
		}
		peers, err := s.peersOf(ctx, l)
		if err != nil {
			fmt.Fprintf(&b, "## %s: %v\n", l.mesh.Slug, err)
			continue
		}
		fmt.Fprintf(&b, "## %s: %d other peer(s)\n", l.mesh.Slug, len(peers))
		for _, p := range peers {
			b.WriteString(peerLine(p))
			b.WriteByte('\n')
		}
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

// peerLine is one compact line of list_peers.
func peerLine(p *edgev1.PeerInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "- %s [%s]", p.GetDisplayName(), p.GetStatus())
	if t := p.GetProfile().GetTitle(); t != "" {
		fmt.Fprintf(&b, " (%s)", t)
	}
	for _, g := range p.GetGroups() {
		b.WriteString(" @" + g.GetName())
		if g.GetRole() != "" {
			b.WriteString(":" + g.GetRole())
		}
	}
	if !p.GetVisible() {
		b.WriteString(" [hidden]")
	}
	if p.GetPeerType() != "" && p.GetPeerType() != "ai" {
		b.WriteString(" {" + p.GetPeerType() + "}")
	}
	fmt.Fprintf(&b, " key:%s", shortKey(p.GetPubkey()))
	if p.GetHostname() != "" {
		b.WriteString(" host:" + p.GetHostname())
	}
	if p.GetCwd() != "" {
		b.WriteString(" cwd:" + p.GetCwd())
	}
	if p.GetSummary() != "" {
		fmt.Fprintf(&b, " — %q", p.GetSummary())
	}
	return b.String()
}

func shortKey(k string) string {
	if len(k) > 12 {
		return k[:12]
	}
	return k
}

func (s *Server) messageStatus(ctx context.Context, in messageStatusInput) (string, error) {
	id := strings.TrimSpace(in.ID)
	if len(id) < 8 {
		return "", errors.New("id: give the message id send_message returned (at least 8 characters)")
	}
	var errs []string
	for _, l := range s.links {
		res, err := reply[*edgev1.MessageStatusResult](ctx, s, l, &edgev1.MessageStatus{MessageId: id})
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		return statusText(res, s.opts.Now()), nil
	}
	return "", errors.New(strings.Join(errs, "; "))
}

// statusText renders a message_status_result.
func statusText(res *edgev1.MessageStatusResult, now time.Time) string {
	var b strings.Builder
	counts := map[string]int{}
	for _, r := range res.GetRecipients() {
		counts[r.GetStatus()]++
	}
	fmt.Fprintf(&b, "Message %s → %s: ", shortID(res.GetMessageId()), res.GetTargetSpec())
	if res.GetDelivered() {
		b.WriteString("delivered to everyone")
	} else {
		var parts []string
		for _, st := range []string{"delivered", "pushed", "queued", "expired"} {
			if counts[st] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
			}
		}
		if len(parts) == 0 {
			parts = append(parts, "no recipients")
		}
		b.WriteString(strings.Join(parts, ", "))
	}
	for _, r := range res.GetRecipients() {
		fmt.Fprintf(&b, "\n- %s: %s", r.GetName(), r.GetStatus())
		if at := cmpTime(r.GetDeliveredAt(), r.GetPushedAt(), r.GetQueuedAt(), r.GetExpiredAt()); at != "" {
			b.WriteString(" " + when(at, now))
		}
	}
	return b.String()
}

// cmpTime returns the first non-empty time.
func cmpTime(ts ...string) string {
	for _, t := range ts {
		if t != "" {
			return t
		}
	}
	return ""
}

// isAddress reports whether a target names its recipients without a name
// lookup: *, @group or a 64-hex key.
func isAddress(spec string) bool {
	return spec == "*" || strings.HasPrefix(spec, "@") || (len(spec) == 64 && identity.IsPublicHex(strings.ToLower(spec)))
}
