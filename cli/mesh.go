package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"claudemesh.dev/cli/internal/config"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/identity"
	"claudemesh.dev/services/invite"
	"claudemesh.dev/services/templates"
)

func newMeshCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mesh",
		Short: "Create meshes and list their templates",
	}
	cmd.AddCommand(newMeshCreateCommand(env), newMeshTemplatesCommand(env))
	return cmd
}

func newMeshCreateCommand(env *Env) *cobra.Command {
	var (
		brokerURL, token, template, name string
		asJSON                           bool
	)
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a mesh on a broker and join it as its admin",
		Long: `Create a mesh on a broker (with the broker's operator token) and join it as
its first member, with the admin role. The mesh owner key, which signs
invites, is made here and never leaves this machine's config.`,
		Example: "  claudemesh mesh create dev-team --broker ws://127.0.0.1:7900/ws --token $(cat ~/.local/state/claudemesh/operator-token) --template dev-team",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			token = strings.TrimSpace(cmp.Or(token, env.Getenv("CLAUDEMESH_OPERATOR_TOKEN")))
			if brokerURL == "" || token == "" {
				return &ExitError{Code: ExitUsage, Err: errors.New("--broker and --token (or $CLAUDEMESH_OPERATOR_TOKEN) are required: the operator token is in <data-dir>/operator-token on the broker host")}
			}
			slug := slugify(args[0])
			if slug == "" {
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("mesh name %q has no letters or digits", args[0])}
			}
			cfg, dir, err := loadConfig(env)
			if err != nil {
				return err
			}
			if _, taken := cfg.Find(slug); taken {
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("you already joined a mesh %q; leave it first (claudemesh leave %s) or pick another name", slug, slug)}
			}
			created, err := createMesh(cmd.Context(), brokerURL, token, slug, args[0], template, cmp.Or(name, defaultDisplayName(env)))
			if err != nil {
				return err
			}
			cfg.Put(*created)
			if err := config.Save(dir, cfg); err != nil {
				return err
			}
			if asJSON {
				return writeJSON(env.Stdout, map[string]any{
					"meshId": created.MeshID, "slug": created.Slug, "memberId": created.MemberID,
					"template": template, "brokerUrl": created.BrokerURL, "config": dir,
				})
			}
			_, err = fmt.Fprintf(env.Stdout, "Created mesh %s (%s) on %s and joined it as admin.\nSaved to %s.\nNext: invite someone with \"claudemesh invite --mesh %s\".\n",
				created.Slug, created.MeshID, created.BrokerURL, dir, created.Slug)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&brokerURL, "broker", "", "the broker's WebSocket URL, e.g. ws://127.0.0.1:7900/ws (required)")
	f.StringVar(&token, "token", "", "the broker's operator token (default $CLAUDEMESH_OPERATOR_TOKEN)")
	f.StringVar(&template, "template", "", "mesh template: "+strings.Join(templates.Names(), ", "))
	f.StringVar(&name, "name", "", "your display name in the mesh (default: your user name)")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// createMesh makes the owner and member keys, creates the mesh on the
// broker, and returns the config entry for it.
func createMesh(ctx context.Context, brokerURL, token, slug, name, template, displayName string) (*config.Mesh, error) {
	owner, err := identity.Generate()
	if err != nil {
		return nil, err
	}
	member, err := identity.Generate()
	if err != nil {
		return nil, err
	}
	client, err := operatorMeshClient(brokerURL, token)
	if err != nil {
		return nil, &ExitError{Code: ExitUsage, Err: err}
	}
	res, err := client.CreateMesh(ctx, &meshv1.CreateMeshRequest{
		Slug:              slug,
		Name:              name,
		Template:          template,
		OwnerPubkey:       owner.PublicHex(),
		MemberPubkey:      member.PublicHex(),
		MemberDisplayName: displayName,
	})
	if err != nil {
		return nil, brokerError("create mesh", err)
	}
	return &config.Mesh{
		MeshID:         res.GetMesh().GetId(),
		MemberID:       res.GetMember().GetId(),
		Slug:           res.GetMesh().GetSlug(),
		Name:           res.GetMesh().GetName(),
		Pubkey:         member.PublicHex(),
		SecretKey:      member.SecretHex(),
		BrokerURL:      brokerURL,
		JoinedAt:       time.Now().UTC().Format(time.RFC3339Nano),
		RootKey:        invite.NewRootKey(),
		OwnerPubkey:    owner.PublicHex(),
		OwnerSecretKey: owner.SecretHex(),
		Role:           "admin",
	}, nil
}

func newMeshTemplatesCommand(env *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "templates",
		Short:   "List the mesh templates: their groups, roles, state keys and hint",
		Example: "  claudemesh mesh templates\n  claudemesh mesh templates --json",
		Args:    cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			all := templates.All()
			if asJSON {
				return writeJSON(env.Stdout, all)
			}
			for _, t := range all {
				_, _ = fmt.Fprintf(env.Stdout, "%s — %s\n", t.Name, t.Description)
				tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
				for _, g := range t.Groups {
					_, _ = fmt.Fprintf(tw, "  @%s\troles: %s\n", g.Name, strings.Join(g.Roles, ", "))
				}
				for _, k := range t.StateKeys {
					_, _ = fmt.Fprintf(tw, "  state %s\t= %q\n", k.Key, k.Value)
				}
				_ = tw.Flush()
				_, _ = fmt.Fprintf(env.Stdout, "  hint: %s\n\n", t.PromptHint)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slugify turns a name into a slug: lowercase, runs of other characters
// become one dash, no dashes at the ends, at most 63 characters.
func slugify(name string) string {
	s := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}

// defaultDisplayName is the user's name, else the host name.
func defaultDisplayName(env *Env) string {
	if u := env.Getenv("USER"); u != "" {
		return u
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return "me"
}
