package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"claudemesh.dev/cli/internal/config"
	"claudemesh.dev/edge/frame"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

func newPeersCommand(env *Env) *cobra.Command {
	var (
		meshSlug string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:     "peers",
		Short:   "List the sessions connected to a mesh",
		Example: "  claudemesh peers\n  claudemesh peers --mesh dev-team --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, m, err := oneShot(cmd.Context(), env, meshSlug)
			if err != nil {
				return err
			}
			defer func() { _ = c.Close() }()
			reply, err := c.Request(cmd.Context(), &edgev1.ListPeers{})
			if err != nil {
				return fmt.Errorf("list peers of %s: %w", m.Slug, err)
			}
			list, ok := reply.Msg.(*edgev1.PeersList)
			if !ok {
				return fmt.Errorf("list peers of %s: unexpected %s", m.Slug, reply.Type)
			}
			// This command's own short-lived session is not a peer worth listing.
			peers := make([]*edgev1.PeerInfo, 0, len(list.GetPeers()))
			for _, p := range list.GetPeers() {
				if p.GetPubkey() != c.SessionKey.PublicHex() {
					peers = append(peers, p)
				}
			}
			if asJSON {
				return writeFrameJSON(env, &edgev1.PeersList{Peers: peers}, "peers")
			}
			return printPeers(env, m, peers)
		},
	}
	cmd.Flags().StringVar(&meshSlug, "mesh", "", "the mesh (needed when several are joined)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the peers as JSON (the classic peers_list entries)")
	return cmd
}

// writeFrameJSON writes one field of a frame, as the classic wire JSON.
func writeFrameJSON(env *Env, msg *edgev1.PeersList, field string) error {
	b, err := frame.Encode("", msg)
	if err != nil {
		return err
	}
	var whole map[string]any
	if err := jsonUnmarshal(b, &whole); err != nil {
		return err
	}
	return writeJSON(env.Stdout, whole[field])
}

func printPeers(env *Env, m *config.Mesh, peers []*edgev1.PeerInfo) error {
	if len(peers) == 0 {
		_, err := fmt.Fprintf(env.Stdout, "No one else is connected to %s.\n", m.Slug)
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "NAME\tSTATUS\tGROUPS\tCWD\tSUMMARY\tKEY")
	for _, p := range peers {
		groups := make([]string, 0, len(p.GetGroups()))
		for _, g := range p.GetGroups() {
			s := "@" + g.GetName()
			if g.GetRole() != "" {
				s += ":" + g.GetRole()
			}
			groups = append(groups, s)
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s…\n", p.GetDisplayName(), p.GetStatus(), strings.Join(groups, " "),
			p.GetCwd(), p.GetSummary(), p.GetPubkey()[:min(12, len(p.GetPubkey()))])
	}
	return tw.Flush()
}
