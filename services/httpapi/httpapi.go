// Package httpapi serves the classic claudemesh HTTP endpoints beside the
// Connect services: POST /join (enroll with an invite), GET /join/{token}
// (the invite's landing page) and POST /hook/set-status (Claude Code hooks).
// Each is a thin adapter over the mesh service, answering in the classic
// shapes.
package httpapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"

	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/identity"
	"claudemesh.dev/services/mesh"
	"claudemesh.dev/services/ratelimit"
	"claudemesh.dev/services/rpcerr"
)

// Mesh is what the endpoints need of the mesh service.
type Mesh interface {
	JoinMesh(ctx context.Context, req *meshv1.JoinMeshRequest) (*meshv1.JoinMeshResponse, error)
	SetHookStatus(ctx context.Context, req *meshv1.SetHookStatusRequest) (*meshv1.SetHookStatusResponse, error)
	PreviewInvite(ctx context.Context, token string) (mesh.InvitePreview, error)
}

// Config configures the endpoints.
type Config struct {
	// Mesh is the mesh service. Required.
	Mesh Mesh
	// Logger defaults to discarding.
	Logger *slog.Logger
	// MaxBodyBytes caps request bodies; larger ones get 413. Defaults to
	// 65536.
	MaxBodyBytes int64
	// HookRatePerMinute caps the status updates of one hook: per session
	// (its hook token, else its session id). Defaults to 30.
	HookRatePerMinute int
	// HookAddressRatePerMinute caps the status updates from one client
	// address, over all its sessions: one machine runs several Claude Code
	// sessions. Defaults to ten times HookRatePerMinute.
	HookAddressRatePerMinute int
	// NowFunc is the clock. Defaults to time.Now.
	NowFunc func() time.Time
}

// Handler serves the classic HTTP endpoints.
type Handler struct {
	cfg   Config
	hooks *ratelimit.Limiter
	// hookAddrs limits hooks per client address.
	hookAddrs *ratelimit.Limiter
}

// New returns the endpoints' handler.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	if cfg.HookRatePerMinute == 0 {
		cfg.HookRatePerMinute = 30
	}
	if cfg.HookAddressRatePerMinute == 0 {
		cfg.HookAddressRatePerMinute = 10 * cfg.HookRatePerMinute
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	return &Handler{cfg: cfg, hooks: ratelimit.New(), hookAddrs: ratelimit.New()}
}

// Register adds the endpoints to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /join", h.join)
	mux.HandleFunc("GET /join/{token}", h.joinPage)
	mux.HandleFunc("POST /hook/set-status", h.hookStatus)
}

// joinRequest is the classic POST /join body. invite_payload is accepted
// and ignored: the token carries the same signed payload. Unlike the classic
// broker, a body without it is not refused (this project's CLI leaves it
// out); the error message still names it, as classic clients expect.
type joinRequest struct {
	InviteToken   string          `json:"invite_token"`
	InvitePayload json.RawMessage `json:"invite_payload"`
	PeerPubkey    string          `json:"peer_pubkey"`
	DisplayName   string          `json:"display_name"`
}

func (h *Handler) join(w http.ResponseWriter, r *http.Request) {
	var req joinRequest
	if !h.decode(w, r, &req) {
		return
	}
	if req.InviteToken == "" || req.PeerPubkey == "" || req.DisplayName == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"ok": false, "error": "invite_token, invite_payload, peer_pubkey, display_name required"})
		return
	}
	if !identity.IsPublicHex(strings.ToLower(req.PeerPubkey)) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"ok": false, "error": "peer_pubkey must be 64 hex chars (32 bytes)"})
		return
	}
	res, err := h.cfg.Mesh.JoinMesh(r.Context(), &meshv1.JoinMeshRequest{
		InviteToken:  req.InviteToken,
		MemberPubkey: req.PeerPubkey,
		DisplayName:  req.DisplayName,
	})
	if err != nil {
		status := http.StatusBadRequest
		if connect.CodeOf(err) == connect.CodeInternal {
			status = http.StatusInternalServerError
		}
		writeJSON(w, status, map[string]any{"ok": false, "error": cmp.Or(rpcerr.Reason(err), "join_failed"), "message": errorMessage(err)})
		return
	}
	body := map[string]any{
		"ok":       true,
		"memberId": res.GetMember().GetId(),
		"meshId":   res.GetMesh().GetId(),
		"meshSlug": res.GetMesh().GetSlug(),
		"meshName": res.GetMesh().GetName(),
		"role":     strings.ToLower(strings.TrimPrefix(res.GetMember().GetRole().String(), "MEMBER_ROLE_")),
	}
	if res.GetAlreadyMember() {
		body["alreadyMember"] = true
	}
	writeJSON(w, http.StatusOK, body)
}

// hookRequest is the POST /hook/set-status body: the classic fields plus
// hook_token, which binds the hook to its session (also accepted in the
// X-Claudemesh-Hook-Token header).
type hookRequest struct {
	Cwd       string `json:"cwd"`
	PID       int32  `json:"pid"`
	Status    string `json:"status"`
	SessionID string `json:"session_id"`
	HookToken string `json:"hook_token"`
}

// HookTokenHeader carries a session's hook token.
const HookTokenHeader = "X-Claudemesh-Hook-Token"

func (h *Handler) hookStatus(w http.ResponseWriter, r *http.Request) {
	var req hookRequest
	if !h.decode(w, r, &req) {
		return
	}
	req.HookToken = cmp.Or(req.HookToken, r.Header.Get(HookTokenHeader))
	status, ok := hookStatuses[req.Status]
	if !ok || (req.SessionID == "" && req.HookToken == "") {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "status (idle, working or dnd) and session_id or hook_token required"})
		return
	}
	key := "session:" + req.SessionID
	if presence, _, found := strings.Cut(req.HookToken, "."); found {
		key = "presence:" + presence
	}
	if now := h.cfg.NowFunc(); !h.hookAddrs.Allow(clientAddr(r), now, h.cfg.HookAddressRatePerMinute, h.cfg.HookAddressRatePerMinute) ||
		!h.hooks.Allow(key, now, h.cfg.HookRatePerMinute, h.cfg.HookRatePerMinute) {
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"ok": false, "error": "rate limited"})
		return
	}
	res, err := h.cfg.Mesh.SetHookStatus(r.Context(), &meshv1.SetHookStatusRequest{
		SessionId: req.SessionID,
		HookToken: req.HookToken,
		Status:    status,
		Pid:       req.PID,
		Cwd:       req.Cwd,
	})
	switch connect.CodeOf(err) {
	case connect.CodeUnauthenticated:
		writeJSON(w, http.StatusUnauthorized, map[string]any{"ok": false, "error": errorMessage(err)})
		return
	case connect.CodePermissionDenied:
		writeJSON(w, http.StatusForbidden, map[string]any{"ok": false, "error": errorMessage(err)})
		return
	}
	if err != nil {
		code := http.StatusBadRequest
		if connect.CodeOf(err) == connect.CodeInternal {
			code = http.StatusInternalServerError
		}
		writeJSON(w, code, map[string]any{"ok": false, "error": errorMessage(err)})
		return
	}
	if res.GetPending() {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "pending": true})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "presence_id": res.GetPresenceId()})
}

//nolint:gochecknoglobals // read-only table.
var hookStatuses = map[string]meshv1.PeerStatus{
	"idle":    meshv1.PeerStatus_PEER_STATUS_IDLE,
	"working": meshv1.PeerStatus_PEER_STATUS_WORKING,
	"dnd":     meshv1.PeerStatus_PEER_STATUS_DND,
}

// clientAddr is the caller's address without its port.
func clientAddr(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return host
}

// decode reads a JSON body, answering 413 or 400 itself when it cannot.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body := http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes)
	err := json.NewDecoder(body).Decode(v)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"ok": false, "error": "payload too large"})
		return false
	case err != nil:
		writeJSON(w, http.StatusBadRequest, map[string]any{"ok": false, "error": "body must be a JSON object: " + err.Error()})
		return false
	}
	return true
}

func (h *Handler) joinPage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	preview, err := h.cfg.Mesh.PreviewInvite(r.Context(), token)
	if err != nil {
		h.cfg.Logger.ErrorContext(r.Context(), "invite preview", "err", err)
		http.Error(w, "cannot show this invite now", http.StatusInternalServerError)
		return
	}
	status := http.StatusOK
	if !preview.Valid {
		status = http.StatusNotFound
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	if err := joinTemplate.Execute(w, preview); err != nil {
		h.cfg.Logger.ErrorContext(r.Context(), "render invite page", "err", err)
	}
}

//nolint:gochecknoglobals // parsed once, read-only.
var joinTemplate = template.Must(template.New("join").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Valid}}Join {{.MeshName}} on claudemesh{{else}}claudemesh invite{{end}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}
code,pre{font:14px ui-monospace,monospace;background:#f3f3f3;border-radius:4px}pre{padding:.75rem;overflow-x:auto}
.muted{color:#666}</style></head><body>
{{if .Valid}}
<h1>Join <em>{{.MeshName}}</em></h1>
<p>{{.Inviter}} invited you to the claudemesh mesh <strong>{{.MeshSlug}}</strong>
({{.MemberCount}} member{{if ne .MemberCount 1}}s{{end}}) as <strong>{{.Role}}</strong>.</p>
<p>Run this in a terminal where the <code>claudemesh</code> CLI is installed:</p>
<pre>{{.Command}}</pre>
<p class="muted">The invite expires {{.ExpiresAt}}{{if .UsesLeft}}; {{.UsesLeft}} use{{if ne .UsesLeft 1}}s{{end}} left{{end}}.
Then run <code>claudemesh launch</code> to start Claude Code in the mesh.</p>
{{else}}
<h1>This invite cannot be used</h1>
<p>{{.Reason}}</p>
<p class="muted">Ask the person who invited you for a new link.</p>
{{end}}
</body></html>
`))

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func errorMessage(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Message()
	}
	return err.Error()
}
