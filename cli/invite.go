package cli

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"claudemesh.dev/cli/internal/config"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/identity"
	"claudemesh.dev/services/invite"
)

func newInviteCommand(env *Env) *cobra.Command {
	var (
		meshSlug, expires, role, groups string
		maxUses                         int32
		asJSON                          bool
	)
	cmd := &cobra.Command{
		Use:   "invite",
		Short: "Make an invite link to a mesh you own",
		Long: `Sign an invite with the mesh owner key (on the machine that created the mesh),
register it with the broker, and print the link to send. Whoever has the link
joins with "claudemesh join <link>" until it expires or is used up.`,
		Example: "  claudemesh invite\n  claudemesh invite --mesh dev-team --max-uses 5 --expires 2d --groups eng/backend:member",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lifetime, err := parseLifetime(expires)
			if err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			if role != "member" && role != "admin" {
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--role %q: use member or admin", role)}
			}
			preset := &meshv1.InvitePreset{}
			if preset.Groups, err = parseGroups(groups); err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			cfg, _, err := loadConfig(env)
			if err != nil {
				return err
			}
			m, err := cfg.Pick(meshSlug)
			if err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			token, payload, err := signInvite(m, role, env.NowFunc().Add(lifetime))
			if err != nil {
				return err
			}
			client, err := memberMeshClient(m, env.NowFunc)
			if err != nil {
				return err
			}
			res, err := client.CreateInvite(cmd.Context(), &meshv1.CreateInviteRequest{MeshId: m.MeshID, Token: token, MaxUses: maxUses, Preset: preset})
			if err != nil {
				return brokerError("register the invite", err)
			}
			expiresAt := time.Unix(payload.ExpiresAt, 0).UTC()
			if asJSON {
				return writeJSON(env.Stdout, map[string]any{
					"id": res.GetInvite().GetId(), "mesh": m.Slug, "token": token,
					"joinUrl": res.GetJoinUrl(), "icUrl": invite.ICURL(token),
					"role": role, "maxUses": res.GetInvite().GetMaxUses(), "expiresAt": expiresAt.Format(time.RFC3339),
				})
			}
			_, err = fmt.Fprintf(env.Stdout, "Invite to %s (%s, %d use(s), expires %s). Send this link; it opens a page with the command to run:\n\n  %s\n\nThey join with: claudemesh join <link>   (the ic://join/… form works too: --json shows it)\n",
				m.Slug, role, res.GetInvite().GetMaxUses(), expiresAt.Format("2006-01-02 15:04 UTC"), res.GetJoinUrl())
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&meshSlug, "mesh", "", "the mesh (needed when several are joined)")
	f.Int32Var(&maxUses, "max-uses", 1, "how many people may join with the link")
	f.StringVar(&expires, "expires", "7d", "how long the link works: 30m, 12h, 7d")
	f.StringVar(&role, "role", "member", "the joiner's role: member or admin")
	f.StringVar(&groups, "groups", "", "groups the joiner starts in, as group[:role],… (e.g. eng/backend:lead,qa)")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.AddCommand(newInviteListCommand(env), newInviteRevokeCommand(env))
	return cmd
}

// signInvite makes a v1 invite token for a mesh this machine owns.
func signInvite(m *config.Mesh, role string, expires time.Time) (string, invite.Payload, error) {
	if m.OwnerSecretKey == "" {
		return "", invite.Payload{}, fmt.Errorf("mesh %s: this machine does not hold the mesh owner key (only the machine that created the mesh does); ask the owner for an invite", m.Slug)
	}
	owner, err := identity.ParseKeyPair(m.OwnerPubkey, m.OwnerSecretKey)
	if err != nil {
		return "", invite.Payload{}, fmt.Errorf("mesh %s: owner key in the config: %w", m.Slug, err)
	}
	rootKey := m.RootKey
	if rootKey == "" {
		rootKey = invite.NewRootKey()
	}
	p := invite.Sign(invite.Payload{
		V:           1,
		MeshID:      m.MeshID,
		MeshSlug:    m.Slug,
		BrokerURL:   m.BrokerURL,
		ExpiresAt:   expires.Unix(),
		MeshRootKey: rootKey,
		Role:        role,
	}, owner)
	token, err := invite.Encode(p)
	return token, p, err
}

// parseLifetime reads 30m, 12h, 7d (or any Go duration).
func parseLifetime(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil {
			return 0, fmt.Errorf("--expires %q: use 30m, 12h or 7d", s)
		}
		d = time.Duration(n * float64(24*time.Hour))
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("--expires %q: use 30m, 12h or 7d", s)
		}
	}
	if d < time.Minute || d > 365*24*time.Hour {
		return 0, fmt.Errorf("--expires %q: between 1 minute and 365 days", s)
	}
	return d, nil
}

// parseGroups reads group[:role],….
func parseGroups(s string) ([]*meshv1.GroupMembership, error) {
	var out []*meshv1.GroupMembership
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, role, _ := strings.Cut(part, ":")
		name = strings.TrimPrefix(strings.TrimSpace(name), "@")
		if name == "" {
			return nil, fmt.Errorf("group %q has no name", part)
		}
		out = append(out, &meshv1.GroupMembership{Name: name, Role: strings.TrimSpace(role)})
	}
	return out, nil
}

func newInviteListCommand(env *Env) *cobra.Command {
	var (
		meshSlug string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List a mesh's invites (admins)",
		Example: "  claudemesh invite list --mesh dev-team",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := loadConfig(env)
			if err != nil {
				return err
			}
			m, err := cfg.Pick(meshSlug)
			if err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			client, err := memberMeshClient(m, env.NowFunc)
			if err != nil {
				return err
			}
			res, err := client.ListInvites(cmd.Context(), &meshv1.ListInvitesRequest{MeshId: m.MeshID})
			if err != nil {
				return brokerError("list invites", err)
			}
			if asJSON {
				return writeProtoJSON(env.Stdout, res)
			}
			if len(res.GetInvites()) == 0 {
				_, err := fmt.Fprintf(env.Stdout, "No invites for %s. Make one with \"claudemesh invite\".\n", m.Slug)
				return err
			}
			tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
			_, _ = fmt.Fprintln(tw, "ID\tROLE\tUSED\tEXPIRES\tSTATE")
			now := env.NowFunc()
			for _, inv := range res.GetInvites() {
				_, _ = fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\n", inv.GetId()[:8], roleName(inv.GetRole()),
					inv.GetUsedCount(), inv.GetMaxUses(), inv.GetExpireTime().AsTime().Format("2006-01-02 15:04"), inviteState(inv, now))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&meshSlug, "mesh", "", "the mesh (needed when several are joined)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func inviteState(inv *meshv1.Invite, now time.Time) string {
	switch {
	case inv.GetRevokeTime() != nil:
		return "revoked"
	case !now.Before(inv.GetExpireTime().AsTime()):
		return "expired"
	case inv.GetUsedCount() >= inv.GetMaxUses():
		return "used up"
	}
	return "active"
}

func roleName(r meshv1.MemberRole) string {
	if r == meshv1.MemberRole_MEMBER_ROLE_ADMIN {
		return "admin"
	}
	return "member"
}

func newInviteRevokeCommand(env *Env) *cobra.Command {
	var meshSlug string
	cmd := &cobra.Command{
		Use:     "revoke ID",
		Short:   "Revoke an invite by its id (or a unique prefix of it)",
		Example: "  claudemesh invite revoke 3fK9aQ2m",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := loadConfig(env)
			if err != nil {
				return err
			}
			m, err := cfg.Pick(meshSlug)
			if err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			client, err := memberMeshClient(m, env.NowFunc)
			if err != nil {
				return err
			}
			res, err := client.RevokeInvite(cmd.Context(), &meshv1.RevokeInviteRequest{MeshId: m.MeshID, InviteId: args[0]})
			if err != nil {
				return brokerError("revoke the invite", err)
			}
			_, err = fmt.Fprintf(env.Stdout, "Revoked invite %s of %s.\n", res.GetInvite().GetId(), m.Slug)
			return err
		},
	}
	cmd.Flags().StringVar(&meshSlug, "mesh", "", "the mesh (needed when several are joined)")
	return cmd
}
