package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"claudemesh.dev/cli/internal/brokerclient"
	"claudemesh.dev/cli/internal/meshmsg"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

// oneShotRequestTimeout bounds the requests of a one-shot command once it
// is connected.
const oneShotRequestTimeout = 15 * time.Second

func newSendCommand(env *Env) *cobra.Command {
	var (
		meshSlug string
		priority string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "send <to> <message...>",
		Short: "Send a message to a peer, a @group, or everyone",
		Long: `Send a message. <to> is a peer's display name (exact, else a unique part of
it, case-insensitive), a peer's key (64 hex), @group (reaches @group/sub too),
or * (everyone). Direct messages are end-to-end encrypted; group and
broadcast messages are not.

A name reaches only a peer that is online ("claudemesh peers" lists them);
@group and * also reach members who are offline, when they come back.
Priority: now interrupts a busy peer, next (the default) waits until it is
idle, low is for FYIs.`,
		Example: `  claudemesh send alice "the build is green"
  claudemesh send @eng/backend "deploy at 15:00" --priority now
  claudemesh send '*' "lunch?" --mesh dev-team --json`,
		Args: needArgs(2, -1, `send needs a recipient and a message, like: claudemesh send alice "hello"`),
		RunE: func(cmd *cobra.Command, args []string) error {
			text := strings.Join(args[1:], " ")
			if err := checkSendInput(text, priority); err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			return runSend(cmd.Context(), env, meshSlug, args[0], text, priority, asJSON)
		},
	}
	cmd.Flags().StringVar(&meshSlug, "mesh", "", "the mesh (needed when several are joined)")
	cmd.Flags().StringVar(&priority, "priority", "next", "now, next or low")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"messageId","target"}`)
	return cmd
}

// checkSendInput refuses what no broker would take, before connecting.
func checkSendInput(text, priority string) error {
	if strings.TrimSpace(text) == "" {
		return errors.New("the message is empty: write something to send")
	}
	switch priority {
	case "now", "next", "low":
		return nil
	}
	return fmt.Errorf("--priority %q: use now, next or low", priority)
}

func runSend(ctx context.Context, env *Env, meshSlug, to, text, priority string, asJSON bool) error {
	c, m, err := oneShot(ctx, env, meshSlug)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(ctx, oneShotRequestTimeout)
	defer cancel()

	peers, err := otherPeers(ctx, c)
	if err != nil {
		return fmt.Errorf("list the peers of %s: %w", m.Slug, err)
	}
	target, err := meshmsg.Resolve(to, peers)
	if errors.Is(err, meshmsg.ErrNoPeer) {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf(
			"no connected peer named %q in %s: \"claudemesh peers --mesh %s\" shows who is online; @group and * also reach members who are offline",
			to, m.Slug, m.Slug)}
	}
	if err != nil {
		return &ExitError{Code: ExitFailure, Err: err}
	}
	send, err := meshmsg.NewSend(target, text, priority, c.SessionKey.Secret)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	reply, err := c.Request(ctx, send)
	if err != nil {
		return fmt.Errorf("send to %s in %s: %w", target.Name, m.Slug, err)
	}
	ack, ok := reply.Msg.(*edgev1.Ack)
	if !ok {
		return fmt.Errorf("send to %s in %s: unexpected %s", target.Name, m.Slug, reply.Type)
	}
	if !ack.GetQueued() || ack.GetError() != "" {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("the broker refused the message to %s: %s", target.Name, ack.GetError())}
	}
	if asJSON {
		return writeJSON(env.Stdout, map[string]string{"messageId": ack.GetMessageId(), "target": target.Name})
	}
	_, err = fmt.Fprintf(env.Stdout, "✓ Sent to %s (%s)\n", target.Name, ack.GetMessageId()[:min(8, len(ack.GetMessageId()))])
	return err
}

// otherPeers lists the peers of the client's mesh without the client's own
// session.
func otherPeers(ctx context.Context, c *brokerclient.Client) ([]*edgev1.PeerInfo, error) {
	reply, err := c.Request(ctx, &edgev1.ListPeers{})
	if err != nil {
		return nil, err
	}
	list, ok := reply.Msg.(*edgev1.PeersList)
	if !ok {
		return nil, fmt.Errorf("unexpected %s", reply.Type)
	}
	self := c.SessionKey.PublicHex()
	peers := make([]*edgev1.PeerInfo, 0, len(list.GetPeers()))
	for _, p := range list.GetPeers() {
		if p.GetPubkey() != self {
			peers = append(peers, p)
		}
	}
	return peers, nil
}

// needArgs accepts min to max arguments (max -1: no limit) and otherwise
// fails with a usage error that shows how to call the command.
func needArgs(minArgs, maxArgs int, usage string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) < minArgs || (maxArgs >= 0 && len(args) > maxArgs) {
			return &ExitError{Code: ExitUsage, Err: errors.New(usage)}
		}
		return nil
	}
}
