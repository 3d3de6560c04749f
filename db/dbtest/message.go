package dbtest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
)

func exerciseMessages(t *testing.T, newStore NewStoreFunc) {
	t.Helper()

	type testBundle struct {
		store     db.Store
		mesh      db.Mesh
		sender    db.Member
		recipient db.Member
		// session is the recipient's claiming session key.
		session string
	}

	setup := func(t *testing.T) *testBundle {
		t.Helper()
		store := newStore(t)
		mesh := createMesh(t, store)
		return &testBundle{
			store:     store,
			mesh:      mesh,
			sender:    createMember(t, store, mesh.ID),
			recipient: createMember(t, store, mesh.ID),
			session:   db.NewID(),
		}
	}

	// claimParams is a claim by presence "presence-1" of bundle.recipient at
	// one minute past the base time, with a 30 s lease, any priority.
	claimParams := func(bundle *testBundle, mods ...func(*db.ClaimDeliveriesParams)) db.ClaimDeliveriesParams {
		return build(db.ClaimDeliveriesParams{
			MeshID:        bundle.mesh.ID,
			MemberID:      bundle.recipient.ID,
			SessionPubkey: bundle.session,
			Priorities:    []string{"now", "next", "low"},
			ClaimedBy:     "presence-1",
			Now:           at(time.Minute),
			LeaseUntil:    at(time.Minute + 30*time.Second),
			Limit:         100,
		}, mods)
	}

	// claimed is what a claim with p returns for d: the delivery leased to
	// p.ClaimedBy until p.LeaseUntil and pushed at pushedAt.
	claimed := func(d db.Delivery, m db.Message, p db.ClaimDeliveriesParams, pushedAt time.Time) db.ClaimedDelivery {
		d.ClaimedBy = p.ClaimedBy
		d.ClaimExpiresAt = ptr(p.LeaseUntil)
		d.PushedAt = ptr(pushedAt)
		return db.ClaimedDelivery{Delivery: d, Message: m}
	}

	claimedIDs := func(cds []db.ClaimedDelivery) []string {
		ids := make([]string, len(cds))
		for i, cd := range cds {
			ids[i] = cd.Delivery.MessageID
		}
		return ids
	}

	// requireDelivery fails unless the stored delivery of want's message to
	// want's recipient (member and session key) equals want.
	requireDelivery := func(t *testing.T, q db.Queries, want db.Delivery) {
		t.Helper()
		ds, err := q.ListDeliveries(t.Context(), want.MessageID)
		require.NoError(t, err)
		for _, d := range ds {
			if d.RecipientMemberID == want.RecipientMemberID && d.RecipientSessionPubkey == want.RecipientSessionPubkey {
				require.Equal(t, want, d)
				return
			}
		}
		require.Failf(t, "delivery not found", "message %s, recipient %s, session %q",
			want.MessageID, want.RecipientMemberID, want.RecipientSessionPubkey)
	}

	// insertDeliveries inserts m and the deliveries ds of it as given.
	insertDeliveries := func(t *testing.T, q db.Queries, m db.Message, ds ...db.Delivery) []db.Delivery {
		t.Helper()
		require.NoError(t, q.InsertMessages(t.Context(), []db.Message{m}))
		require.NoError(t, q.InsertDeliveries(t.Context(), ds))
		return ds
	}

	// claimedForAcks sends m1 to the recipient's member and session and to
	// another member, and m2 to the recipient's member, then claims them:
	// presence p the recipient's three rows, pOther the other member's.
	claimedForAcks := func(t *testing.T, bundle *testBundle) (m1, m2 db.Message, ds1, ds2 []db.Delivery, p, pOther db.ClaimDeliveriesParams) {
		t.Helper()
		ctx := t.Context()
		other := createMember(t, bundle.store, bundle.mesh.ID)
		m1 = testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) { m.CreatedAt = at(0) })
		m2 = testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) { m.CreatedAt = at(time.Second) })
		ds1 = insertDeliveries(t, bundle.store, m1,
			testDelivery(m1, bundle.recipient.ID),
			testDelivery(m1, bundle.recipient.ID, func(d *db.Delivery) { d.RecipientSessionPubkey = bundle.session }),
			testDelivery(m1, other.ID),
		)
		ds2 = sendMessage(t, bundle.store, m2, bundle.recipient.ID)
		p = claimParams(bundle)
		got, err := bundle.store.ClaimDeliveries(ctx, p)
		require.NoError(t, err)
		require.Len(t, got, 3)
		pOther = claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.MemberID = other.ID
			p.ClaimedBy = "presence-other"
		})
		got, err = bundle.store.ClaimDeliveries(ctx, pOther)
		require.NoError(t, err)
		require.Len(t, got, 1)
		return m1, m2, ds1, ds2, p, pOther
	}

	t.Run("AckDeliveries", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m1, m2, ds1, ds2, p, pOther := claimedForAcks(t, bundle)
		// Sent after the claim: unclaimed.
		m3 := testMessage(bundle.mesh.ID, bundle.sender.ID)
		ds3 := sendMessage(t, bundle.store, m3, bundle.recipient.ID)

		// Only the rows presence-1 claimed are acked: both of m1's rows to the
		// recipient, not the other member's; unknown ids and the unclaimed
		// row are ignored.
		n, err := bundle.store.AckDeliveries(ctx, p.ClaimedBy, []string{m1.ID, m3.ID, db.NewID(), m2.ID}, at(2*time.Minute))
		require.NoError(t, err)
		require.Equal(t, int64(3), n)

		ackedAt := func(d db.Delivery, p db.ClaimDeliveriesParams, when time.Time) db.Delivery {
			d = claimed(d, db.Message{}, p, p.Now).Delivery
			d.AckedAt = ptr(when)
			return d
		}
		requireDelivery(t, bundle.store, ackedAt(ds1[0], p, at(2*time.Minute)))
		requireDelivery(t, bundle.store, ackedAt(ds1[1], p, at(2*time.Minute)))
		requireDelivery(t, bundle.store, ackedAt(ds2[0], p, at(2*time.Minute)))
		requireDelivery(t, bundle.store, claimed(ds1[2], m1, pOther, pOther.Now).Delivery)
		requireDelivery(t, bundle.store, ds3[0])

		// Acking again acks nothing and keeps the first time.
		n, err = bundle.store.AckDeliveries(ctx, p.ClaimedBy, []string{m1.ID, m2.ID}, at(3*time.Minute))
		require.NoError(t, err)
		require.Zero(t, n)
		requireDelivery(t, bundle.store, ackedAt(ds1[0], p, at(2*time.Minute)))

		// Another presence acks its own row only.
		n, err = bundle.store.AckDeliveries(ctx, pOther.ClaimedBy, []string{m1.ID, m2.ID, m3.ID}, at(4*time.Minute))
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
		requireDelivery(t, bundle.store, ackedAt(ds1[2], pOther, at(4*time.Minute)))

		// No ids, or no claimer (unclaimed rows have none), ack nothing.
		for _, ids := range [][]string{nil, {}} {
			n, err = bundle.store.AckDeliveries(ctx, p.ClaimedBy, ids, at(5*time.Minute))
			require.NoError(t, err)
			require.Zero(t, n)
		}
		n, err = bundle.store.AckDeliveries(ctx, "", []string{m3.ID}, at(5*time.Minute))
		require.NoError(t, err)
		require.Zero(t, n)
		requireDelivery(t, bundle.store, ds3[0])

		// Inside a transaction too.
		require.NoError(t, bundle.store.InTx(ctx, func(q db.Queries) error {
			got, err := q.ClaimDeliveries(ctx, claimParams(bundle, func(p *db.ClaimDeliveriesParams) { p.ClaimedBy = "presence-2" }))
			require.NoError(t, err)
			require.Len(t, got, 1)
			n, err := q.AckDeliveries(ctx, "presence-2", []string{m3.ID}, at(6*time.Minute))
			require.NoError(t, err)
			require.Equal(t, int64(1), n)
			return nil
		}))
		pending, err := bundle.store.CountPendingDeliveries(ctx)
		require.NoError(t, err)
		require.Zero(t, pending)
	})

	t.Run("AckDeliveriesBatch", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m1, m2, ds1, ds2, p, pOther := claimedForAcks(t, bundle)

		// Each ack counts its own presence's rows; a row two acks name
		// counts for the first; unknown ids and the empty claimer count
		// nothing.
		var counts []int64
		require.NoError(t, bundle.store.InTx(ctx, func(q db.Queries) error {
			var err error
			counts, err = q.AckDeliveriesBatch(ctx, []db.Ack{
				{ClaimedBy: p.ClaimedBy, MessageIDs: []string{m1.ID, db.NewID()}, At: at(2 * time.Minute)},
				{ClaimedBy: pOther.ClaimedBy, MessageIDs: []string{m1.ID, m2.ID}, At: at(3 * time.Minute)},
				{ClaimedBy: p.ClaimedBy, MessageIDs: []string{m1.ID, m2.ID}, At: at(4 * time.Minute)},
				{ClaimedBy: "", MessageIDs: []string{m2.ID}, At: at(5 * time.Minute)},
				{ClaimedBy: p.ClaimedBy, At: at(5 * time.Minute)},
			})
			return err
		}))
		require.Equal(t, []int64{2, 1, 1, 0, 0}, counts)
		ackedAt := func(d db.Delivery, p db.ClaimDeliveriesParams, when time.Time) db.Delivery {
			d = claimed(d, db.Message{}, p, p.Now).Delivery
			d.AckedAt = ptr(when)
			return d
		}
		requireDelivery(t, bundle.store, ackedAt(ds1[0], p, at(2*time.Minute)))
		requireDelivery(t, bundle.store, ackedAt(ds1[1], p, at(2*time.Minute)))
		requireDelivery(t, bundle.store, ackedAt(ds1[2], pOther, at(3*time.Minute)))
		requireDelivery(t, bundle.store, ackedAt(ds2[0], p, at(4*time.Minute)))

		// Acking again acks nothing; an empty batch runs nothing.
		counts, err := bundle.store.AckDeliveriesBatch(ctx, []db.Ack{{ClaimedBy: p.ClaimedBy, MessageIDs: []string{m1.ID, m2.ID}, At: at(6 * time.Minute)}})
		require.NoError(t, err)
		require.Equal(t, []int64{0}, counts)
		counts, err = bundle.store.AckDeliveriesBatch(ctx, nil)
		require.NoError(t, err)
		require.Empty(t, counts)
	})

	t.Run("LeaveSessionDeliveries", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()
		r, sess, other := bundle.recipient.ID, bundle.session, db.NewID()
		toSession := func(key string) func(*db.Delivery) {
			return func(d *db.Delivery) { d.RecipientSessionPubkey = key }
		}
		target := func(spec string) func(*db.Message) { return func(m *db.Message) { m.TargetSpec = spec } }

		group := testMessage(bundle.mesh.ID, bundle.sender.ID, target("@eng/backend"))
		broadcast := testMessage(bundle.mesh.ID, bundle.sender.ID, target("*"))
		twice := testMessage(bundle.mesh.ID, bundle.sender.ID, target("@all"))
		direct := testMessage(bundle.mesh.ID, bundle.sender.ID, target(sess))
		acked := testMessage(bundle.mesh.ID, bundle.sender.ID, target("@eng"))
		dGroup := insertDeliveries(t, bundle.store, group, testDelivery(group, r, toSession(sess)))
		insertDeliveries(t, bundle.store, broadcast, testDelivery(broadcast, r, toSession(sess)))
		dTwice := insertDeliveries(t, bundle.store, twice, testDelivery(twice, r, toSession(sess)), testDelivery(twice, r, toSession(other)))
		dDirect := insertDeliveries(t, bundle.store, direct, testDelivery(direct, r, toSession(sess)))
		dAcked := insertDeliveries(t, bundle.store, acked, testDelivery(acked, r, toSession(sess), func(d *db.Delivery) {
			d.ClaimedBy, d.PushedAt, d.AckedAt = "presence-1", ptr(at(time.Second)), ptr(at(2*time.Second))
		}))
		// The group message was pushed to the session, which never acked.
		p := claimParams(bundle)
		got, err := bundle.store.ClaimDeliveries(ctx, p)
		require.NoError(t, err)
		require.Len(t, got, 4)

		n, err := bundle.store.LeaveSessionDeliveries(ctx, bundle.mesh.ID, r, sess)
		require.NoError(t, err)
		require.Equal(t, int64(2), n, "the group and broadcast rows move")

		// Moved: to the member, unclaimed, pushed time kept.
		moved := claimed(dGroup[0], group, p, p.Now).Delivery
		moved.RecipientSessionPubkey, moved.ClaimedBy, moved.ClaimExpiresAt = "", "", nil
		requireDelivery(t, bundle.store, moved)
		rows, err := bundle.store.ListDeliveries(ctx, broadcast.ID)
		require.NoError(t, err)
		require.Len(t, rows, 1)
		require.Empty(t, rows[0].RecipientSessionPubkey)
		// The copy the member has another row of is gone.
		rows, err = bundle.store.ListDeliveries(ctx, twice.ID)
		require.NoError(t, err)
		require.Equal(t, []db.Delivery{dTwice[1]}, rows)
		// A direct message stays sealed to its session; an acked row stays.
		requireDelivery(t, bundle.store, claimed(dDirect[0], direct, p, p.Now).Delivery)
		requireDelivery(t, bundle.store, dAcked[0])

		// The member's next session claims the moved rows.
		next := claimParams(bundle, func(p *db.ClaimDeliveriesParams) { p.SessionPubkey, p.ClaimedBy = db.NewID(), "presence-2" })
		got, err = bundle.store.ClaimDeliveries(ctx, next)
		require.NoError(t, err)
		require.ElementsMatch(t, []string{group.ID, broadcast.ID}, claimedIDs(got))

		// Nothing more to move; no session key moves nothing.
		n, err = bundle.store.LeaveSessionDeliveries(ctx, bundle.mesh.ID, r, sess)
		require.NoError(t, err)
		require.Zero(t, n)
		n, err = bundle.store.LeaveSessionDeliveries(ctx, bundle.mesh.ID, r, "")
		require.NoError(t, err)
		require.Zero(t, n)
	})

	t.Run("ClaimDeliveries", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m1 := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) { m.CreatedAt = at(0) })
		m2 := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) { m.CreatedAt = at(time.Second) })
		ds1 := sendMessage(t, bundle.store, m1, bundle.recipient.ID)
		ds2 := sendMessage(t, bundle.store, m2, bundle.recipient.ID)

		p := claimParams(bundle)
		got, err := bundle.store.ClaimDeliveries(ctx, p)
		require.NoError(t, err)
		want := []db.ClaimedDelivery{
			claimed(ds1[0], m1, p, p.Now),
			claimed(ds2[0], m2, p, p.Now),
		}
		require.Equal(t, want, got)

		// The claim is stored.
		requireDelivery(t, bundle.store, want[0].Delivery)
		requireDelivery(t, bundle.store, want[1].Delivery)

		// Nothing is left for another presence.
		got, err = bundle.store.ClaimDeliveries(ctx, claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.ClaimedBy = "presence-2"
		}))
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("ClaimDeliveriesAcked", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		claimedThenAcked := testMessage(bundle.mesh.ID, bundle.sender.ID)
		sendMessage(t, bundle.store, claimedThenAcked, bundle.recipient.ID)
		p := claimParams(bundle)
		_, err := bundle.store.ClaimDeliveries(ctx, p)
		require.NoError(t, err)
		n, err := bundle.store.AckDeliveries(ctx, p.ClaimedBy, []string{claimedThenAcked.ID}, at(time.Minute))
		require.NoError(t, err)
		require.Equal(t, int64(1), n)

		// Inserted acked and never claimed.
		ackedUnclaimed := testMessage(bundle.mesh.ID, bundle.sender.ID)
		insertDeliveries(t, bundle.store, ackedUnclaimed, testDelivery(ackedUnclaimed, bundle.recipient.ID, func(d *db.Delivery) {
			d.AckedAt = ptr(at(time.Minute))
		}))

		// Long after the lease lapsed, by the same presence or another one.
		for _, by := range []string{"presence-1", "presence-2"} {
			got, err := bundle.store.ClaimDeliveries(ctx, claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
				p.ClaimedBy = by
				p.Now = at(time.Hour)
				p.LeaseUntil = at(time.Hour + 30*time.Second)
			}))
			require.NoError(t, err)
			require.Empty(t, got)
		}
	})

	t.Run("ClaimDeliveriesConcurrent", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		const rows = 60
		want := make([]string, 0, rows)
		require.NoError(t, bundle.store.InTx(ctx, func(q db.Queries) error {
			for i := range rows {
				m := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) {
					m.CreatedAt = at(time.Duration(i) * time.Millisecond)
				})
				sendMessage(t, q, m, bundle.recipient.ID)
				want = append(want, m.ID)
			}
			return nil
		}))

		// Six claimers race; each claims a few rows at a time, under a new
		// claimer name per round (so whether one claimer may re-claim its own
		// rows does not matter), until nothing is left.
		const (
			workers   = 6
			maxRounds = rows + 1
		)
		type result struct {
			ids []string
			err error
		}
		results := make([]result, workers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				<-start
				for round := range maxRounds {
					got, err := bundle.store.ClaimDeliveries(ctx, claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
						p.ClaimedBy = fmt.Sprintf("presence-%d-%d", w, round)
						p.Limit = 4
					}))
					if err != nil {
						results[w].err = err
						return
					}
					if len(got) == 0 {
						return
					}
					results[w].ids = append(results[w].ids, claimedIDs(got)...)
				}
			})
		}
		close(start)
		wg.Wait()

		seen := make(map[string]int, rows)
		var all []string
		for w, r := range results {
			require.NoError(t, r.err, "claimer %d", w)
			for _, id := range r.ids {
				require.NotContains(t, seen, id, "claimed by claimers %d and %d", seen[id], w)
				seen[id] = w
				all = append(all, id)
			}
		}
		require.ElementsMatch(t, want, all)

		got, err := bundle.store.ClaimDeliveries(ctx, claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.ClaimedBy = "presence-late"
		}))
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("ClaimDeliveriesExpired", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		expired := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) {
			m.CreatedAt = at(0)
			m.ExpiresAt = at(30 * time.Second)
		})
		live := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) {
			m.CreatedAt = at(time.Second)
			m.ExpiresAt = at(2 * time.Minute)
		})
		expiredDs := sendMessage(t, bundle.store, expired, bundle.recipient.ID)
		liveDs := sendMessage(t, bundle.store, live, bundle.recipient.ID)

		// Past its expiry but not yet marked expired: still not claimed.
		p := claimParams(bundle)
		got, err := bundle.store.ClaimDeliveries(ctx, p)
		require.NoError(t, err)
		require.Equal(t, []db.ClaimedDelivery{claimed(liveDs[0], live, p, p.Now)}, got)
		requireDelivery(t, bundle.store, expiredDs[0])

		// Marked expired: not claimed either, whatever the time.
		n, err := bundle.store.ExpireDeliveries(ctx, at(time.Minute))
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
		got, err = bundle.store.ClaimDeliveries(ctx, claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.ClaimedBy = "presence-2"
			p.Now = at(10 * time.Second)
			p.LeaseUntil = at(40 * time.Second)
		}))
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("ClaimDeliveriesExpiryInstant", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// At the very instant of its expiry a delivery is expired, for claims
		// and for ExpireDeliveries alike, so no row is both pushed and
		// reported expired.
		m := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) { m.ExpiresAt = at(time.Minute) })
		ds := sendMessage(t, bundle.store, m, bundle.recipient.ID)

		p := claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.Now = m.ExpiresAt.Add(-time.Microsecond)
			p.LeaseUntil = m.ExpiresAt.Add(time.Minute)
		})
		got, err := bundle.store.ClaimDeliveries(ctx, p)
		require.NoError(t, err)
		require.Len(t, got, 1)
		n, err := bundle.store.ReleaseClaims(ctx, p.ClaimedBy)
		require.NoError(t, err)
		require.Equal(t, int64(1), n)

		got, err = bundle.store.ClaimDeliveries(ctx, claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.Now = m.ExpiresAt
			p.LeaseUntil = m.ExpiresAt.Add(time.Minute)
		}))
		require.NoError(t, err)
		require.Empty(t, got)

		n, err = bundle.store.ExpireDeliveries(ctx, m.ExpiresAt.Add(-time.Microsecond))
		require.NoError(t, err)
		require.Zero(t, n)
		n, err = bundle.store.ExpireDeliveries(ctx, m.ExpiresAt)
		require.NoError(t, err)
		require.Equal(t, int64(1), n)

		want := ds[0]
		want.PushedAt = ptr(p.Now)
		want.ExpiredAt = ptr(m.ExpiresAt)
		requireDelivery(t, bundle.store, want)
	})

	t.Run("ClaimDeliveriesLease", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m := testMessage(bundle.mesh.ID, bundle.sender.ID)
		ds := sendMessage(t, bundle.store, m, bundle.recipient.ID)

		p1 := claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.ClaimedBy = "presence-1"
			p.Now = at(time.Minute)
			p.LeaseUntil = at(time.Minute + 30*time.Second)
		})
		got, err := bundle.store.ClaimDeliveries(ctx, p1)
		require.NoError(t, err)
		require.Equal(t, []db.ClaimedDelivery{claimed(ds[0], m, p1, p1.Now)}, got)

		// While the lease holds, another presence gets nothing.
		got, err = bundle.store.ClaimDeliveries(ctx, claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.ClaimedBy = "presence-2"
			p.Now = at(time.Minute + 20*time.Second)
			p.LeaseUntil = at(time.Minute + 50*time.Second)
		}))
		require.NoError(t, err)
		require.Empty(t, got)

		// The claim lapses at LeaseUntil: from then on another presence takes
		// the row over, and the row keeps the time it was first pushed.
		p2 := claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.ClaimedBy = "presence-2"
			p.Now = p1.LeaseUntil
			p.LeaseUntil = p1.LeaseUntil.Add(30 * time.Second)
		})
		got, err = bundle.store.ClaimDeliveries(ctx, p2)
		require.NoError(t, err)
		want := claimed(ds[0], m, p2, p1.Now)
		require.Equal(t, []db.ClaimedDelivery{want}, got)
		requireDelivery(t, bundle.store, want.Delivery)

		// And now the first presence is locked out.
		got, err = bundle.store.ClaimDeliveries(ctx, claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.ClaimedBy = "presence-1"
			p.Now = p2.LeaseUntil.Add(-time.Microsecond)
			p.LeaseUntil = p2.LeaseUntil.Add(time.Minute)
		}))
		require.NoError(t, err)
		require.Empty(t, got)

		// Long after, anyone may take it again.
		p3 := claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.ClaimedBy = "presence-3"
			p.Now = at(time.Hour)
			p.LeaseUntil = at(time.Hour + 30*time.Second)
		})
		got, err = bundle.store.ClaimDeliveries(ctx, p3)
		require.NoError(t, err)
		require.Equal(t, []db.ClaimedDelivery{claimed(ds[0], m, p3, p1.Now)}, got)
	})

	t.Run("ClaimDeliveriesSameClaimer", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m := testMessage(bundle.mesh.ID, bundle.sender.ID)
		ds := sendMessage(t, bundle.store, m, bundle.recipient.ID)
		p1 := claimParams(bundle)
		got, err := bundle.store.ClaimDeliveries(ctx, p1)
		require.NoError(t, err)
		require.Len(t, got, 1)

		// The holder does not claim its own row again while the lease runs:
		// the row is in flight, and a second claim would push it twice.
		got, err = bundle.store.ClaimDeliveries(ctx, claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.Now = p1.LeaseUntil.Add(-time.Microsecond)
			p.LeaseUntil = p1.LeaseUntil.Add(time.Minute)
		}))
		require.NoError(t, err)
		require.Empty(t, got)
		requireDelivery(t, bundle.store, claimed(ds[0], m, p1, p1.Now).Delivery)

		// Released, it claims the row again at once (a socket reattached).
		n, err := bundle.store.ReleaseClaims(ctx, p1.ClaimedBy)
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
		p2 := claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.Now = p1.Now.Add(time.Second)
			p.LeaseUntil = p1.LeaseUntil.Add(time.Second)
		})
		got, err = bundle.store.ClaimDeliveries(ctx, p2)
		require.NoError(t, err)
		require.Equal(t, []db.ClaimedDelivery{claimed(ds[0], m, p2, p1.Now)}, got)

		// And once its lease lapsed (no ack came), it claims it again.
		p3 := claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.Now = p2.LeaseUntil
			p.LeaseUntil = p2.LeaseUntil.Add(30 * time.Second)
		})
		got, err = bundle.store.ClaimDeliveries(ctx, p3)
		require.NoError(t, err)
		require.Equal(t, []db.ClaimedDelivery{claimed(ds[0], m, p3, p1.Now)}, got)
	})

	t.Run("ClaimDeliveriesLimit", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		ids := make([]string, 0, 5)
		for i := range 5 {
			m := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) { m.CreatedAt = at(time.Duration(i) * time.Second) })
			sendMessage(t, bundle.store, m, bundle.recipient.ID)
			ids = append(ids, m.ID)
		}

		for i, want := range [][]string{ids[:2], ids[2:4], ids[4:], nil} {
			got, err := bundle.store.ClaimDeliveries(ctx, claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
				p.ClaimedBy = "presence-" + string(rune('a'+i))
				p.Limit = 2
			}))
			require.NoError(t, err)
			require.Equal(t, len(want), len(got), "claim %d", i)
			if len(want) > 0 {
				require.Equal(t, want, claimedIDs(got), "claim %d", i)
			}
		}
	})

	t.Run("ClaimDeliveriesMemberAndSessionRows", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// The broker writes a member row (any session) for a member offline
		// when the message was sent, and a row per session for one online; a
		// message may have both kinds for one member.
		sessionB := db.NewID()
		toSession := func(key string) func(*db.Delivery) {
			return func(d *db.Delivery) { d.RecipientSessionPubkey = key }
		}
		toMember := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) { m.CreatedAt = at(0) })
		toSessions := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) { m.CreatedAt = at(time.Second) })
		toBoth := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) { m.CreatedAt = at(2 * time.Second) })
		toBothLater := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) { m.CreatedAt = at(3 * time.Second) })
		dMember := insertDeliveries(t, bundle.store, toMember, testDelivery(toMember, bundle.recipient.ID))
		dSessions := insertDeliveries(t, bundle.store, toSessions,
			testDelivery(toSessions, bundle.recipient.ID, toSession(bundle.session)),
			testDelivery(toSessions, bundle.recipient.ID, toSession(sessionB)),
		)
		dBoth := insertDeliveries(t, bundle.store, toBoth,
			testDelivery(toBoth, bundle.recipient.ID),
			testDelivery(toBoth, bundle.recipient.ID, toSession(bundle.session)),
		)
		dBothLater := insertDeliveries(t, bundle.store, toBothLater,
			testDelivery(toBothLater, bundle.recipient.ID, toSession(bundle.session)),
			testDelivery(toBothLater, bundle.recipient.ID),
		)

		// The session claims its member's rows and its own, oldest first and,
		// within a message, the member row first. The limit may part a
		// message's two rows: the one left out stays unclaimed.
		p1 := claimParams(bundle, func(p *db.ClaimDeliveriesParams) { p.Limit = 3 })
		got, err := bundle.store.ClaimDeliveries(ctx, p1)
		require.NoError(t, err)
		require.Equal(t, []db.ClaimedDelivery{
			claimed(dMember[0], toMember, p1, p1.Now),
			claimed(dSessions[0], toSessions, p1, p1.Now),
			claimed(dBoth[0], toBoth, p1, p1.Now),
		}, got)
		requireDelivery(t, bundle.store, dBoth[1])
		requireDelivery(t, bundle.store, dSessions[1])

		p2 := claimParams(bundle, func(p *db.ClaimDeliveriesParams) { p.ClaimedBy = "presence-2" })
		got, err = bundle.store.ClaimDeliveries(ctx, p2)
		require.NoError(t, err)
		require.Equal(t, []db.ClaimedDelivery{
			claimed(dBoth[1], toBoth, p2, p2.Now),
			claimed(dBothLater[1], toBothLater, p2, p2.Now),
			claimed(dBothLater[0], toBothLater, p2, p2.Now),
		}, got)

		// The other session finds only its own row.
		pB := claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.SessionPubkey = sessionB
			p.ClaimedBy = "presence-b"
		})
		got, err = bundle.store.ClaimDeliveries(ctx, pB)
		require.NoError(t, err)
		require.Equal(t, []db.ClaimedDelivery{claimed(dSessions[1], toSessions, pB, pB.Now)}, got)
	})

	t.Run("ClaimDeliveriesOrder", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// Rows are claimed by (created_at, id). Two rows share a creation time
		// and differ by id; two more sit in the same second, one of them on
		// the whole second (a time text encoding that drops a zero fraction
		// would sort it after the other).
		ids := orderedIDs(2)
		wholeSecond := time.Date(2026, 11, 28, 12, 0, 1, 0, time.UTC)
		created := []struct {
			id string
			at time.Time
		}{
			{db.NewID(), wholeSecond.Add(500 * time.Millisecond)}, // claimed fifth
			{ids[1], at(0)},              // claimed third
			{db.NewID(), wholeSecond},    // claimed fourth
			{ids[0], at(0)},              // claimed second
			{db.NewID(), at(-time.Hour)}, // claimed first
		}
		messages := make([]db.Message, 0, len(created))
		for _, c := range created {
			m := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) {
				m.ID = c.id
				m.CreatedAt = c.at
			})
			sendMessage(t, bundle.store, m, bundle.recipient.ID)
			messages = append(messages, m)
		}

		got, err := bundle.store.ClaimDeliveries(ctx, claimParams(bundle))
		require.NoError(t, err)
		require.Equal(t, []string{messages[4].ID, messages[3].ID, messages[1].ID, messages[2].ID, messages[0].ID}, claimedIDs(got))
	})

	t.Run("ClaimDeliveriesOtherMembers", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		other := createMember(t, bundle.store, bundle.mesh.ID)
		m := testMessage(bundle.mesh.ID, bundle.sender.ID)
		ds := sendMessage(t, bundle.store, m, bundle.recipient.ID, other.ID)

		p := claimParams(bundle)
		got, err := bundle.store.ClaimDeliveries(ctx, p)
		require.NoError(t, err)
		require.Equal(t, []db.ClaimedDelivery{claimed(ds[0], m, p, p.Now)}, got)
		requireDelivery(t, bundle.store, ds[1])

		// The other member's row is still there for it.
		pOther := claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.MemberID = other.ID
			p.SessionPubkey = db.NewID()
			p.ClaimedBy = "presence-other"
		})
		got, err = bundle.store.ClaimDeliveries(ctx, pOther)
		require.NoError(t, err)
		require.Equal(t, []db.ClaimedDelivery{claimed(ds[1], m, pOther, pOther.Now)}, got)
	})

	t.Run("ClaimDeliveriesPriorities", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		byPriority := map[string]string{}
		for i, prio := range []string{"low", "next", "now"} {
			m := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) {
				m.Priority = prio
				m.CreatedAt = at(time.Duration(i) * time.Second)
			})
			sendMessage(t, bundle.store, m, bundle.recipient.ID)
			byPriority[prio] = m.ID
		}

		claim := func(by string, priorities ...string) []string {
			got, err := bundle.store.ClaimDeliveries(ctx, claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
				p.ClaimedBy = by
				p.Priorities = priorities
			}))
			require.NoError(t, err)
			return claimedIDs(got)
		}

		require.Empty(t, claim("presence-0"))
		got, err := bundle.store.ClaimDeliveries(ctx, claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.ClaimedBy = "presence-0"
			p.Limit = 0
		}))
		require.NoError(t, err)
		require.Empty(t, got)

		require.Equal(t, []string{byPriority["now"]}, claim("presence-1", "now"))
		require.Equal(t, []string{byPriority["next"]}, claim("presence-2", "now", "next"))
		require.Empty(t, claim("presence-3", "now", "next"))
		require.Equal(t, []string{byPriority["low"]}, claim("presence-3", "low", "now"))
	})

	t.Run("ClaimDeliveriesSessionTargeted", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		sessionB := db.NewID()
		anySession := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) { m.CreatedAt = at(0) })
		toA := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) { m.CreatedAt = at(time.Second) })
		toB := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) { m.CreatedAt = at(2 * time.Second) })
		require.NoError(t, bundle.store.InsertMessages(ctx, []db.Message{anySession, toA, toB}))
		dAny := testDelivery(anySession, bundle.recipient.ID)
		dA := testDelivery(toA, bundle.recipient.ID, func(d *db.Delivery) { d.RecipientSessionPubkey = bundle.session })
		dB := testDelivery(toB, bundle.recipient.ID, func(d *db.Delivery) { d.RecipientSessionPubkey = sessionB })
		require.NoError(t, bundle.store.InsertDeliveries(ctx, []db.Delivery{dAny, dA, dB}))

		pA := claimParams(bundle)
		got, err := bundle.store.ClaimDeliveries(ctx, pA)
		require.NoError(t, err)
		require.Equal(t, []db.ClaimedDelivery{
			claimed(dAny, anySession, pA, pA.Now),
			claimed(dA, toA, pA, pA.Now),
		}, got)
		requireDelivery(t, bundle.store, dB)

		pB := claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.SessionPubkey = sessionB
			p.ClaimedBy = "presence-b"
		})
		got, err = bundle.store.ClaimDeliveries(ctx, pB)
		require.NoError(t, err)
		require.Equal(t, []db.ClaimedDelivery{claimed(dB, toB, pB, pB.Now)}, got)
	})

	t.Run("CountPendingDeliveries", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		n, err := bundle.store.CountPendingDeliveries(ctx)
		require.NoError(t, err)
		require.Zero(t, n)

		other := createMember(t, bundle.store, bundle.mesh.ID)
		m1 := testMessage(bundle.mesh.ID, bundle.sender.ID)
		m2 := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) { m.ExpiresAt = at(time.Second) })
		sendMessage(t, bundle.store, m1, bundle.recipient.ID, other.ID)
		sendMessage(t, bundle.store, m2, bundle.recipient.ID)

		n, err = bundle.store.CountPendingDeliveries(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(3), n)

		// Claimed rows are still pending; acked and expired ones are not.
		p := claimParams(bundle)
		_, err = bundle.store.ClaimDeliveries(ctx, p)
		require.NoError(t, err)
		n, err = bundle.store.CountPendingDeliveries(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(3), n)

		_, err = bundle.store.AckDeliveries(ctx, p.ClaimedBy, []string{m1.ID}, at(time.Minute))
		require.NoError(t, err)
		_, err = bundle.store.ExpireDeliveries(ctx, at(time.Minute))
		require.NoError(t, err)
		n, err = bundle.store.CountPendingDeliveries(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
	})

	t.Run("ExpireDeliveries", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		other := createMember(t, bundle.store, bundle.mesh.ID)
		old := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) { m.ExpiresAt = at(time.Minute) })
		oldDs := sendMessage(t, bundle.store, old, bundle.recipient.ID, other.ID)
		fresh := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) { m.ExpiresAt = at(time.Hour) })
		freshDs := sendMessage(t, bundle.store, fresh, bundle.recipient.ID)
		ackedOld := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) { m.ExpiresAt = at(time.Minute) })
		ackedDs := insertDeliveries(t, bundle.store, ackedOld, testDelivery(ackedOld, bundle.recipient.ID, func(d *db.Delivery) {
			d.AckedAt = ptr(at(30 * time.Second))
		}))

		// A claimed but unacked row expires too.
		p := claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.MemberID = other.ID
			p.Now = at(10 * time.Second)
			p.LeaseUntil = at(40 * time.Second)
		})
		_, err := bundle.store.ClaimDeliveries(ctx, p)
		require.NoError(t, err)

		n, err := bundle.store.ExpireDeliveries(ctx, at(2*time.Minute))
		require.NoError(t, err)
		require.Equal(t, int64(2), n)

		oldDs[0].ExpiredAt = ptr(at(2 * time.Minute))
		requireDelivery(t, bundle.store, oldDs[0])
		claimedOld := claimed(oldDs[1], old, p, p.Now).Delivery
		claimedOld.ExpiredAt = ptr(at(2 * time.Minute))
		requireDelivery(t, bundle.store, claimedOld)
		requireDelivery(t, bundle.store, freshDs[0])
		requireDelivery(t, bundle.store, ackedDs[0])

		// Already expired rows are not counted again.
		n, err = bundle.store.ExpireDeliveries(ctx, at(3*time.Minute))
		require.NoError(t, err)
		require.Zero(t, n)
		requireDelivery(t, bundle.store, oldDs[0])
	})

	t.Run("FindMessagesByPrefix", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// Ids are case-sensitive base62: a prefix matches case-sensitively.
		stem := "aB" + db.NewID()[:6]
		swapped := "Ab" + stem[2:]
		withID := func(id string) func(*db.Message) { return func(m *db.Message) { m.ID = id } }
		want := make([]db.Message, 0, 3)
		for range 3 {
			m := testMessage(bundle.mesh.ID, bundle.sender.ID, withID(stem+db.NewID()[:24]))
			require.NoError(t, bundle.store.InsertMessages(ctx, []db.Message{m}))
			want = append(want, m)
		}
		require.NoError(t, bundle.store.InsertMessages(ctx, []db.Message{testMessage(bundle.mesh.ID, bundle.sender.ID, withID(swapped+db.NewID()[:24]))}))
		require.NoError(t, bundle.store.InsertMessages(ctx, []db.Message{testMessage(bundle.mesh.ID, bundle.sender.ID)}))
		otherMesh := createMesh(t, bundle.store)
		otherSender := createMember(t, bundle.store, otherMesh.ID)
		require.NoError(t, bundle.store.InsertMessages(ctx, []db.Message{testMessage(otherMesh.ID, otherSender.ID, withID(stem+db.NewID()[:24]))}))

		got, err := bundle.store.FindMessagesByPrefix(ctx, bundle.mesh.ID, stem, 10)
		require.NoError(t, err)
		require.ElementsMatch(t, want, got)

		got, err = bundle.store.FindMessagesByPrefix(ctx, bundle.mesh.ID, stem, 2)
		require.NoError(t, err)
		require.Len(t, got, 2)
		require.Subset(t, want, got)

		got, err = bundle.store.FindMessagesByPrefix(ctx, bundle.mesh.ID, want[0].ID, 10)
		require.NoError(t, err)
		require.Equal(t, []db.Message{want[0]}, got)

		// LIKE wildcards in a prefix are plain characters.
		for _, prefix := range []string{"%", "_", stem[:3] + "%", stem[:3] + "_"} {
			got, err = bundle.store.FindMessagesByPrefix(ctx, bundle.mesh.ID, prefix, 10)
			require.NoError(t, err)
			require.Empty(t, got, "prefix %q", prefix)
		}

		got, err = bundle.store.FindMessagesByPrefix(ctx, bundle.mesh.ID, "zzzzzzzzzz", 10)
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("GetMessage", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m := testMessage(bundle.mesh.ID, bundle.sender.ID)
		require.NoError(t, bundle.store.InsertMessages(ctx, []db.Message{m}))
		// Optional fields left empty round-trip as empty.
		bare := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) {
			m.SenderSessionPubkey = ""
			m.SenderName = ""
			m.Nonce = ""
			m.Subtype = ""
			m.ClientMessageID = ""
			m.RequestFingerprint = ""
			m.ReplyToID = ""
		})
		require.NoError(t, bundle.store.InsertMessages(ctx, []db.Message{bare}))

		got, err := bundle.store.GetMessage(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, m, got)

		got, err = bundle.store.GetMessage(ctx, bare.ID)
		require.NoError(t, err)
		require.Equal(t, bare, got)

		_, err = bundle.store.GetMessage(ctx, db.NewID())
		requireNotFound(t, err)
	})

	t.Run("GetMessageByClientID", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m := testMessage(bundle.mesh.ID, bundle.sender.ID)
		require.NoError(t, bundle.store.InsertMessages(ctx, []db.Message{m}))
		require.NoError(t, bundle.store.InsertMessages(ctx, []db.Message{testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) {
			m.ClientMessageID = ""
		})}))

		got, err := bundle.store.GetMessageByClientID(ctx, bundle.sender.ID, m.ClientMessageID)
		require.NoError(t, err)
		require.Equal(t, m, got)

		_, err = bundle.store.GetMessageByClientID(ctx, bundle.recipient.ID, m.ClientMessageID)
		requireNotFound(t, err)
		_, err = bundle.store.GetMessageByClientID(ctx, bundle.sender.ID, db.NewID())
		requireNotFound(t, err)
		// A message sent without a client id is not found by the empty id.
		_, err = bundle.store.GetMessageByClientID(ctx, bundle.sender.ID, "")
		requireNotFound(t, err)
	})

	t.Run("InsertDeliveries", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		second := createMember(t, bundle.store, bundle.mesh.ID)
		third := createMember(t, bundle.store, bundle.mesh.ID)
		m := testMessage(bundle.mesh.ID, bundle.sender.ID)
		require.NoError(t, bundle.store.InsertMessages(ctx, []db.Message{m}))
		want := []db.Delivery{
			testDelivery(m, bundle.recipient.ID),
			testDelivery(m, second.ID, func(d *db.Delivery) { d.RecipientSessionPubkey = db.NewID() }),
			testDelivery(m, third.ID, func(d *db.Delivery) {
				d.Priority = "now"
				d.CreatedAt = at(time.Second)
				d.ExpiresAt = at(time.Hour)
			}),
		}
		require.NoError(t, bundle.store.InsertDeliveries(ctx, want))
		require.NoError(t, bundle.store.InsertDeliveries(ctx, nil))
		unrelated := testMessage(bundle.mesh.ID, bundle.sender.ID)
		sendMessage(t, bundle.store, unrelated, bundle.recipient.ID)

		got, err := bundle.store.ListDeliveries(ctx, m.ID)
		require.NoError(t, err)
		require.ElementsMatch(t, want, got)

		// One delivery per message, recipient member and session key; a
		// batch with a conflict inserts nothing.
		requireConflict(t, bundle.store.InsertDeliveries(ctx, []db.Delivery{
			testDelivery(m, second.ID, func(d *db.Delivery) { d.RecipientSessionPubkey = want[1].RecipientSessionPubkey }),
		}))
		fourth := createMember(t, bundle.store, bundle.mesh.ID)
		requireConflict(t, bundle.store.InsertDeliveries(ctx, []db.Delivery{
			testDelivery(m, fourth.ID),
			testDelivery(m, bundle.recipient.ID),
		}))
		got, err = bundle.store.ListDeliveries(ctx, m.ID)
		require.NoError(t, err)
		require.ElementsMatch(t, want, got)

		got, err = bundle.store.ListDeliveries(ctx, db.NewID())
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("InsertDeliveriesClaimed", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// A row may be inserted already claimed and pushed (the recipient is
		// online on the sending broker), or further along; every field is
		// stored as given.
		other := createMember(t, bundle.store, bundle.mesh.ID)
		third := createMember(t, bundle.store, bundle.mesh.ID)
		m := testMessage(bundle.mesh.ID, bundle.sender.ID)
		pushed := testDelivery(m, bundle.recipient.ID, func(d *db.Delivery) {
			d.RecipientSessionPubkey = bundle.session
			d.ClaimedBy = "presence-1"
			d.ClaimExpiresAt = ptr(at(30 * time.Second))
			d.PushedAt = ptr(at(0))
		})
		acked := testDelivery(m, other.ID, func(d *db.Delivery) {
			d.ClaimedBy = "presence-other"
			d.ClaimExpiresAt = ptr(at(10 * time.Second))
			d.PushedAt = ptr(at(time.Second))
			d.AckedAt = ptr(at(2 * time.Second))
		})
		expired := testDelivery(m, third.ID, func(d *db.Delivery) { d.ExpiredAt = ptr(at(time.Hour)) })
		want := insertDeliveries(t, bundle.store, m, pushed, acked, expired)

		got, err := bundle.store.ListDeliveries(ctx, m.ID)
		require.NoError(t, err)
		require.ElementsMatch(t, want, got)

		// The inserted lease holds against another presence of the member...
		none, err := bundle.store.ClaimDeliveries(ctx, claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.ClaimedBy = "presence-2"
			p.Now = at(10 * time.Second)
			p.LeaseUntil = at(40 * time.Second)
		}))
		require.NoError(t, err)
		require.Empty(t, none)

		// ...and its holder acks the row.
		n, err := bundle.store.AckDeliveries(ctx, "presence-1", []string{m.ID}, at(20*time.Second))
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
		pushed.AckedAt = ptr(at(20 * time.Second))
		requireDelivery(t, bundle.store, pushed)
	})

	t.Run("InsertDeliveriesSessionKeys", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// A message may go to a member and to several of its sessions.
		m := testMessage(bundle.mesh.ID, bundle.sender.ID)
		keys := []string{"", db.NewID(), db.NewID()}
		want := make([]db.Delivery, 0, len(keys))
		for _, key := range keys {
			want = append(want, testDelivery(m, bundle.recipient.ID, func(d *db.Delivery) { d.RecipientSessionPubkey = key }))
		}
		insertDeliveries(t, bundle.store, m, want...)

		got, err := bundle.store.ListDeliveries(ctx, m.ID)
		require.NoError(t, err)
		require.ElementsMatch(t, want, got)

		// The same message, member and key again is a conflict.
		for _, key := range keys {
			requireConflict(t, bundle.store.InsertDeliveries(ctx, []db.Delivery{
				testDelivery(m, bundle.recipient.ID, func(d *db.Delivery) {
					d.RecipientSessionPubkey = key
					d.Priority = "now"
				}),
			}))
		}
		got, err = bundle.store.ListDeliveries(ctx, m.ID)
		require.NoError(t, err)
		require.ElementsMatch(t, want, got)
	})

	t.Run("InsertMessages", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		noClientID := func(m *db.Message) { m.ClientMessageID = "" }
		batch := []db.Message{
			testMessage(bundle.mesh.ID, bundle.sender.ID),
			testMessage(bundle.mesh.ID, bundle.sender.ID, noClientID),
			testMessage(bundle.mesh.ID, bundle.recipient.ID, func(m *db.Message) { m.CreatedAt = at(time.Second) }),
			testMessage(bundle.mesh.ID, bundle.sender.ID, noClientID, func(m *db.Message) { m.Priority = "now" }),
		}
		require.NoError(t, bundle.store.InsertMessages(ctx, batch))
		for _, m := range batch {
			got, err := bundle.store.GetMessage(ctx, m.ID)
			require.NoError(t, err)
			require.Equal(t, m, got)
		}
		got, err := bundle.store.GetMessageByClientID(ctx, bundle.recipient.ID, batch[2].ClientMessageID)
		require.NoError(t, err)
		require.Equal(t, batch[2], got)

		require.NoError(t, bundle.store.InsertMessages(ctx, nil))
		require.NoError(t, bundle.store.InsertMessages(ctx, []db.Message{}))

		// Inside a transaction, with their deliveries.
		inTx := []db.Message{
			testMessage(bundle.mesh.ID, bundle.sender.ID),
			testMessage(bundle.mesh.ID, bundle.sender.ID),
		}
		require.NoError(t, bundle.store.InTx(ctx, func(q db.Queries) error {
			if err := q.InsertMessages(ctx, inTx); err != nil {
				return err
			}
			return q.InsertDeliveries(ctx, []db.Delivery{
				testDelivery(inTx[0], bundle.recipient.ID),
				testDelivery(inTx[1], bundle.recipient.ID),
			})
		}))
		for _, m := range inTx {
			got, err := bundle.store.GetMessage(ctx, m.ID)
			require.NoError(t, err)
			require.Equal(t, m, got)
		}
	})

	t.Run("InsertMessagesConflict", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m := testMessage(bundle.mesh.ID, bundle.sender.ID)
		require.NoError(t, bundle.store.InsertMessages(ctx, []db.Message{m}))

		requireNoneStored := func(t *testing.T, ms ...db.Message) {
			t.Helper()
			for _, m := range ms {
				_, err := bundle.store.GetMessage(ctx, m.ID)
				requireNotFound(t, err)
			}
		}

		// One message of a batch repeating its sender's client message id
		// fails the whole batch.
		first := testMessage(bundle.mesh.ID, bundle.sender.ID)
		dup := testMessage(bundle.mesh.ID, bundle.sender.ID, func(x *db.Message) { x.ClientMessageID = m.ClientMessageID })
		last := testMessage(bundle.mesh.ID, bundle.sender.ID, func(x *db.Message) { x.ClientMessageID = "" })
		requireConflict(t, bundle.store.InsertMessages(ctx, []db.Message{first, dup, last}))
		requireNoneStored(t, first, dup, last)

		// So does a client message id repeated within the batch.
		a := testMessage(bundle.mesh.ID, bundle.sender.ID)
		b := testMessage(bundle.mesh.ID, bundle.sender.ID, func(x *db.Message) { x.ClientMessageID = a.ClientMessageID })
		requireConflict(t, bundle.store.InsertMessages(ctx, []db.Message{a, b}))
		requireNoneStored(t, a, b)

		// And a repeated id.
		sameID := testMessage(bundle.mesh.ID, bundle.sender.ID, func(x *db.Message) { x.ID = m.ID })
		requireConflict(t, bundle.store.InsertMessages(ctx, []db.Message{sameID}))

		// Another sender may use the same client message id.
		require.NoError(t, bundle.store.InsertMessages(ctx, []db.Message{testMessage(bundle.mesh.ID, bundle.recipient.ID, func(x *db.Message) {
			x.ClientMessageID = m.ClientMessageID
		})}))

		// Messages without a client message id never conflict, within a
		// batch or across batches.
		withoutClientID := func() db.Message {
			return testMessage(bundle.mesh.ID, bundle.sender.ID, func(x *db.Message) { x.ClientMessageID = "" })
		}
		require.NoError(t, bundle.store.InsertMessages(ctx, []db.Message{withoutClientID(), withoutClientID(), withoutClientID()}))
		require.NoError(t, bundle.store.InsertMessages(ctx, []db.Message{withoutClientID(), withoutClientID()}))

		// The failed batch left nothing behind: with a fresh client id it goes
		// in whole.
		dup.ClientMessageID = db.NewID()
		require.NoError(t, bundle.store.InsertMessages(ctx, []db.Message{first, dup, last}))
		for _, x := range []db.Message{first, dup, last} {
			got, err := bundle.store.GetMessage(ctx, x.ID)
			require.NoError(t, err)
			require.Equal(t, x, got)
		}
	})

	t.Run("ListDeliveries", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		other := createMember(t, bundle.store, bundle.mesh.ID)
		m := testMessage(bundle.mesh.ID, bundle.sender.ID)
		ds := sendMessage(t, bundle.store, m, bundle.recipient.ID, other.ID)

		// Every state of the journey is read back.
		p := claimParams(bundle)
		_, err := bundle.store.ClaimDeliveries(ctx, p)
		require.NoError(t, err)
		_, err = bundle.store.AckDeliveries(ctx, p.ClaimedBy, []string{m.ID}, at(2*time.Minute))
		require.NoError(t, err)
		_, err = bundle.store.ExpireDeliveries(ctx, at(30*24*time.Hour))
		require.NoError(t, err)

		acked := claimed(ds[0], m, p, p.Now).Delivery
		acked.AckedAt = ptr(at(2 * time.Minute))
		expired := ds[1]
		expired.ExpiredAt = ptr(at(30 * 24 * time.Hour))

		got, err := bundle.store.ListDeliveries(ctx, m.ID)
		require.NoError(t, err)
		require.ElementsMatch(t, []db.Delivery{acked, expired}, got)
	})

	t.Run("ListLapsedClaims", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		other := createMember(t, bundle.store, bundle.mesh.ID)
		m1 := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) { m.CreatedAt = at(0) })
		m2 := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) { m.CreatedAt = at(time.Second) })
		sendMessage(t, bundle.store, m1, bundle.recipient.ID, other.ID)
		sendMessage(t, bundle.store, m2, bundle.recipient.ID)

		// Nothing claimed, nothing lapsed.
		got, err := bundle.store.ListLapsedClaims(ctx, at(time.Hour), 10)
		require.NoError(t, err)
		require.Empty(t, got)

		p := claimParams(bundle)
		_, err = bundle.store.ClaimDeliveries(ctx, p)
		require.NoError(t, err)
		_, err = bundle.store.ClaimDeliveries(ctx, claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.MemberID, p.ClaimedBy, p.LeaseUntil = other.ID, "presence-other", at(10*time.Minute)
		}))
		require.NoError(t, err)

		// Within the lease: nothing. At its end: the recipient, once for its
		// two rows; the other member's longer lease still runs.
		got, err = bundle.store.ListLapsedClaims(ctx, p.LeaseUntil.Add(-time.Microsecond), 10)
		require.NoError(t, err)
		require.Empty(t, got)
		got, err = bundle.store.ListLapsedClaims(ctx, p.LeaseUntil, 10)
		require.NoError(t, err)
		require.Equal(t, []db.Recipient{{MeshID: bundle.mesh.ID, MemberID: bundle.recipient.ID}}, got)

		got, err = bundle.store.ListLapsedClaims(ctx, at(time.Hour), 10)
		require.NoError(t, err)
		require.ElementsMatch(t, []db.Recipient{
			{MeshID: bundle.mesh.ID, MemberID: bundle.recipient.ID},
			{MeshID: bundle.mesh.ID, MemberID: other.ID},
		}, got)
		got, err = bundle.store.ListLapsedClaims(ctx, at(time.Hour), 1)
		require.NoError(t, err)
		require.Len(t, got, 1)
		got, err = bundle.store.ListLapsedClaims(ctx, at(time.Hour), 0)
		require.NoError(t, err)
		require.Empty(t, got)

		// Acked rows are not mail to push again.
		n, err := bundle.store.AckDeliveries(ctx, p.ClaimedBy, []string{m1.ID, m2.ID}, at(2*time.Minute))
		require.NoError(t, err)
		require.Equal(t, int64(2), n)
		got, err = bundle.store.ListLapsedClaims(ctx, at(time.Hour), 10)
		require.NoError(t, err)
		require.Equal(t, []db.Recipient{{MeshID: bundle.mesh.ID, MemberID: other.ID}}, got)
	})

	t.Run("ReleaseClaims", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		other := createMember(t, bundle.store, bundle.mesh.ID)
		m1 := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) { m.CreatedAt = at(0) })
		m2 := testMessage(bundle.mesh.ID, bundle.sender.ID, func(m *db.Message) { m.CreatedAt = at(time.Second) })
		ds1 := sendMessage(t, bundle.store, m1, bundle.recipient.ID, other.ID)
		ds2 := sendMessage(t, bundle.store, m2, bundle.recipient.ID)

		p1 := claimParams(bundle)
		got, err := bundle.store.ClaimDeliveries(ctx, p1)
		require.NoError(t, err)
		require.Len(t, got, 2)
		pOther := claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.MemberID = other.ID
			p.ClaimedBy = "presence-other"
		})
		_, err = bundle.store.ClaimDeliveries(ctx, pOther)
		require.NoError(t, err)

		n, err := bundle.store.ReleaseClaims(ctx, "presence-1")
		require.NoError(t, err)
		require.Equal(t, int64(2), n)

		// Released rows are claimable at once, still inside the old lease; they
		// keep their first push time.
		p2 := claimParams(bundle, func(p *db.ClaimDeliveriesParams) {
			p.ClaimedBy = "presence-2"
			p.Now = at(time.Minute + time.Second)
			p.LeaseUntil = at(time.Minute + 31*time.Second)
		})
		got, err = bundle.store.ClaimDeliveries(ctx, p2)
		require.NoError(t, err)
		require.Equal(t, []db.ClaimedDelivery{
			claimed(ds1[0], m1, p2, p1.Now),
			claimed(ds2[0], m2, p2, p1.Now),
		}, got)

		// Other presences' claims are untouched.
		requireDelivery(t, bundle.store, claimed(ds1[1], m1, pOther, pOther.Now).Delivery)

		n, err = bundle.store.ReleaseClaims(ctx, "presence-1")
		require.NoError(t, err)
		require.Zero(t, n)

		// Acked rows hold no claim to release: they stay as they are.
		n, err = bundle.store.AckDeliveries(ctx, p2.ClaimedBy, []string{m1.ID}, at(2*time.Minute))
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
		n, err = bundle.store.ReleaseClaims(ctx, "presence-2")
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
		acked := claimed(ds1[0], m1, p2, p1.Now).Delivery
		acked.AckedAt = ptr(at(2 * time.Minute))
		requireDelivery(t, bundle.store, acked)
	})
}
