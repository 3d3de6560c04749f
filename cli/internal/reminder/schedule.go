package reminder

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"claudemesh.dev/cli/internal/meshmsg"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
	"claudemesh.dev/services/identity"
)

// SubtypeReminder marks a scheduled message to oneself: its push carries
// it, and the model treats it as its own reminder rather than a message to
// answer.
const SubtypeReminder = "reminder"

// Target is whom a schedule is for.
type Target struct {
	// To is schedule.to: "" for the caller's own member (all its sessions,
	// later ones too), a member key, "@group", "*", or a display name the
	// broker resolves among the members.
	To string
	// Name is what to call the target in results.
	Name string
	// Self says the schedule is for the caller's own member.
	Self bool
}

// selfWords are the targets that mean the caller.
//
//nolint:gochecknoglobals // read-only set.
var selfWords = map[string]bool{"": true, "self": true, "me": true, "myself": true}

// NeedsPeers reports whether resolving to needs the mesh's peer list: for
// a name, or a key that may be a session's.
func NeedsPeers(to string) bool {
	to = strings.TrimSpace(to)
	return !selfWords[strings.ToLower(to)] && to != "*" && !strings.HasPrefix(to, "@")
}

// Resolve turns a typed target into a Target. self is the caller's member
// key; peers are the mesh's peers without the caller's own session (only
// needed when NeedsPeers). A schedule fires later, when sessions have come
// and gone, so a peer found online is addressed by its member key: the
// fire then reaches that member's sessions of the moment, or waits for the
// next one.
//
//   - "", "self", "me" and the caller's own member key (or a session of it)
//     are the caller's member;
//   - "*", "@all" and "@group" pass through;
//   - a 64-hex key is a member key, or an online session's key, which
//     means its member;
//   - anything else is a display name matched against the online peers as
//     "claudemesh send" does (exact, then a unique part, case-insensitive);
//     a name no online peer has is passed to the broker, which resolves a
//     member's unique display name, offline members included.
func Resolve(to, self string, peers []*edgev1.PeerInfo) (Target, error) {
	to = strings.TrimSpace(to)
	self = strings.ToLower(self)
	if selfWords[strings.ToLower(to)] {
		return Target{Name: "yourself", Self: true}, nil
	}
	t, err := meshmsg.Resolve(to, peers)
	if errors.Is(err, meshmsg.ErrNoPeer) {
		return Target{To: to, Name: to}, nil
	}
	if err != nil {
		return Target{}, err
	}
	if !t.Direct {
		return Target{To: t.Spec, Name: t.Name}, nil
	}
	member := memberOf(t.Spec, peers)
	if member == self {
		return Target{Name: "yourself", Self: true}, nil
	}
	return Target{To: member, Name: t.Name}, nil
}

// memberOf is the member key of an online session's key, else the key.
func memberOf(key string, peers []*edgev1.PeerInfo) string {
	for _, p := range peers {
		if p.GetPubkey() == key && identity.IsPublicHex(strings.ToLower(p.GetMemberPubkey())) {
			return strings.ToLower(p.GetMemberPubkey())
		}
	}
	return key
}

// When is when a schedule fires: set exactly one of In, At and Cron.
type When struct {
	// In fires once, this long from now.
	In time.Duration
	// At fires once, then.
	At time.Time
	// Cron fires on a 5-field cron expression, read in Zone.
	Cron string
	// Zone is the IANA time zone of Cron. Defaults to "UTC".
	Zone string
}

// NewSchedule builds the schedule frame of message to t at w, with now as
// the base of In. A schedule for oneself is a reminder (subtype
// "reminder"); one for others is a message that goes out later, from the
// caller. The broker checks the cron expression.
func NewSchedule(t Target, message string, w When, now time.Time) (*edgev1.Schedule, error) {
	if strings.TrimSpace(message) == "" {
		return nil, errors.New("the message is empty: say what to remind of")
	}
	w.Cron = strings.TrimSpace(w.Cron)
	set := 0
	for _, ok := range []bool{w.In != 0, !w.At.IsZero(), w.Cron != ""} {
		if ok {
			set++
		}
	}
	switch {
	case set == 0:
		return nil, errors.New("say when: a delay, a time, or a cron expression")
	case set > 1:
		return nil, errors.New("give one of a delay, a time, or a cron expression, not several")
	case w.In < 0:
		return nil, fmt.Errorf("the delay %s is negative", w.In)
	}
	s := &edgev1.Schedule{To: t.To, Message: message}
	if t.Self {
		subtype := SubtypeReminder
		s.Subtype = &subtype
	}
	switch {
	case w.Cron != "":
		zone := w.Zone
		if zone == "" {
			zone = "UTC"
		}
		s.Cron, s.Recurring, s.Timezone = &w.Cron, true, &zone
	case w.In != 0:
		s.DeliverAt = now.Add(w.In).UnixMilli()
	default:
		s.DeliverAt = w.At.UnixMilli()
	}
	return s, nil
}
