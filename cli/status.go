package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"claudemesh.dev/cli/internal/brokerclient"
	"claudemesh.dev/cli/internal/config"
)

// statusTimeout bounds the connect, hello and one request to each broker.
const statusTimeout = 4 * time.Second

// configStatus is what status says about the config file.
type configStatus struct {
	Path   string `json:"path"`
	Exists bool   `json:"exists"`
	// Mode is the file's permission bits, like "0600".
	Mode string `json:"mode,omitempty"`
	// Private says no other user can read the file (and its secret keys).
	Private bool `json:"private"`
}

// meshStatus is the result of connecting to one mesh's broker.
type meshStatus struct {
	Slug      string `json:"slug"`
	MeshID    string `json:"meshId"`
	BrokerURL string `json:"brokerUrl"`
	OK        bool   `json:"ok"`
	// Reachable says the broker answered (the hello may still be refused).
	Reachable bool `json:"reachable"`
	// HelloAccepted says the broker accepted this member's signed hello.
	HelloAccepted bool `json:"helloAccepted"`
	// DisplayName is the name the broker gave this session.
	DisplayName string `json:"displayName,omitempty"`
	// PeersOnline counts the other sessions connected to the mesh.
	PeersOnline int `json:"peersOnline"`
	// HelloMs is the time to connect and say hello; RoundTripMs that of one
	// request after it.
	HelloMs     int64  `json:"helloMs"`
	RoundTripMs int64  `json:"roundTripMs"`
	Error       string `json:"error,omitempty"`
	// Fix is what to do about the error.
	Fix string `json:"fix,omitempty"`
}

func newStatusCommand(env *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Check that each joined mesh's broker is reachable and accepts you",
		Long: `For each joined mesh: connect to its broker, say hello as the member (a signed
hello, as a session does), count the peers online and time a round trip.
Also shows the config file and whether only you can read it. Exits 1 when
any mesh fails.`,
		Example: "  claudemesh status\n  claudemesh status --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runStatus(cmd.Context(), env, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}

func runStatus(ctx context.Context, env *Env, asJSON bool) error {
	cfg, dir, err := loadConfig(env)
	if err != nil {
		return err
	}
	file := configFileStatus(dir)
	meshes := make([]meshStatus, len(cfg.Meshes))
	var wg sync.WaitGroup
	for i := range cfg.Meshes {
		wg.Go(func() { meshes[i] = probeMesh(ctx, cfg, &cfg.Meshes[i]) })
	}
	wg.Wait()
	failed := 0
	for _, m := range meshes {
		if !m.OK {
			failed++
		}
	}
	if asJSON {
		if err := writeJSON(env.Stdout, struct {
			OK      bool         `json:"ok"`
			Version string       `json:"version"`
			Config  configStatus `json:"config"`
			Meshes  []meshStatus `json:"meshes"`
		}{failed == 0 && len(meshes) > 0, Version(), file, meshes}); err != nil {
			return err
		}
	} else {
		printStatus(env, file, meshes)
	}
	switch {
	case len(meshes) == 0:
		return &ExitError{Code: ExitFailure, Err: errors.New(`no meshes joined: run "claudemesh up" for a local mesh, or "claudemesh join <invite link>"`)}
	case failed > 0:
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d of %d meshes failed", failed, len(meshes))}
	}
	return nil
}

func configFileStatus(dir string) configStatus {
	s := configStatus{Path: filepath.Join(dir, config.FileName)}
	info, err := os.Stat(s.Path)
	if err != nil {
		// Missing, or unreadable: either way there is no mode to show.
		return s
	}
	s.Exists = true
	s.Mode = fmt.Sprintf("%04o", info.Mode().Perm())
	s.Private = info.Mode().Perm()&0o077 == 0
	return s
}

// probeMesh connects to a mesh's broker with a full hello, lists the peers,
// and hangs up.
func probeMesh(ctx context.Context, cfg *config.Config, m *config.Mesh) meshStatus {
	s := meshStatus{Slug: m.Slug, MeshID: m.MeshID, BrokerURL: m.BrokerURL}
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	start := time.Now()
	c, err := brokerclient.Dial(ctx, brokerclient.Options{
		Mesh:         *m,
		DisplayName:  cfg.DisplayName,
		PeerType:     "cli",
		Channel:      "claudemesh-cli",
		HelloTimeout: statusTimeout,
		Ephemeral:    true,
	})
	if err != nil {
		var refused *brokerclient.Error
		if errors.As(err, &refused) {
			s.Reachable = true
			s.Error = "the broker refused this member: " + refused.Message
			s.Fix = fmt.Sprintf("claudemesh leave %s && claudemesh join <new invite link>", m.Slug)
			if refused.Code == "timestamp_skew" {
				s.Fix = "set this machine's clock right (the hello is signed with the time)"
			}
			return s
		}
		s.Error = "cannot reach the broker: " + err.Error()
		s.Fix = "check your network, and ask the mesh's owner whether the broker at " + m.BrokerURL + " is up"
		if listen, ok := localListen(m.BrokerURL); ok {
			s.Fix = "start it: claudemesh up"
			if listen != "" {
				s.Fix += " --listen " + listen
			}
		}
		return s
	}
	defer func() { _ = c.Close() }()
	s.HelloMs = time.Since(start).Milliseconds()
	s.Reachable, s.HelloAccepted = true, true
	s.DisplayName = c.Ack.GetMemberDisplayName()
	start = time.Now()
	peers, err := otherPeers(ctx, c)
	if err != nil {
		s.Error = "hello accepted, but listing the peers failed: " + err.Error()
		s.Fix = "run claudemesh status again; if it keeps failing, see the broker's log"
		return s
	}
	s.RoundTripMs = time.Since(start).Milliseconds()
	s.PeersOnline = len(peers)
	s.OK = true
	return s
}

func printStatus(env *Env, file configStatus, meshes []meshStatus) {
	p := newPainter(env)
	w := env.Stdout
	_, _ = fmt.Fprintf(w, "claudemesh %s\n", Version())
	switch {
	case !file.Exists:
		_, _ = fmt.Fprintf(w, "config: %s (not created yet)\n", file.Path)
	case file.Private:
		_, _ = fmt.Fprintf(w, "config: %s (mode %s %s)\n", file.Path, file.Mode, p.ok("✓"))
	default:
		_, _ = fmt.Fprintf(w, "config: %s (mode %s %s: other users can read your secret keys; fix: chmod 600 %s)\n",
			file.Path, file.Mode, p.bad("✗"), shellWord(file.Path))
	}
	if len(meshes) == 0 {
		_, _ = fmt.Fprintln(w, `No meshes joined: run "claudemesh up" for a local mesh, or "claudemesh join <invite link>".`)
		return
	}
	for _, m := range meshes {
		if m.OK {
			_, _ = fmt.Fprintf(w, "%s %s  %s  hello accepted as %s, %d %s online, hello %d ms, round trip %d ms\n",
				p.ok("✓"), p.bold(m.Slug), m.BrokerURL, m.DisplayName, m.PeersOnline, plural(m.PeersOnline, "peer", "peers"), m.HelloMs, m.RoundTripMs)
			continue
		}
		_, _ = fmt.Fprintf(w, "%s %s  %s  %s\n", p.bad("✗"), p.bold(m.Slug), m.BrokerURL, m.Error)
		_, _ = fmt.Fprintf(w, "    → %s\n", m.Fix)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
