package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"claudemesh.dev/cli/internal/config"
	"claudemesh.dev/services/identity"
	"claudemesh.dev/services/invite"
)

func newJoinCommand(env *Env) *cobra.Command {
	var (
		name   string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "join LINK",
		Short: "Join a mesh with an invite link",
		Long: `Join a mesh with an invite: https://HOST/join/<token>, ic://join/<token>, a
localized https://HOST/xx/join/<token>, or the bare token. The invite's
signature and expiry are checked here before the broker is contacted; a new
member key is made for you and kept (mode 0600) in your config.`,
		Example: "  claudemesh join https://mesh.example.com/join/eyJ2IjoxLC...\n  claudemesh join ic://join/eyJ2IjoxLC... --name alice",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			token, err := invite.TokenFromLink(args[0])
			if err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			payload, err := invite.Decode(token)
			if err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			if err := payload.Verify(); err != nil {
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("this invite is not validly signed (%w); ask for a new link", err)}
			}
			if payload.Expired(env.NowFunc()) {
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("this invite expired on %s; ask for a new link", time.Unix(payload.ExpiresAt, 0).UTC().Format("2006-01-02 15:04 UTC"))}
			}
			cfg, dir, err := loadConfig(env)
			if err != nil {
				return err
			}
			key, err := identity.Generate()
			if err != nil {
				return err
			}
			res, err := postJoin(cmd.Context(), payload.BrokerURL, token, key.PublicHex(), cmp.Or(name, defaultDisplayName(env)))
			if err != nil {
				return err
			}
			joined := config.Mesh{
				MeshID:        payload.MeshID,
				MemberID:      res.MemberID,
				Slug:          payload.MeshSlug,
				Name:          cmp.Or(res.MeshName, payload.MeshSlug),
				Pubkey:        key.PublicHex(),
				SecretKey:     key.SecretHex(),
				BrokerURL:     payload.BrokerURL,
				JoinedAt:      env.NowFunc().UTC().Format(time.RFC3339Nano),
				RootKey:       payload.MeshRootKey,
				InviteVersion: 1,
				Role:          payload.Role,
			}
			cfg.Put(joined)
			if err := config.Save(dir, cfg); err != nil {
				return err
			}
			if asJSON {
				return writeJSON(env.Stdout, map[string]any{
					"meshId": joined.MeshID, "slug": joined.Slug, "memberId": joined.MemberID,
					"pubkey": joined.Pubkey, "brokerUrl": joined.BrokerURL, "alreadyMember": res.AlreadyMember, "config": dir,
				})
			}
			_, err = fmt.Fprintf(env.Stdout, "Joined %s as %s (member %s, key %s…).\nBroker: %s\nSaved to %s.\nRestart Claude Code to pick up the new mesh.\n",
				joined.Slug, joined.Role, joined.MemberID, joined.Pubkey[:12], joined.BrokerURL, dir)
			return err
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "your display name in the mesh (default: your user name)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// joinResponse is the classic POST /join answer.
type joinResponse struct {
	OK            bool   `json:"ok"`
	Error         string `json:"error"`
	Message       string `json:"message"`
	MemberID      string `json:"memberId"`
	MeshName      string `json:"meshName"`
	AlreadyMember bool   `json:"alreadyMember"`
}

// postJoin enrolls a key with the broker's classic POST /join.
func postJoin(ctx context.Context, brokerURL, token, pubkey, displayName string) (*joinResponse, error) {
	base, err := invite.HTTPBase(brokerURL)
	if err != nil {
		return nil, fmt.Errorf("the invite's broker URL %q: %w", brokerURL, err)
	}
	body, err := json.Marshal(map[string]any{"invite_token": token, "peer_pubkey": pubkey, "display_name": displayName})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/join", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach the broker at %s: %w", base, err)
	}
	defer func() { _ = res.Body.Close() }()
	var out joinResponse
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("the broker at %s answered %s, not a join result", base, res.Status)
	}
	if !out.OK {
		return nil, fmt.Errorf("the broker refused the invite: %s%s", out.Error, suffix(out.Message))
	}
	return &out, nil
}

func suffix(msg string) string {
	if msg == "" {
		return ""
	}
	return " (" + msg + ")"
}

func newListCommand(env *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the meshes you joined",
		Example: "  claudemesh list\n  claudemesh list --json",
		Args:    cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			cfg, dir, err := loadConfig(env)
			if err != nil {
				return err
			}
			if asJSON {
				out := make([]map[string]any, 0, len(cfg.Meshes))
				for _, m := range cfg.Meshes {
					out = append(out, map[string]any{
						"slug": m.Slug, "name": m.Name, "meshId": m.MeshID, "memberId": m.MemberID,
						"pubkey": m.Pubkey, "brokerUrl": m.BrokerURL, "joinedAt": m.JoinedAt,
						"role": m.Role, "owner": m.OwnerSecretKey != "",
					})
				}
				return writeJSON(env.Stdout, out)
			}
			if len(cfg.Meshes) == 0 {
				_, err := fmt.Fprintln(env.Stdout, `No meshes joined. Run "claudemesh join <invite link>", or "claudemesh up" for a local mesh.`)
				return err
			}
			tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
			_, _ = fmt.Fprintln(tw, "MESH\tMESH ID\tMEMBER ID\tKEY\tBROKER\tJOINED")
			for _, m := range cfg.Meshes {
				_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s…\t%s\t%s\n", m.Slug, m.MeshID, m.MemberID, m.Pubkey[:min(12, len(m.Pubkey))], m.BrokerURL, m.JoinedAt)
			}
			_ = tw.Flush()
			_, err = fmt.Fprintf(env.Stdout, "config: %s\n", dir)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func newLeaveCommand(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "leave SLUG",
		Short: "Forget a mesh: remove it and its keys from your config",
		Long: `Remove a mesh and your member key for it from your config. The broker is not
told; an admin can revoke your member if it should not come back.`,
		Example: "  claudemesh leave dev-team",
		Args:    cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			cfg, dir, err := loadConfig(env)
			if err != nil {
				return err
			}
			if !cfg.Remove(args[0]) {
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("no joined mesh %q", args[0])}
			}
			if err := config.Save(dir, cfg); err != nil {
				return err
			}
			_, err = fmt.Fprintf(env.Stdout, "Left %s (removed from %s).\n", args[0], dir)
			return err
		},
	}
}
