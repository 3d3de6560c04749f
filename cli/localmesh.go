package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"claudemesh.dev/cli/internal/config"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/rpcerr"
)

// localSlug is the slug of the mesh "claudemesh up" creates for the
// sessions of this machine.
const localSlug = "local"

// ensureLocalMesh makes sure this machine has joined a mesh on the broker at
// wsURL that all its Claude Code sessions share: it reuses the one in the
// config when the broker still knows it, else creates one (template
// personal) with the operator token and joins it as admin. It returns what
// it did, for the user.
func ensureLocalMesh(ctx context.Context, env *Env, wsURL, operatorToken string) (string, error) {
	cfg, dir, err := loadConfig(env)
	if err != nil {
		return "", err
	}
	for i := range cfg.Meshes {
		m := &cfg.Meshes[i]
		if !strings.HasPrefix(m.Slug, localSlug) || m.OwnerSecretKey == "" {
			continue
		}
		// Probe this broker, whatever URL the config remembers: the port may
		// have changed since.
		probe := *m
		probe.BrokerURL = wsURL
		client, err := memberMeshClient(&probe, env.NowFunc)
		if err != nil {
			continue
		}
		if _, err := client.GetMesh(ctx, &meshv1.GetMeshRequest{Mesh: m.MeshID}); err != nil {
			continue
		}
		if m.BrokerURL != wsURL {
			m.BrokerURL = wsURL
			if err := config.Save(dir, cfg); err != nil {
				return "", err
			}
		}
		return fmt.Sprintf("Using your local mesh %q (config %s).", m.Slug, dir), nil
	}
	created, err := createLocalMesh(ctx, env, wsURL, operatorToken, cfg)
	if err != nil {
		return "", err
	}
	cfg.Put(*created)
	if err := config.Save(dir, cfg); err != nil {
		return "", err
	}
	return fmt.Sprintf("Created the local mesh %q and joined it as admin (config %s): every Claude Code session on this machine can use it.\nNext: claudemesh peers --mesh %s, or bring in another machine with claudemesh invite --mesh %s",
		created.Slug, dir, created.Slug, created.Slug), nil
}

// createLocalMesh creates "local", or "local-2"… when a mesh with that slug
// exists on the broker without this config holding its keys.
func createLocalMesh(ctx context.Context, env *Env, wsURL, token string, cfg *config.Config) (*config.Mesh, error) {
	for n := 1; n <= 9; n++ {
		slug := localSlug
		if n > 1 {
			slug = fmt.Sprintf("%s-%d", localSlug, n)
		}
		if _, taken := cfg.Find(slug); taken {
			continue // a mesh of another broker: keep its keys
		}
		created, err := createMesh(ctx, wsURL, token, slug, "local", "personal", defaultDisplayName(env))
		if rpcerr.Reason(err) == "mesh_exists" {
			continue
		}
		if err != nil {
			return nil, err
		}
		return created, nil
	}
	return nil, errors.New("could not find a free slug for the local mesh (local … local-9 are taken)")
}
