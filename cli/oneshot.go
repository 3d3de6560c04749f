package cli

import (
	"context"
	"fmt"
	"time"

	"claudemesh.dev/cli/internal/brokerclient"
	"claudemesh.dev/cli/internal/config"
	"claudemesh.dev/edge/frame"
)

// oneShotDialTimeout bounds the connect and hello of a one-shot command.
const oneShotDialTimeout = 10 * time.Second

// oneShot connects to a mesh's broker for one command, as a short-lived
// session of the member.
func oneShot(ctx context.Context, env *Env, meshSlug string) (*brokerclient.Client, *config.Mesh, error) {
	return dialOneShot(ctx, env, meshSlug, nil)
}

// dialOneShot is oneShot with a function that receives, in order, every
// frame that answers no request: pushes (including those the broker sends
// right after the hello, before dialOneShot returns) and error frames that
// answer frames sent without a request id. nil leaves them to
// Client.Events.
func dialOneShot(ctx context.Context, env *Env, meshSlug string, events func(frame.Frame)) (*brokerclient.Client, *config.Mesh, error) {
	cfg, _, err := loadConfig(env)
	if err != nil {
		return nil, nil, err
	}
	m, err := cfg.Pick(meshSlug)
	if err != nil {
		return nil, nil, &ExitError{Code: ExitUsage, Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, oneShotDialTimeout)
	defer cancel()
	c, err := brokerclient.Dial(ctx, brokerclient.Options{
		Mesh: *m,
		// Unless one is configured, the broker names the session after
		// the member (the name it joined with).
		DisplayName: cfg.DisplayName,
		PeerType:    "cli",
		Channel:     "claudemesh-cli",
		Ephemeral:   true,
		EventFunc:   events,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("mesh %s: %w", m.Slug, err)
	}
	return c, m, nil
}
