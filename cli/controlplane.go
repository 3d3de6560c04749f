package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"

	"claudemesh.dev/cli/internal/config"
	"claudemesh.dev/gen/pb/claudemesh/mesh/v1/meshv1connect"
	"claudemesh.dev/services/auth"
	"claudemesh.dev/services/identity"
	"claudemesh.dev/services/invite"
)

// httpClient is the client for the broker's HTTP API: bounded, never
// forever.
func httpClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second}
}

// operatorMeshClient is a MeshService client authenticated with the
// operator token.
func operatorMeshClient(brokerURL, token string) (meshv1connect.MeshServiceClient, error) {
	base, err := invite.HTTPBase(brokerURL)
	if err != nil {
		return nil, fmt.Errorf("--broker %q: %w", brokerURL, err)
	}
	bearer := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+token)
			return next(ctx, req)
		}
	})
	return meshv1connect.NewMeshServiceClient(httpClient(), base, connect.WithInterceptors(bearer)), nil
}

// memberMeshClient is a MeshService client whose requests are signed with
// the member key of a joined mesh.
func memberMeshClient(m *config.Mesh, now func() time.Time) (meshv1connect.MeshServiceClient, error) {
	key, err := identity.ParseKeyPair(m.Pubkey, m.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("mesh %s: member key in the config: %w", m.Slug, err)
	}
	base, err := invite.HTTPBase(m.BrokerURL)
	if err != nil {
		return nil, fmt.Errorf("mesh %s: broker URL %q: %w", m.Slug, m.BrokerURL, err)
	}
	// The broker accepts each signature once, so two identical requests in
	// the same millisecond would look like a replay: timestamps strictly
	// increase.
	var (
		mu   sync.Mutex
		last int64
	)
	sign := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			mu.Lock()
			last = max(now().UnixMilli(), last+1)
			at := time.UnixMilli(last)
			mu.Unlock()
			req.Header().Set("Authorization", auth.MemberAuthorization(key, req.Spec().Procedure, m.MeshID, m.MemberID, at))
			return next(ctx, req)
		}
	})
	return meshv1connect.NewMeshServiceClient(httpClient(), base, connect.WithInterceptors(sign)), nil
}

// loadConfig loads the client configuration and returns it with its
// directory.
func loadConfig(env *Env) (*config.Config, string, error) {
	dir, err := config.Dir(env.Getenv)
	if err != nil {
		return nil, "", err
	}
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, "", &ExitError{Code: ExitNoConfig, Err: err}
	}
	return cfg, dir, nil
}

// brokerError turns an RPC error into one that says what failed in the
// broker's words (and what to do when the broker is down), keeping the
// Connect error for errors.As.
func brokerError(what string, err error) error {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return &rpcError{what: what, err: ce}
}

type rpcError struct {
	what string
	err  *connect.Error
}

func (e *rpcError) Error() string {
	if e.err.Code() == connect.CodeUnavailable {
		return fmt.Sprintf("%s: the broker is unreachable (%s); is it running? (claudemesh up)", e.what, e.err.Message())
	}
	return e.what + ": " + e.err.Message()
}

func (e *rpcError) Unwrap() error { return e.err }
