package meshtest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"

	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/gen/pb/claudemesh/mesh/v1/meshv1connect"
	"claudemesh.dev/services/auth"
	"claudemesh.dev/services/identity"
)

// Now is the broker's time (its clock, if the test gave it one).
func (b *Broker) Now() time.Time { return b.now() }

// NewKey returns a fresh ed25519 key pair.
func NewKey(t testing.TB) identity.KeyPair {
	t.Helper()
	return newKey(t)
}

// MeshOptions shape a mesh made by NewMesh.
type MeshOptions struct {
	Slug string
	// Name defaults to the slug.
	Name string
	// Template is a template name, or "" for none.
	Template string
}

// NewMesh creates a mesh with the operator token; its first member (an
// admin) is named "<slug>-admin".
func (b *Broker) NewMesh(t testing.TB, opts MeshOptions) *Mesh {
	t.Helper()
	owner, admin := newKey(t), newKey(t)
	res, err := b.Mesh.CreateMesh(Bearer(t.Context(), b.Operator), &meshv1.CreateMeshRequest{
		Slug:              opts.Slug,
		Name:              opts.Name,
		Template:          opts.Template,
		OwnerPubkey:       owner.PublicHex(),
		MemberPubkey:      admin.PublicHex(),
		MemberDisplayName: opts.Slug + "-admin",
	})
	if err != nil {
		t.Fatalf("create mesh %s: %v", opts.Slug, err)
	}
	return &Mesh{
		ID:    res.GetMesh().GetId(),
		Slug:  opts.Slug,
		Owner: owner,
		Admin: Member{ID: res.GetMember().GetId(), MeshID: res.GetMesh().GetId(), Name: opts.Slug + "-admin", Key: admin},
		b:     b,
	}
}

// Authorization returns a context whose RPCs carry value as their
// Authorization header.
func Authorization(ctx context.Context, value string) context.Context {
	ctx, info := connect.NewClientContext(ctx)
	info.RequestHeader().Set("Authorization", value)
	return ctx
}

// MemberClient returns a MeshService client whose every request member
// signs (auth.MemberAuthorization) at the broker's time. The broker's
// member clients sign at strictly increasing timestamps: a signature covers
// the procedure and the timestamp but not the request, so two calls to one
// procedure within a millisecond would carry the same signature, and the
// broker refuses the second as a replay.
func (b *Broker) MemberClient(member Member) meshv1connect.MeshServiceClient {
	sign := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", b.MemberAuthorization(member, req.Spec().Procedure))
			return next(ctx, req)
		}
	})
	return meshv1connect.NewMeshServiceClient(http.DefaultClient, b.URL, connect.WithInterceptors(sign))
}

// MemberAuthorization returns the Authorization header by which member
// signs a request to procedure, as MemberClient does.
func (b *Broker) MemberAuthorization(member Member, procedure string) string {
	return auth.MemberAuthorization(member.Key, procedure, member.MeshID, member.ID, time.UnixMilli(b.signAt()))
}

// signAt returns the broker's time in milliseconds, or one more than the
// last it returned.
func (b *Broker) signAt() int64 {
	for {
		last := b.signed.Load()
		ts := max(b.Now().UnixMilli(), last+1)
		if b.signed.CompareAndSwap(last, ts) {
			return ts
		}
	}
}

// CreateAPIKey mints an API key for a mesh with the operator token and
// returns its secret.
func (b *Broker) CreateAPIKey(t testing.TB, meshID string, caps ...meshv1.ApiKeyCapability) string {
	t.Helper()
	res, err := b.Mesh.CreateApiKey(Bearer(t.Context(), b.Operator), &meshv1.CreateApiKeyRequest{
		MeshId: meshID, Label: "test key", Capabilities: caps,
	})
	if err != nil {
		t.Fatalf("create API key: %v", err)
	}
	return res.GetSecret()
}
