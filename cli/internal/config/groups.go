package config

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Limits on the groups a launched session names.
const (
	// MaxGroupNameLen is the longest group name, in bytes.
	MaxGroupNameLen = 64
	// MaxGroupRoleLen is the longest role in a group, in bytes (the broker's
	// limit).
	MaxGroupRoleLen = 32
)

// ParseGroups reads a list of groups as written on the command line:
// "name[:role],…", for example "eng:lead, eng/backend, qa:". Names and roles
// are trimmed; a name may hold '/' for hierarchy (eng/backend is inside eng);
// an empty role means none. Empty items are skipped, so "" is no groups. It
// rejects empty names or levels, names with '@' (write eng, not @eng),
// spaces inside a name or role, a name longer than MaxGroupNameLen, a role
// longer than MaxGroupRoleLen, a second ':' and a group named twice.
func ParseGroups(s string) ([]Group, error) {
	var out []Group
	seen := map[string]bool{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, role, _ := strings.Cut(item, ":")
		g := Group{Name: strings.TrimSpace(name), Role: strings.TrimSpace(role)}
		if err := checkGroup(g); err != nil {
			return nil, fmt.Errorf("group %q: %w", item, err)
		}
		if seen[g.Name] {
			return nil, fmt.Errorf("group %q is listed twice", g.Name)
		}
		seen[g.Name] = true
		out = append(out, g)
	}
	return out, nil
}

// checkGroup validates one parsed group.
func checkGroup(g Group) error {
	switch {
	case g.Name == "":
		return errors.New("the name is empty (write name or name:role)")
	case strings.Contains(g.Name, "@"):
		return fmt.Errorf("a group name has no '@' (write %s)", strings.ReplaceAll(g.Name, "@", ""))
	case strings.ContainsFunc(g.Name, unicode.IsSpace):
		return errors.New("a group name has no spaces (use - or _)")
	case len(g.Name) > MaxGroupNameLen:
		return fmt.Errorf("the name is longer than %d characters", MaxGroupNameLen)
	case strings.ContainsFunc(g.Name, unicode.IsControl):
		return errors.New("the name holds a control character")
	case strings.Contains(g.Role, ":"):
		return errors.New("one ':' separates the name from the role (name:role)")
	case strings.ContainsFunc(g.Role, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return errors.New("a role has no spaces (use - or _)")
	case len(g.Role) > MaxGroupRoleLen:
		return fmt.Errorf("the role is longer than %d characters", MaxGroupRoleLen)
	}
	for level := range strings.SplitSeq(g.Name, "/") {
		if level == "" {
			return errors.New("a level of the name is empty (write eng/backend, not eng//backend or /eng)")
		}
	}
	return nil
}

// FormatGroups writes groups the way ParseGroups reads them: "name:role" or
// "name", joined by ",". For groups ParseGroups accepts,
// ParseGroups(FormatGroups(gs)) gives gs back.
func FormatGroups(gs []Group) string {
	parts := make([]string, 0, len(gs))
	for _, g := range gs {
		if g.Role == "" {
			parts = append(parts, g.Name)
			continue
		}
		parts = append(parts, g.Name+":"+g.Role)
	}
	return strings.Join(parts, ",")
}
