package cli

import (
	"bytes"
	"context"
	"errors"
)

// joinInline joins the mesh of an invite link for launch --join, by running
// the join command itself (so the invite is checked and the member saved
// exactly as "claudemesh join" does), and returns the mesh's slug.
func joinInline(ctx context.Context, env *Env, link, name string) (string, error) {
	var out bytes.Buffer
	quiet := *env
	quiet.Stdout = &out
	join := newJoinCommand(&quiet)
	join.SilenceErrors, join.SilenceUsage = true, true
	join.SetOut(&out)
	join.SetErr(env.Stderr)
	args := []string{link, "--json"}
	if name != "" {
		args = append(args, "--name", name)
	}
	join.SetArgs(args)
	if err := join.ExecuteContext(ctx); err != nil {
		return "", err
	}
	var res struct {
		Slug string `json:"slug"`
	}
	if err := jsonUnmarshal(out.Bytes(), &res); err != nil {
		return "", err
	}
	if res.Slug == "" {
		return "", errors.New("the join did not say which mesh it joined")
	}
	return res.Slug, nil
}
