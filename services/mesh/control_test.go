package mesh_test

import (
	"context"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	"claudemesh.dev/db/storetest"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/gen/pb/claudemesh/mesh/v1/meshv1connect"
	"claudemesh.dev/services/meshtest"
)

func TestCreateMesh(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		store := engine.Open(t)
		b := meshtest.Start(t, store)
		existing := b.CreateMesh(t, "existing", "")
		adminKey := b.CreateAPIKey(t, existing.ID, meshv1.ApiKeyCapability_API_KEY_CAPABILITY_ADMIN)

		validRequest := func(slug string) *meshv1.CreateMeshRequest {
			return &meshv1.CreateMeshRequest{
				Slug:         slug,
				OwnerPubkey:  meshtest.NewKey(t).PublicHex(),
				MemberPubkey: meshtest.NewKey(t).PublicHex(),
			}
		}

		t.Run("AdminMemberRefused", func(t *testing.T) {
			t.Parallel()
			_, err := b.MemberClient(existing.Admin).CreateMesh(t.Context(), validRequest("by-member"))
			requireCode(t, err, connect.CodePermissionDenied, "")
		})

		t.Run("AdminAPIKeyRefused", func(t *testing.T) {
			t.Parallel()
			_, err := b.Mesh.CreateMesh(meshtest.Bearer(t.Context(), adminKey), validRequest("by-key"))
			requireCode(t, err, connect.CodePermissionDenied, "")
		})

		t.Run("DuplicateSlug", func(t *testing.T) {
			t.Parallel()
			_, err := b.Mesh.CreateMesh(asOperator(t, b), validRequest("existing"))
			requireCode(t, err, connect.CodeAlreadyExists, "mesh_exists")
		})

		t.Run("FirstMemberIsAdmin", func(t *testing.T) {
			t.Parallel()
			req := validRequest("first-member")
			req.MemberDisplayName = "founder"
			res, err := b.Mesh.CreateMesh(asOperator(t, b), req)
			require.NoError(t, err)
			require.Equal(t, meshv1.MemberRole_MEMBER_ROLE_ADMIN, res.GetMember().GetRole())
			require.Equal(t, "founder", res.GetMember().GetDisplayName())
			require.Equal(t, req.GetMemberPubkey(), res.GetMember().GetPubkey())
			members := listMembers(t, b, res.GetMesh().GetId())
			require.Len(t, members, 1)
			require.Equal(t, res.GetMember().GetId(), members[0].GetId())
			require.Equal(t, meshv1.MemberRole_MEMBER_ROLE_ADMIN, members[0].GetRole())
			require.Equal(t, "first-member", res.GetMesh().GetName(), "the name defaults to the slug")
			require.Equal(t, req.GetOwnerPubkey(), res.GetMesh().GetOwnerPubkey())
		})

		t.Run("InvalidArgument", func(t *testing.T) {
			t.Parallel()
			tests := []struct {
				name   string
				change func(req *meshv1.CreateMeshRequest)
			}{
				{"BadDisplayName", func(req *meshv1.CreateMeshRequest) { req.MemberDisplayName = "bad\nname" }},
				{"BadMemberPubkey", func(req *meshv1.CreateMeshRequest) { req.MemberPubkey = strings.Repeat("z", 64) }},
				{"BadOwnerPubkey", func(req *meshv1.CreateMeshRequest) { req.OwnerPubkey = "abcd" }},
				{"EmptySlug", func(req *meshv1.CreateMeshRequest) { req.Slug = "" }},
				{"MissingOwnerPubkey", func(req *meshv1.CreateMeshRequest) { req.OwnerPubkey = "" }},
				{"SlugTooLong", func(req *meshv1.CreateMeshRequest) { req.Slug = strings.Repeat("a", 64) }},
				{"SlugWithSpace", func(req *meshv1.CreateMeshRequest) { req.Slug = "my mesh" }},
				{"SlugWithUppercase", func(req *meshv1.CreateMeshRequest) { req.Slug = "MyMesh" }},
				{"SlugStartsWithDash", func(req *meshv1.CreateMeshRequest) { req.Slug = "-mesh" }},
				{"UnknownTemplate", func(req *meshv1.CreateMeshRequest) { req.Template = "startup" }},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					req := validRequest("invalid-" + strings.ToLower(tt.name))
					tt.change(req)
					_, err := b.Mesh.CreateMesh(asOperator(t, b), req)
					requireCode(t, err, connect.CodeInvalidArgument, "")
				})
			}
		})

		t.Run("NoCredentials", func(t *testing.T) {
			t.Parallel()
			_, err := b.Mesh.CreateMesh(t.Context(), validRequest("anonymous"))
			requireCode(t, err, connect.CodeUnauthenticated, "")
		})

		t.Run("Templates", func(t *testing.T) {
			t.Parallel()
			// The classic v0.10.6 templates (spec §12.1); initial values are
			// the classic strings, stored as JSON strings.
			tests := []struct {
				template string
				groups   map[string][]string
				state    map[string]string
				hint     string
			}{
				{
					template: "dev-team",
					groups: map[string][]string{
						"frontend": {"lead", "member"}, "backend": {"lead", "member"},
						"devops": {"lead", "member"}, "qa": {"lead", "member"},
					},
					state: map[string]string{"sprint": `"current"`, "deploy-frozen": `"false"`, "pr-queue": `"[]"`},
					hint: "You are part of a dev team. Coordinate with @frontend, @backend, @devops groups. " +
						"Check state keys for sprint status and deploy freezes before making changes.",
				},
				{
					template: "ops-incident",
					groups: map[string][]string{
						"oncall": {"primary", "secondary"}, "comms": {"lead", "scribe"}, "engineering": {"lead", "responder"},
					},
					state: map[string]string{
						"incident-status": `"investigating"`, "severity": `"unknown"`, "commander": `""`, "timeline": `"[]"`,
					},
					hint: "INCIDENT MODE. Priority: now for all messages. Update incident-status state. " +
						"Commander coordinates. Scribe maintains timeline. Engineering fixes.",
				},
				{
					template: "personal",
					groups:   map[string][]string{},
					state:    map[string]string{"focus": `""`, "todos": `"[]"`},
					hint: "Personal workspace. All your Claude Code sessions share this mesh. " +
						"Use state keys to track focus and todos across sessions.",
				},
				{
					template: "research",
					groups: map[string][]string{
						"analysis": {"lead", "analyst"}, "writing": {"lead", "writer", "reviewer"}, "data": {"engineer", "analyst"},
					},
					state: map[string]string{"research-topic": `""`, "phase": `"exploration"`, "findings-count": `"0"`},
					hint: "You are part of a research team. Share findings via remember(), " +
						"use recall() before starting new analysis. Coordinate phases through state keys.",
				},
				{
					template: "simulation",
					groups: map[string][]string{
						"personas": {"admin", "user", "customer"}, "observers": {"monitor", "analyst"}, "control": {"orchestrator"},
					},
					state: map[string]string{
						"clock-speed": `"x1"`, "sim-status": `"paused"`, "tick-count": `"0"`, "scenario": `""`,
					},
					hint: "SIMULATION MODE. Follow the clock-speed state for time multiplier. " +
						"Act according to your persona role and the simulated time. Report actions to @observers.",
				},
			}
			for _, tt := range tests {
				t.Run(tt.template, func(t *testing.T) {
					t.Parallel()
					m := b.CreateMesh(t, "tmpl-"+tt.template, tt.template)
					res, err := b.Mesh.GetMesh(asOperator(t, b), &meshv1.GetMeshRequest{Mesh: m.ID})
					require.NoError(t, err)
					require.Equal(t, tt.template, res.GetMesh().GetTemplate())
					require.Equal(t, tt.hint, res.GetMesh().GetPromptHint())
					groups := map[string][]string{}
					for _, g := range res.GetMesh().GetGroups() {
						groups[g.GetName()] = g.GetRoles()
					}
					require.Equal(t, tt.groups, groups)

					entries, err := store.ListState(t.Context(), m.ID)
					require.NoError(t, err)
					state := map[string]string{}
					for _, e := range entries {
						state[e.Key] = string(e.Value)
						require.Equal(t, "template:"+tt.template, e.UpdatedByName)
					}
					require.Equal(t, tt.state, state)
				})
			}
		})

		t.Run("UnknownAPIKey", func(t *testing.T) {
			t.Parallel()
			_, err := b.Mesh.CreateMesh(meshtest.Bearer(t.Context(), "cm_not-a-key"), validRequest("unknown-key"))
			requireCode(t, err, connect.CodeUnauthenticated, "")
		})
	})
}

func TestGetMesh(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		b := meshtest.Start(t, engine.Open(t))
		m := b.CreateMesh(t, "alpha", "")
		bob := m.AddMember(t, "bob")
		readKey := b.CreateAPIKey(t, m.ID, meshv1.ApiKeyCapability_API_KEY_CAPABILITY_READ)

		tests := []struct {
			name   string
			client meshv1connect.MeshServiceClient
			ctx    func(t *testing.T) context.Context
		}{
			{"Member", b.MemberClient(bob), func(t *testing.T) context.Context { return t.Context() }},
			{"Operator", b.Mesh, func(t *testing.T) context.Context { return asOperator(t, b) }},
			{"ReadAPIKey", b.Mesh, func(t *testing.T) context.Context { return meshtest.Bearer(t.Context(), readKey) }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				for _, ref := range []string{m.ID, m.Slug} {
					res, err := tt.client.GetMesh(tt.ctx(t), &meshv1.GetMeshRequest{Mesh: ref})
					require.NoError(t, err)
					require.Equal(t, m.ID, res.GetMesh().GetId())
					require.Equal(t, "alpha", res.GetMesh().GetSlug())
				}
			})
		}

		t.Run("OwnMeshByDefault", func(t *testing.T) {
			t.Parallel()
			res, err := b.MemberClient(bob).GetMesh(t.Context(), &meshv1.GetMeshRequest{})
			require.NoError(t, err)
			require.Equal(t, m.ID, res.GetMesh().GetId())
		})

		t.Run("UnknownMesh", func(t *testing.T) {
			t.Parallel()
			_, err := b.Mesh.GetMesh(asOperator(t, b), &meshv1.GetMeshRequest{Mesh: "no-such-mesh"})
			requireCode(t, err, connect.CodeNotFound, "")
		})
	})
}

func TestUpdateMeshPolicy(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		b := meshtest.Start(t, engine.Open(t))
		m := b.CreateMesh(t, "policy", "")
		bob := m.AddMember(t, "bob")
		policy := &meshv1.MeshPolicy{SelfEditable: &meshv1.SelfEditable{RoleTag: true}}

		t.Run("AdminMember", func(t *testing.T) {
			t.Parallel()
			res, err := b.MemberClient(m.Admin).UpdateMeshPolicy(t.Context(), &meshv1.UpdateMeshPolicyRequest{MeshId: m.ID, Policy: policy})
			require.NoError(t, err)
			se := res.GetMesh().GetPolicy().GetSelfEditable()
			require.False(t, se.GetDisplayName())
			require.True(t, se.GetRoleTag())
			require.False(t, se.GetGroups())
			require.False(t, se.GetMessageMode())
		})

		t.Run("MissingPolicy", func(t *testing.T) {
			t.Parallel()
			_, err := b.Mesh.UpdateMeshPolicy(asOperator(t, b), &meshv1.UpdateMeshPolicyRequest{MeshId: m.ID})
			requireCode(t, err, connect.CodeInvalidArgument, "")
		})

		t.Run("PlainMemberRefused", func(t *testing.T) {
			t.Parallel()
			_, err := b.MemberClient(bob).UpdateMeshPolicy(t.Context(), &meshv1.UpdateMeshPolicyRequest{MeshId: m.ID, Policy: policy})
			requireCode(t, err, connect.CodePermissionDenied, "")
		})
	})
}
