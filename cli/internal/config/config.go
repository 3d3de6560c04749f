// Package config reads and writes the claudemesh client configuration:
// $CLAUDEMESH_CONFIG_DIR/config.json (default ~/.claudemesh/config.json), in
// the classic shape, written atomically with mode 0600 because it holds
// secret keys.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// FileName is the configuration file in the config directory.
const FileName = "config.json"

// Mesh is one joined mesh: the member's identity in it and where its broker
// is. The JSON names are the classic ones.
type Mesh struct {
	MeshID    string `json:"meshId"`
	MemberID  string `json:"memberId"`
	Slug      string `json:"slug"`
	Name      string `json:"name"`
	Pubkey    string `json:"pubkey"`
	SecretKey string `json:"secretKey"`
	BrokerURL string `json:"brokerUrl"`
	JoinedAt  string `json:"joinedAt"`
	// RootKey is the mesh root key from a v1 invite.
	RootKey       string `json:"rootKey,omitempty"`
	InviteVersion int    `json:"inviteVersion,omitempty"`
	// OwnerPubkey and OwnerSecretKey are the mesh owner key pair, present on
	// the machine that created the mesh: it signs invites. The owner secret
	// never leaves this file.
	OwnerPubkey    string `json:"ownerPubkey,omitempty"`
	OwnerSecretKey string `json:"ownerSecretKey,omitempty"`
	// Role is the member's role when it joined ("admin" or "member").
	Role string `json:"role,omitempty"`
}

// Group is a group a launched session joins, with an optional role.
type Group struct {
	Name string `json:"name"`
	Role string `json:"role,omitempty"`
}

// Config is the whole configuration.
type Config struct {
	Version     int     `json:"version"`
	Meshes      []Mesh  `json:"meshes"`
	DisplayName string  `json:"displayName,omitempty"`
	Role        string  `json:"role,omitempty"`
	Groups      []Group `json:"groups,omitempty"`
	MessageMode string  `json:"messageMode,omitempty"`
	AccountID   string  `json:"accountId,omitempty"`
}

// Dir returns the configuration directory: $CLAUDEMESH_CONFIG_DIR, else
// ~/.claudemesh.
func Dir(getenv func(string) string) (string, error) {
	if d := getenv("CLAUDEMESH_CONFIG_DIR"); d != "" {
		return d, nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the config directory: %w (set CLAUDEMESH_CONFIG_DIR)", err)
		}
		home = h
	}
	return filepath.Join(home, ".claudemesh"), nil
}

// Load reads the configuration in dir. A missing file is an empty
// configuration; a file that is not valid JSON is an error.
func Load(dir string) (*Config, error) {
	path := filepath.Join(dir, FileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{Version: 1}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	cfg := &Config{}
	if err := json.Unmarshal(data, cfg); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON (%w); fix or remove it", path, err)
	}
	if cfg.Version == 0 {
		cfg.Version = 1
	}
	return cfg, nil
}

// Save writes the configuration to dir atomically (a temporary file in the
// same directory, then a rename), with mode 0600 and the directory 0700.
func Save(dir string, cfg *Config) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if cfg.Meshes == nil {
		cfg.Meshes = []Mesh{}
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	return WriteFileAtomic(filepath.Join(dir, FileName), append(data, '\n'), 0o600)
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory that is synced and renamed over path, so readers see the old or
// the new content, never a mix.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := tmp.Chmod(perm); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Find returns the mesh with a slug (or id).
func (c *Config) Find(slugOrID string) (*Mesh, bool) {
	for i := range c.Meshes {
		if c.Meshes[i].Slug == slugOrID || c.Meshes[i].MeshID == slugOrID {
			return &c.Meshes[i], true
		}
	}
	return nil, false
}

// Put adds a mesh, replacing one with the same slug.
func (c *Config) Put(m Mesh) {
	c.Meshes = slices.DeleteFunc(c.Meshes, func(x Mesh) bool { return x.Slug == m.Slug })
	c.Meshes = append(c.Meshes, m)
}

// Remove drops the mesh with a slug and reports whether there was one.
func (c *Config) Remove(slug string) bool {
	n := len(c.Meshes)
	c.Meshes = slices.DeleteFunc(c.Meshes, func(x Mesh) bool { return x.Slug == slug })
	return len(c.Meshes) != n
}

// Pick chooses the mesh a command acts on: the one named, else the only one.
func (c *Config) Pick(slug string) (*Mesh, error) {
	if slug != "" {
		if m, ok := c.Find(slug); ok {
			return m, nil
		}
		return nil, fmt.Errorf("no joined mesh %q; joined: %s", slug, c.slugs())
	}
	switch len(c.Meshes) {
	case 0:
		return nil, errors.New("no meshes joined: run \"claudemesh join <invite link>\", or \"claudemesh up\" for a local mesh")
	case 1:
		return &c.Meshes[0], nil
	}
	return nil, fmt.Errorf("several meshes joined (%s): pick one with --mesh <slug>", c.slugs())
}

func (c *Config) slugs() string {
	s := make([]string, 0, len(c.Meshes))
	for _, m := range c.Meshes {
		s = append(s, m.Slug)
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
