package dbtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
)

func exercisePresences(t *testing.T, newStore NewStoreFunc) {
	t.Helper()

	type testBundle struct {
		store  db.Store
		mesh   db.Mesh
		member db.Member
	}

	setup := func(t *testing.T) *testBundle {
		t.Helper()
		store := newStore(t)
		mesh := createMesh(t, store)
		return &testBundle{store: store, mesh: mesh, member: createMember(t, store, mesh.ID)}
	}

	// requirePresence fails unless the stored presence equals want.
	requirePresence := func(t *testing.T, q db.Queries, want db.Presence) {
		t.Helper()
		got, err := q.GetPresence(t.Context(), want.ID)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}

	t.Run("DisconnectPresence", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		p := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID)
		bystander := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID)

		require.NoError(t, bundle.store.DisconnectPresence(ctx, p.ID, at(time.Minute)))

		p.DisconnectedAt = ptr(at(time.Minute))
		requirePresence(t, bundle.store, p)
		requirePresence(t, bundle.store, bystander)
	})

	t.Run("DisconnectReplica", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		onA1 := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) { p.ReplicaID = "replica-a" })
		onA2 := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) { p.ReplicaID = "replica-a" })
		goneA := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) {
			p.ReplicaID = "replica-a"
			p.DisconnectedAt = ptr(at(-time.Minute))
		})
		onB := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) { p.ReplicaID = "replica-b" })

		ids, err := bundle.store.DisconnectReplica(ctx, "replica-a", at(time.Minute))
		require.NoError(t, err)
		require.ElementsMatch(t, []string{onA1.ID, onA2.ID}, ids)

		onA1.DisconnectedAt = ptr(at(time.Minute))
		onA2.DisconnectedAt = ptr(at(time.Minute))
		requirePresence(t, bundle.store, onA1)
		requirePresence(t, bundle.store, onA2)
		requirePresence(t, bundle.store, goneA) // keeps its first disconnection time
		requirePresence(t, bundle.store, onB)

		ids, err = bundle.store.DisconnectReplica(ctx, "replica-a", at(2*time.Minute))
		require.NoError(t, err)
		require.Empty(t, ids)
	})

	t.Run("DisconnectStalePresences", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		cutoff := at(time.Minute)
		stale1 := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) {
			p.ReplicaID = "replica-a"
			p.HeartbeatAt = at(0)
		})
		stale2 := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) {
			p.ReplicaID = "replica-b"
			p.HeartbeatAt = cutoff.Add(-time.Microsecond)
		})
		onCutoff := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) { p.HeartbeatAt = cutoff })
		fresh := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) { p.HeartbeatAt = at(2 * time.Minute) })
		gone := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) {
			p.HeartbeatAt = at(0)
			p.DisconnectedAt = ptr(at(30 * time.Second))
		})

		got, err := bundle.store.DisconnectStalePresences(ctx, cutoff, at(3*time.Minute))
		require.NoError(t, err)

		// They come back as they now are: disconnected.
		stale1.DisconnectedAt = ptr(at(3 * time.Minute))
		stale2.DisconnectedAt = ptr(at(3 * time.Minute))
		require.ElementsMatch(t, []db.Presence{stale1, stale2}, got)
		requirePresence(t, bundle.store, stale1)
		requirePresence(t, bundle.store, stale2)
		requirePresence(t, bundle.store, onCutoff)
		requirePresence(t, bundle.store, fresh)
		requirePresence(t, bundle.store, gone)

		got, err = bundle.store.DisconnectStalePresences(ctx, cutoff, at(4*time.Minute))
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("ExpireWorkingStatuses", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		cutoff := at(10 * time.Minute)
		withStatus := func(status string, since time.Time) func(*db.Presence) {
			return func(p *db.Presence) {
				p.Status = status
				p.StatusSource = "hook"
				p.StatusUpdatedAt = since
			}
		}
		stuck := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, withStatus("working", at(0)))
		busy := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, withStatus("working", at(11*time.Minute)))
		dnd := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, withStatus("dnd", at(0)))
		idle := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, withStatus("idle", at(0)))
		gone := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, withStatus("working", at(0)), func(p *db.Presence) {
			p.DisconnectedAt = ptr(at(time.Minute))
		})

		ids, err := bundle.store.ExpireWorkingStatuses(ctx, cutoff, at(20*time.Minute))
		require.NoError(t, err)
		require.Equal(t, []string{stuck.ID}, ids)

		stuck.Status = "idle"
		stuck.StatusSource = "inferred"
		stuck.StatusUpdatedAt = at(20 * time.Minute)
		requirePresence(t, bundle.store, stuck)
		requirePresence(t, bundle.store, busy)
		requirePresence(t, bundle.store, dnd)
		requirePresence(t, bundle.store, idle)
		requirePresence(t, bundle.store, gone) // only live presences are expired

		ids, err = bundle.store.ExpireWorkingStatuses(ctx, cutoff, at(21*time.Minute))
		require.NoError(t, err)
		require.Empty(t, ids)
	})

	t.Run("GetPeerState", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		s := testPeerState(bundle.mesh.ID, bundle.member.ID)
		require.NoError(t, bundle.store.UpsertPeerState(ctx, s))
		other := createMember(t, bundle.store, bundle.mesh.ID)

		got, err := bundle.store.GetPeerState(ctx, bundle.mesh.ID, bundle.member.ID)
		require.NoError(t, err)
		require.Equal(t, s, got)

		_, err = bundle.store.GetPeerState(ctx, bundle.mesh.ID, other.ID)
		requireNotFound(t, err)
		_, err = bundle.store.GetPeerState(ctx, db.NewID(), bundle.member.ID)
		requireNotFound(t, err)
	})

	t.Run("GetPresence", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		p := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID)
		createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID)
		requirePresence(t, bundle.store, p)

		// A disconnected presence is still found.
		gone := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) {
			p.DisconnectedAt = ptr(at(time.Minute))
		})
		requirePresence(t, bundle.store, gone)

		_, err := bundle.store.GetPresence(ctx, db.NewID())
		requireNotFound(t, err)
	})

	t.Run("GetPresenceBySessionPubkey", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// A session key reconnects: the latest connection wins, live or not.
		key := db.NewID()
		withKey := func(connected time.Duration, disconnected *time.Time) func(*db.Presence) {
			return func(p *db.Presence) {
				p.SessionPubkey = key
				p.ConnectedAt = at(connected)
				p.DisconnectedAt = disconnected
			}
		}
		createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, withKey(0, ptr(at(time.Minute))))
		latest := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, withKey(2*time.Minute, ptr(at(3*time.Minute))))
		createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, withKey(time.Minute, nil))
		createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) { p.ConnectedAt = at(time.Hour) })

		got, err := bundle.store.GetPresenceBySessionPubkey(ctx, bundle.mesh.ID, key)
		require.NoError(t, err)
		require.Equal(t, latest, got)

		// The same key in another mesh is another presence.
		otherMesh := createMesh(t, bundle.store)
		otherMember := createMember(t, bundle.store, otherMesh.ID)
		elsewhere := createPresence(t, bundle.store, otherMesh.ID, otherMember.ID, withKey(time.Hour, nil))
		got, err = bundle.store.GetPresenceBySessionPubkey(ctx, bundle.mesh.ID, key)
		require.NoError(t, err)
		require.Equal(t, latest, got)
		got, err = bundle.store.GetPresenceBySessionPubkey(ctx, otherMesh.ID, key)
		require.NoError(t, err)
		require.Equal(t, elsewhere, got)

		_, err = bundle.store.GetPresenceBySessionPubkey(ctx, bundle.mesh.ID, db.NewID())
		requireNotFound(t, err)
		_, err = bundle.store.GetPresenceBySessionPubkey(ctx, db.NewID(), key)
		requireNotFound(t, err)
	})

	t.Run("HeartbeatReplica", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		onA1 := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) { p.ReplicaID = "replica-a" })
		onA2 := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) { p.ReplicaID = "replica-a" })
		goneA := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) {
			p.ReplicaID = "replica-a"
			p.DisconnectedAt = ptr(at(time.Second))
		})
		onB := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) { p.ReplicaID = "replica-b" })

		n, err := bundle.store.HeartbeatReplica(ctx, "replica-a", at(time.Minute))
		require.NoError(t, err)
		require.Equal(t, int64(2), n)

		onA1.HeartbeatAt = at(time.Minute)
		onA2.HeartbeatAt = at(time.Minute)
		requirePresence(t, bundle.store, onA1)
		requirePresence(t, bundle.store, onA2)
		requirePresence(t, bundle.store, goneA)
		requirePresence(t, bundle.store, onB)

		n, err = bundle.store.HeartbeatReplica(ctx, "replica-c", at(time.Minute))
		require.NoError(t, err)
		require.Zero(t, n)
	})

	t.Run("ListLivePresences", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		second := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) { p.ConnectedAt = at(2 * time.Minute) })
		first := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) { p.ConnectedAt = at(time.Minute) })
		third := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) { p.ConnectedAt = at(3 * time.Minute) })
		createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) {
			p.ConnectedAt = at(0)
			p.DisconnectedAt = ptr(at(time.Minute))
		})
		later := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) { p.ConnectedAt = at(4 * time.Minute) })
		require.NoError(t, bundle.store.DisconnectPresence(ctx, later.ID, at(5*time.Minute)))

		otherMesh := createMesh(t, bundle.store)
		otherMember := createMember(t, bundle.store, otherMesh.ID)
		elsewhere := createPresence(t, bundle.store, otherMesh.ID, otherMember.ID)

		got, err := bundle.store.ListLivePresences(ctx, bundle.mesh.ID)
		require.NoError(t, err)
		require.Equal(t, []db.Presence{first, second, third}, got)

		got, err = bundle.store.ListLivePresences(ctx, otherMesh.ID)
		require.NoError(t, err)
		require.Equal(t, []db.Presence{elsewhere}, got)

		got, err = bundle.store.ListLivePresences(ctx, db.NewID())
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("ListLiveSessionPresences", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		session := db.NewID()
		a := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) { p.SessionID = session })
		createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) {
			p.SessionID = session
			p.DisconnectedAt = ptr(at(time.Minute))
		})
		createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID) // another session
		otherMesh := createMesh(t, bundle.store)
		otherMember := createMember(t, bundle.store, otherMesh.ID)
		createPresence(t, bundle.store, otherMesh.ID, otherMember.ID, func(p *db.Presence) { p.SessionID = session })

		got, err := bundle.store.ListLiveSessionPresences(ctx, bundle.mesh.ID, session)
		require.NoError(t, err)
		require.Equal(t, []db.Presence{a}, got)

		// Two live presences of one session (a reconnect racing the old
		// connection's close) are both listed.
		b := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) {
			p.SessionID = session
			p.ConnectedAt = at(time.Minute)
		})
		got, err = bundle.store.ListLiveSessionPresences(ctx, bundle.mesh.ID, session)
		require.NoError(t, err)
		require.ElementsMatch(t, []db.Presence{a, b}, got)

		got, err = bundle.store.ListLiveSessionPresences(ctx, bundle.mesh.ID, db.NewID())
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("ListPeerStates", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		got, err := bundle.store.ListPeerStates(ctx, bundle.mesh.ID)
		require.NoError(t, err)
		require.Empty(t, got)

		ids := orderedIDs(3)
		want := make([]db.PeerState, len(ids))
		for _, i := range []int{2, 0, 1} {
			member := createMember(t, bundle.store, bundle.mesh.ID, func(m *db.Member) { m.ID = ids[i] })
			want[i] = testPeerState(bundle.mesh.ID, member.ID, func(s *db.PeerState) {
				s.LastSummary = "summary " + member.ID
				s.UpdatedAt = at(time.Duration(i) * time.Minute)
			})
			require.NoError(t, bundle.store.UpsertPeerState(ctx, want[i]))
		}
		// A member without a peer state, and another mesh's state, are not
		// listed.
		createMember(t, bundle.store, bundle.mesh.ID)
		otherMesh := createMesh(t, bundle.store)
		otherMember := createMember(t, bundle.store, otherMesh.ID)
		require.NoError(t, bundle.store.UpsertPeerState(ctx, testPeerState(otherMesh.ID, otherMember.ID)))

		got, err = bundle.store.ListPeerStates(ctx, bundle.mesh.ID)
		require.NoError(t, err)
		require.Equal(t, want, got)
	})

	t.Run("MissingRowNotFound", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// Writes to a presence that does not exist are ErrNotFound, not silent
		// no-ops ("a missing row is ErrNotFound").
		missing := db.NewID()
		requireNotFound(t, bundle.store.UpdatePresenceStatus(ctx, missing, db.PresenceStatus{Status: "idle", Source: "hook", UpdatedAt: at(0)}))
		requireNotFound(t, bundle.store.UpdatePresenceSummary(ctx, missing, ptr("x")))
		requireNotFound(t, bundle.store.UpdatePresenceGroups(ctx, missing, []db.GroupRole{{Name: "x"}}))
		requireNotFound(t, bundle.store.UpdatePresenceVisible(ctx, missing, false))
		requireNotFound(t, bundle.store.UpdatePresenceProfile(ctx, missing, db.Profile{Title: "x"}))
		requireNotFound(t, bundle.store.UpdatePresenceStats(ctx, missing, db.Stats{Errors: 1}))
		requireNotFound(t, bundle.store.ReattachPresence(ctx, missing, "replica-b", at(0)))
		requireNotFound(t, bundle.store.DisconnectPresence(ctx, missing, at(0)))
	})

	t.Run("PresenceZeroValues", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)

		withNil := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) {
			p.Summary = nil
			p.Groups = nil
			p.Visible = false
			p.Profile = db.Profile{}
			p.Stats = db.Stats{}
			p.PID = 0
			p.Cwd = ""
			p.HookTokenHash = ""
		})
		requirePresence(t, bundle.store, withNil)

		// An empty summary is not a missing one.
		withEmpty := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) {
			p.Summary = ptr("")
			p.Groups = []db.GroupRole{}
			p.Profile = db.Profile{Capabilities: []string{}}
		})
		withEmpty.Groups = nil
		withEmpty.Profile.Capabilities = nil
		requirePresence(t, bundle.store, withEmpty)
	})

	t.Run("ReattachPresence", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		p := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) { p.ReplicaID = "replica-a" })
		bystander := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(p *db.Presence) { p.ReplicaID = "replica-a" })
		require.NoError(t, bundle.store.DisconnectPresence(ctx, p.ID, at(time.Minute)))

		require.NoError(t, bundle.store.ReattachPresence(ctx, p.ID, "replica-b", at(2*time.Minute)))

		p.ReplicaID = "replica-b"
		p.HeartbeatAt = at(2 * time.Minute)
		requirePresence(t, bundle.store, p)
		requirePresence(t, bundle.store, bystander)

		got, err := bundle.store.ListLivePresences(ctx, bundle.mesh.ID)
		require.NoError(t, err)
		require.ElementsMatch(t, []string{p.ID, bystander.ID}, presenceIDs(got))

		// The replica that now serves it heartbeats it.
		n, err := bundle.store.HeartbeatReplica(ctx, "replica-b", at(3*time.Minute))
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
	})

	t.Run("UpdatePresenceGroups", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		p := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID)
		bystander := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID)

		groups := []db.GroupRole{{Name: "ops"}, {Name: "frontend", Role: "owner"}}
		require.NoError(t, bundle.store.UpdatePresenceGroups(ctx, p.ID, groups))
		p.Groups = groups
		requirePresence(t, bundle.store, p)
		requirePresence(t, bundle.store, bystander)

		require.NoError(t, bundle.store.UpdatePresenceGroups(ctx, p.ID, []db.GroupRole{}))
		p.Groups = nil
		requirePresence(t, bundle.store, p)

		require.NoError(t, bundle.store.UpdatePresenceGroups(ctx, p.ID, nil))
		requirePresence(t, bundle.store, p)
	})

	t.Run("UpdatePresenceProfile", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		p := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID)
		bystander := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID)

		profile := db.Profile{Title: "Tester", Capabilities: []string{"e2e"}}
		require.NoError(t, bundle.store.UpdatePresenceProfile(ctx, p.ID, profile))
		p.Profile = profile
		requirePresence(t, bundle.store, p)
		requirePresence(t, bundle.store, bystander)

		require.NoError(t, bundle.store.UpdatePresenceProfile(ctx, p.ID, db.Profile{}))
		p.Profile = db.Profile{}
		requirePresence(t, bundle.store, p)
	})

	t.Run("UpdatePresenceStats", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		p := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID)
		bystander := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID)

		// Large counters survive (no float64 rounding on the way through JSON).
		stats := db.Stats{MessagesIn: 1 << 53, MessagesOut: 1<<53 + 1, ToolCalls: 7, Uptime: 86400, Errors: 0}
		require.NoError(t, bundle.store.UpdatePresenceStats(ctx, p.ID, stats))
		p.Stats = stats
		requirePresence(t, bundle.store, p)
		requirePresence(t, bundle.store, bystander)
	})

	t.Run("UpdatePresenceStatus", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		p := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID)
		bystander := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID)

		s := db.PresenceStatus{Status: "working", Source: "hook", UpdatedAt: at(time.Minute)}
		require.NoError(t, bundle.store.UpdatePresenceStatus(ctx, p.ID, s))
		p.Status = "working"
		p.StatusSource = "hook"
		p.StatusUpdatedAt = at(time.Minute)
		requirePresence(t, bundle.store, p)
		requirePresence(t, bundle.store, bystander)

		s = db.PresenceStatus{Status: "dnd", Source: "manual", UpdatedAt: at(2 * time.Minute)}
		require.NoError(t, bundle.store.UpdatePresenceStatus(ctx, p.ID, s))
		p.Status = "dnd"
		p.StatusSource = "manual"
		p.StatusUpdatedAt = at(2 * time.Minute)
		requirePresence(t, bundle.store, p)
	})

	t.Run("UpdatePresenceSummary", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		p := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID)
		bystander := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID)

		require.NoError(t, bundle.store.UpdatePresenceSummary(ctx, p.ID, ptr("writing tests")))
		p.Summary = ptr("writing tests")
		requirePresence(t, bundle.store, p)
		requirePresence(t, bundle.store, bystander)

		require.NoError(t, bundle.store.UpdatePresenceSummary(ctx, p.ID, nil))
		p.Summary = nil
		requirePresence(t, bundle.store, p)

		require.NoError(t, bundle.store.UpdatePresenceSummary(ctx, p.ID, ptr("")))
		p.Summary = ptr("")
		requirePresence(t, bundle.store, p)
	})

	t.Run("UpdatePresenceVisible", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		p := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID)
		bystander := createPresence(t, bundle.store, bundle.mesh.ID, bundle.member.ID)

		require.NoError(t, bundle.store.UpdatePresenceVisible(ctx, p.ID, false))
		p.Visible = false
		requirePresence(t, bundle.store, p)
		requirePresence(t, bundle.store, bystander)

		require.NoError(t, bundle.store.UpdatePresenceVisible(ctx, p.ID, true))
		p.Visible = true
		requirePresence(t, bundle.store, p)
	})

	t.Run("UpsertPeerState", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		first := testPeerState(bundle.mesh.ID, bundle.member.ID)
		require.NoError(t, bundle.store.UpsertPeerState(ctx, first))
		other := createMember(t, bundle.store, bundle.mesh.ID)
		otherState := testPeerState(bundle.mesh.ID, other.ID)
		require.NoError(t, bundle.store.UpsertPeerState(ctx, otherState))

		// A second write replaces the state.
		second := testPeerState(bundle.mesh.ID, bundle.member.ID, func(s *db.PeerState) {
			s.Groups = []db.GroupRole{{Name: "qa"}}
			s.Profile = db.Profile{Bio: "back again"}
			s.Visible = false
			s.LastSummary = "reviewing"
			s.LastDisplayName = "alice (laptop)"
			s.CumulativeStats = db.Stats{MessagesIn: 11}
			s.LastSeenAt = at(time.Hour)
			s.CreatedAt = at(time.Hour)
			s.UpdatedAt = at(time.Hour)
		})
		require.NoError(t, bundle.store.UpsertPeerState(ctx, second))

		// The row keeps the time it was first written.
		got, err := bundle.store.GetPeerState(ctx, bundle.mesh.ID, bundle.member.ID)
		require.NoError(t, err)
		want := second
		want.CreatedAt = first.CreatedAt
		require.Equal(t, want, got)

		got, err = bundle.store.GetPeerState(ctx, bundle.mesh.ID, other.ID)
		require.NoError(t, err)
		require.Equal(t, otherState, got)

		// Empty groups come back nil.
		empty := testPeerState(bundle.mesh.ID, other.ID, func(s *db.PeerState) {
			s.Groups = []db.GroupRole{}
			s.Profile = db.Profile{}
			s.CumulativeStats = db.Stats{}
			s.LastSummary = ""
		})
		require.NoError(t, bundle.store.UpsertPeerState(ctx, empty))
		got, err = bundle.store.GetPeerState(ctx, bundle.mesh.ID, other.ID)
		require.NoError(t, err)
		empty.Groups = nil
		require.Equal(t, empty, got)
	})
}
