package auth

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"

	"claudemesh.dev/db"
	"claudemesh.dev/services/identity"
)

// MemberScheme is the Authorization scheme of member-signed requests:
//
//	Authorization: Claudemesh-Member <meshId>:<memberId>:<timestampMs>:<signature>
//
// where the signature (128 hex) is the member key's ed25519 signature over
// MemberRequestString. Requests are accepted within the clock skew window,
// once each.
const MemberScheme = "Claudemesh-Member"

// MemberRequestString is what a member signs to call procedure in a mesh:
// "claudemesh-rpc|<procedure>|<meshId>|<memberId>|<timestampMs>".
func MemberRequestString(procedure, meshID, memberID string, timestampMs int64) string {
	return "claudemesh-rpc|" + procedure + "|" + meshID + "|" + memberID + "|" + strconv.FormatInt(timestampMs, 10)
}

// MemberAuthorization returns the Authorization header value for a request
// to procedure signed by a member's key at now.
func MemberAuthorization(k identity.KeyPair, procedure, meshID, memberID string, now time.Time) string {
	ts := now.UnixMilli()
	sig := identity.Sign(k, []byte(MemberRequestString(procedure, meshID, memberID, ts)))
	return fmt.Sprintf("%s %s:%s:%d:%s", MemberScheme, meshID, memberID, ts, sig)
}

// identifyMember checks a member-signed request.
func (i *Interceptor) identifyMember(ctx context.Context, procedure, credential string) (Identity, error) {
	parts := strings.Split(credential, ":")
	if len(parts) != 4 {
		return Identity{}, connect.NewError(connect.CodeUnauthenticated, errors.New("member authorization must be <meshId>:<memberId>:<timestampMs>:<signature>"))
	}
	meshID, memberID, tsText, sig := parts[0], parts[1], parts[2], parts[3]
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return Identity{}, connect.NewError(connect.CodeUnauthenticated, errors.New("member authorization timestamp is not a number"))
	}
	now := i.cfg.NowFunc()
	if skew := now.Sub(time.UnixMilli(ts)); skew > i.cfg.Skew || skew < -i.cfg.Skew {
		return Identity{}, connect.NewError(connect.CodeUnauthenticated, fmt.Errorf("member authorization timestamp is %s off the broker's clock", skew.Round(time.Second)))
	}
	member, err := i.cfg.Keys.GetMember(ctx, memberID)
	if errors.Is(err, db.ErrNotFound) || (err == nil && member.MeshID != meshID) {
		return Identity{}, connect.NewError(connect.CodeUnauthenticated, errors.New("unknown member"))
	}
	if err != nil {
		i.cfg.Logger.ErrorContext(ctx, "look up member", "err", err)
		return Identity{}, connect.NewError(connect.CodeUnavailable, errors.New("cannot check credentials now"))
	}
	if err := identity.Verify(member.Pubkey, []byte(MemberRequestString(procedure, meshID, memberID, ts)), sig); err != nil {
		return Identity{}, connect.NewError(connect.CodeUnauthenticated, errors.New("bad member signature"))
	}
	if member.RevokedAt != nil {
		return Identity{}, connect.NewError(connect.CodePermissionDenied, errors.New("member revoked"))
	}
	if i.replay.Seen(sig, now) {
		return Identity{}, connect.NewError(connect.CodeUnauthenticated, errors.New("member signature replayed"))
	}
	return Identity{Kind: KindMember, MeshID: meshID, MemberID: memberID}, nil
}
