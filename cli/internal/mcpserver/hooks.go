package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"

	"claudemesh.dev/cli/internal/hooklink"
	"claudemesh.dev/services/invite"
)

// hookHandler answers this session's Claude Code hooks over the hook link.
type hookHandler struct{ s *Server }

// Hook reports the hook's status to the brokers and hands the hook the
// messages it should print: on UserPromptSubmit ("working") everything
// waiting, on Stop ("idle") the urgent ones, once.
func (h hookHandler) Hook(_ context.Context, req hooklink.Request) (hooklink.Response, error) {
	s := h.s
	switch req.Event {
	case "working", "idle", "dnd":
	default:
		return hooklink.Response{}, fmt.Errorf("unknown hook event %q", req.Event)
	}
	s.reportStatus(req.Event, req.Cwd)
	if s.opts.Mode == ModeOff {
		return hooklink.Response{}, nil
	}
	s.transcript.setPath(req.TranscriptPath)
	s.confirmChannelled()
	var match func(*item) bool
	switch {
	case req.Event == "working":
		match = s.handOver
	case req.Event == "idle" && !req.StopHookActive:
		match = func(it *item) bool { return it.msg.Priority == "now" && s.handOver(it) }
	default:
		return hooklink.Response{}, nil
	}
	if s.opts.Mode == ModeInbox {
		return s.inboxNotice(req.Event, match), nil
	}
	holder := newHolder()
	items := s.inbox.claim(holder, offerTTL, match)
	if len(items) == 0 {
		return hooklink.Response{}, nil
	}
	text := s.render(items)
	if req.Event == "idle" {
		return hooklink.Response{
			Block:    true,
			Reason:   fmt.Sprintf("claudemesh: %d urgent message(s) from peers arrived. Read and act on them (reply with send_message):\n\n%s", len(items), text),
			Delivery: holder,
		}, nil
	}
	return hooklink.Response{
		Context:  fmt.Sprintf("<claudemesh>\n%d message(s) from peers arrived (reply with send_message):\n\n%s\n</claudemesh>", len(items), text),
		Delivery: holder,
	}, nil
}

// inboxNotice tells the model messages wait, without handing them over:
// in inbox mode the model reads them with check_messages.
func (s *Server) inboxNotice(event string, match func(*item) bool) hooklink.Response {
	n := s.inbox.count(match)
	if n == 0 {
		return hooklink.Response{}
	}
	notice := fmt.Sprintf("claudemesh: %d message(s) from peers are waiting. Call check_messages to read them.", n)
	if event == "idle" {
		return hooklink.Response{Block: true, Reason: notice}
	}
	return hooklink.Response{Context: notice}
}

// Printed acks the messages of a delivery the hook printed.
func (h hookHandler) Printed(delivery string) { h.s.consume(delivery) }

// reportStatus posts a hook status to every connected broker with the
// session's hook token, in the background: the broker then drains what the
// new status lets through.
func (s *Server) reportStatus(status, cwd string) {
	if cwd == "" {
		cwd, _ = os.Getwd()
	}
	for _, l := range s.links {
		ack := l.session.HelloAck()
		if ack == nil || ack.GetHookToken() == "" {
			continue
		}
		base, err := invite.HTTPBase(l.mesh.BrokerURL)
		if err != nil {
			continue
		}
		body, _ := json.Marshal(map[string]any{ // a map of strings and ints always encodes
			"status": status, "hook_token": ack.GetHookToken(), "session_id": s.opts.SessionID,
			"cwd": cwd, "pid": os.Getpid(),
		})
		go s.postStatus(l.mesh.Slug, base+"/hook/set-status", body)
	}
}

func (s *Server) postStatus(slug, url string, body []byte) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		s.log.Warn("hook status not reported", "mesh", slug, "err", err)
		return
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		s.log.Warn("hook status refused", "mesh", slug, "status", res.Status)
	}
}
