package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"

	"claudemesh.dev/db"
	"claudemesh.dev/edge"
)

// Policy says which callers may call a procedure.
type Policy struct {
	// Anonymous callers are allowed (the request carries its own credential).
	Anonymous bool
	// Edge allows the WebSocket edge acting for itself.
	Edge bool
	// Peer allows the edge acting for a session.
	Peer bool
	// Operator allows the operator token.
	Operator bool
	// APIKey is the capability a mesh API key needs; empty refuses API keys.
	APIKey string
	// Member allows members signing the request with their key.
	Member bool
}

// KeyStore finds API keys by the hash of their secret, and members.
type KeyStore interface {
	GetAPIKeyByHash(ctx context.Context, secretHash string) (db.APIKey, error)
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
	GetMember(ctx context.Context, id string) (db.Member, error)
}

// Config configures the interceptor.
type Config struct {
	// Policies maps full procedure names ("/pkg.Service/Method") to who may
	// call them. Procedures without a policy are refused.
	Policies map[string]Policy
	// InternalToken is the secret the in-process edge presents.
	InternalToken string
	// Keys resolves API keys and operator tokens.
	Keys KeyStore
	// Logger logs failures to look keys up. Defaults to discarding.
	Logger *slog.Logger
	// NowFunc is the clock. Defaults to time.Now.
	NowFunc func() time.Time
	// TouchEvery limits how often a key's last use is written. Defaults to
	// one minute.
	TouchEvery time.Duration
	// Skew is how far a member-signed request's timestamp may be from the
	// broker's clock. Defaults to 60 s.
	Skew time.Duration
}

// Interceptor authenticates every RPC and enforces the procedure policies.
type Interceptor struct {
	cfg    Config
	replay *ReplayCache

	mu      sync.Mutex
	touched map[string]time.Time
}

var _ connect.Interceptor = (*Interceptor)(nil)

// NewInterceptor returns an interceptor for cfg.
func NewInterceptor(cfg Config) *Interceptor {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	if cfg.TouchEvery == 0 {
		cfg.TouchEvery = time.Minute
	}
	if cfg.Skew == 0 {
		cfg.Skew = 60 * time.Second
	}
	return &Interceptor{cfg: cfg, replay: NewReplayCache(2 * cfg.Skew), touched: map[string]time.Time{}}
}

// WrapUnary authenticates unary calls.
func (i *Interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		ctx, err := i.authenticate(ctx, req.Spec().Procedure, req.Header())
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient leaves client streams alone.
func (i *Interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler authenticates streaming calls.
func (i *Interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, err := i.authenticate(ctx, conn.Spec().Procedure, conn.RequestHeader())
		if err != nil {
			return err
		}
		return next(ctx, conn)
	}
}

// authenticate resolves the caller and checks the procedure's policy.
func (i *Interceptor) authenticate(ctx context.Context, procedure string, h http.Header) (context.Context, error) {
	policy, ok := i.cfg.Policies[procedure]
	if !ok {
		return ctx, connect.NewError(connect.CodePermissionDenied, fmt.Errorf("%s is not open to any caller", procedure))
	}
	id, err := i.identify(ctx, procedure, h)
	if err != nil {
		return ctx, err
	}
	if !policy.allows(id) {
		if id.Kind == KindAnonymous {
			return ctx, connect.NewError(connect.CodeUnauthenticated, errors.New("missing credentials: send Authorization: Bearer <API key>"))
		}
		return ctx, connect.NewError(connect.CodePermissionDenied, fmt.Errorf("%s may not call %s", id.Kind, procedure))
	}
	return WithIdentity(ctx, id), nil
}

func (p Policy) allows(id Identity) bool {
	switch id.Kind {
	case KindAnonymous:
		return p.Anonymous
	case KindEdge:
		return p.Edge || p.Anonymous
	case KindPeer:
		return p.Peer
	case KindOperator:
		return p.Operator
	case KindAPIKey:
		return p.APIKey != "" && id.Has(p.APIKey)
	case KindMember:
		return p.Member
	}
	return false
}

// identify resolves the caller from the request headers.
func (i *Interceptor) identify(ctx context.Context, procedure string, h http.Header) (Identity, error) {
	if tok := h.Get(edge.HeaderInternalToken); tok != "" {
		if i.cfg.InternalToken == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(i.cfg.InternalToken)) != 1 {
			return Identity{}, connect.NewError(connect.CodeUnauthenticated, errors.New("bad internal token"))
		}
		if p := h.Get(edge.HeaderPresence); p != "" {
			return Identity{Kind: KindPeer, PresenceID: p}, nil
		}
		return Identity{Kind: KindEdge}, nil
	}
	authz := h.Get("Authorization")
	if authz == "" {
		return Identity{Kind: KindAnonymous}, nil
	}
	if credential, ok := strings.CutPrefix(authz, MemberScheme+" "); ok {
		return i.identifyMember(ctx, procedure, credential)
	}
	secret, ok := strings.CutPrefix(authz, "Bearer ")
	if !ok || !strings.HasPrefix(secret, KeyPrefix) {
		return Identity{}, connect.NewError(connect.CodeUnauthenticated, errors.New("authorization must be \"Bearer cm_…\" or \"Claudemesh-Member …\""))
	}
	key, err := i.cfg.Keys.GetAPIKeyByHash(ctx, HashSecret(secret))
	if errors.Is(err, db.ErrNotFound) {
		return Identity{}, connect.NewError(connect.CodeUnauthenticated, errors.New("unknown API key"))
	}
	if err != nil {
		i.cfg.Logger.ErrorContext(ctx, "look up API key", "err", err)
		return Identity{}, connect.NewError(connect.CodeUnavailable, errors.New("cannot check credentials now"))
	}
	now := i.cfg.NowFunc()
	if key.RevokedAt != nil {
		return Identity{}, connect.NewError(connect.CodeUnauthenticated, errors.New("API key revoked"))
	}
	if key.ExpiresAt != nil && !now.Before(*key.ExpiresAt) {
		return Identity{}, connect.NewError(connect.CodeUnauthenticated, errors.New("API key expired"))
	}
	i.touch(ctx, key.ID, now)
	id := Identity{Kind: KindAPIKey, MeshID: key.MeshID, KeyID: key.ID, Capabilities: key.Capabilities}
	if key.MeshID == "" && id.Has(CapOperator) {
		id.Kind = KindOperator
	}
	return id, nil
}

// touch records a key's use, at most once per TouchEvery.
func (i *Interceptor) touch(ctx context.Context, keyID string, now time.Time) {
	i.mu.Lock()
	last, seen := i.touched[keyID]
	due := !seen || now.Sub(last) >= i.cfg.TouchEvery
	if due {
		i.touched[keyID] = now
	}
	i.mu.Unlock()
	if !due {
		return
	}
	if err := i.cfg.Keys.TouchAPIKey(ctx, keyID, now); err != nil {
		i.cfg.Logger.WarnContext(ctx, "record API key use", "key_id", keyID, "err", err)
	}
}
