package dbtest

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
)

func exerciseFiles(t *testing.T, newStore NewStoreFunc) {
	t.Helper()

	type testBundle struct {
		store db.Store
		mesh  db.Mesh
	}

	setup := func(t *testing.T) *testBundle {
		t.Helper()
		store := newStore(t)
		return &testBundle{store: store, mesh: createMesh(t, store)}
	}

	requireFile := func(t *testing.T, q db.Queries, want db.File) {
		t.Helper()
		got, err := q.GetFile(t.Context(), want.ID)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}

	insertChunks := func(t *testing.T, q db.Queries, fileID string, n int) []db.FileChunk {
		t.Helper()
		chunks := make([]db.FileChunk, n)
		for i := range chunks {
			chunks[i] = db.FileChunk{FileID: fileID, Seq: int32(i), Data: []byte{byte(i), 0x00, 0xff, 'x'}}
			require.NoError(t, q.InsertFileChunk(t.Context(), chunks[i]))
		}
		return chunks
	}

	t.Run("DeleteFile", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		f := createFile(t, bundle.store, bundle.mesh.ID)
		insertChunks(t, bundle.store, f.ID, 2)
		bystander := createFile(t, bundle.store, bundle.mesh.ID)
		bystanderChunks := insertChunks(t, bundle.store, bystander.ID, 2)

		require.NoError(t, bundle.store.DeleteFile(ctx, f.ID, at(time.Minute)))

		f.DeletedAt = ptr(at(time.Minute))
		requireFile(t, bundle.store, f)
		for seq := range int32(2) {
			_, err := bundle.store.GetFileChunk(ctx, f.ID, seq)
			requireNotFound(t, err)
		}

		list, err := bundle.store.ListFiles(ctx, bundle.mesh.ID, 10)
		require.NoError(t, err)
		require.Equal(t, []db.File{bystander}, list)

		requireFile(t, bundle.store, bystander)
		for _, c := range bystanderChunks {
			got, err := bundle.store.GetFileChunk(ctx, bystander.ID, c.Seq)
			require.NoError(t, err)
			require.Equal(t, c, got)
		}
	})

	t.Run("DeleteMissingFile", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)

		// Deleting a file that does not exist is ErrNotFound, not a silent
		// no-op ("a missing row is ErrNotFound").
		requireNotFound(t, bundle.store.DeleteFile(t.Context(), db.NewID(), at(time.Minute)))
	})

	t.Run("FileAccesses", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		f := createFile(t, bundle.store, bundle.mesh.ID)
		other := createFile(t, bundle.store, bundle.mesh.ID)

		got, err := bundle.store.ListFileAccesses(ctx, f.ID)
		require.NoError(t, err)
		require.Empty(t, got)

		accesses := make([]db.FileAccess, 0, 3)
		for _, d := range []time.Duration{2 * time.Minute, time.Minute, 3 * time.Minute} {
			a := db.FileAccess{
				ID:                db.NewID(),
				FileID:            f.ID,
				MemberID:          db.NewID(),
				PeerSessionPubkey: db.NewID(),
				PeerName:          "bob",
				AccessedAt:        at(d),
			}
			require.NoError(t, bundle.store.InsertFileAccess(ctx, a))
			accesses = append(accesses, a)
		}
		anonymous := db.FileAccess{ID: db.NewID(), FileID: f.ID, AccessedAt: at(0)}
		require.NoError(t, bundle.store.InsertFileAccess(ctx, anonymous))
		require.NoError(t, bundle.store.InsertFileAccess(ctx, db.FileAccess{ID: db.NewID(), FileID: other.ID, AccessedAt: at(time.Hour)}))

		got, err = bundle.store.ListFileAccesses(ctx, f.ID)
		require.NoError(t, err)
		require.Equal(t, []db.FileAccess{accesses[2], accesses[0], accesses[1], anonymous}, got)
	})

	t.Run("FileChunks", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		f := createFile(t, bundle.store, bundle.mesh.ID)
		chunks := insertChunks(t, bundle.store, f.ID, 3)
		big := db.FileChunk{FileID: f.ID, Seq: 3, Data: bytes.Repeat([]byte{0x00, 0x01, 0xfe, 0xff}, 64<<10)}
		require.NoError(t, bundle.store.InsertFileChunk(ctx, big))
		chunks = append(chunks, big)

		for _, c := range chunks {
			got, err := bundle.store.GetFileChunk(ctx, f.ID, c.Seq)
			require.NoError(t, err)
			require.Equal(t, c, got)
		}

		_, err := bundle.store.GetFileChunk(ctx, f.ID, 4)
		requireNotFound(t, err)
		_, err = bundle.store.GetFileChunk(ctx, db.NewID(), 0)
		requireNotFound(t, err)

		requireConflict(t, bundle.store.InsertFileChunk(ctx, db.FileChunk{FileID: f.ID, Seq: 1, Data: []byte("again")}))
		got, err := bundle.store.GetFileChunk(ctx, f.ID, 1)
		require.NoError(t, err)
		require.Equal(t, chunks[1], got)
	})

	t.Run("FileKeys", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		f := createFile(t, bundle.store, bundle.mesh.ID)
		bob := db.FileKey{
			FileID:          f.ID,
			PeerPubkey:      db.NewID(),
			SealedKey:       "c2VhbGVkIGtleSBmb3IgYm9i",
			GrantedByPubkey: db.NewID(),
			GrantedAt:       at(time.Minute),
		}
		require.NoError(t, bundle.store.UpsertFileKey(ctx, bob))
		carol := db.FileKey{FileID: f.ID, PeerPubkey: db.NewID(), SealedKey: "Y2Fyb2w=", GrantedAt: at(time.Minute)}
		require.NoError(t, bundle.store.UpsertFileKey(ctx, carol))

		got, err := bundle.store.GetFileKey(ctx, f.ID, bob.PeerPubkey)
		require.NoError(t, err)
		require.Equal(t, bob, got)
		got, err = bundle.store.GetFileKey(ctx, f.ID, carol.PeerPubkey)
		require.NoError(t, err)
		require.Equal(t, carol, got)

		// A second grant to the same peer replaces the first.
		regrant := db.FileKey{
			FileID:          f.ID,
			PeerPubkey:      bob.PeerPubkey,
			SealedKey:       "cmVncmFudA==",
			GrantedByPubkey: db.NewID(),
			GrantedAt:       at(time.Hour),
		}
		require.NoError(t, bundle.store.UpsertFileKey(ctx, regrant))
		got, err = bundle.store.GetFileKey(ctx, f.ID, bob.PeerPubkey)
		require.NoError(t, err)
		require.Equal(t, regrant, got)

		_, err = bundle.store.GetFileKey(ctx, f.ID, db.NewID())
		requireNotFound(t, err)
		other := createFile(t, bundle.store, bundle.mesh.ID)
		_, err = bundle.store.GetFileKey(ctx, other.ID, bob.PeerPubkey)
		requireNotFound(t, err)
	})

	t.Run("GetFile", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		f := createFile(t, bundle.store, bundle.mesh.ID)
		bare := createFile(t, bundle.store, bundle.mesh.ID, func(f *db.File) {
			f.MimeType = ""
			f.Tags = nil
			f.Persistent = false
			f.Encrypted = false
			f.OwnerPubkey = ""
			f.UploadedByMemberID = ""
			f.UploadedByName = ""
			f.TargetSpec = ""
			f.ChunkCount = 0
			f.SizeBytes = 0
			f.SHA256 = ""
			f.ExpiresAt = nil
		})
		emptyTags := createFile(t, bundle.store, bundle.mesh.ID, func(f *db.File) { f.Tags = []string{} })
		big := createFile(t, bundle.store, bundle.mesh.ID, func(f *db.File) { f.SizeBytes = 5 << 30 })

		requireFile(t, bundle.store, f)
		requireFile(t, bundle.store, bare)
		requireFile(t, bundle.store, big)
		emptyTags.Tags = nil
		requireFile(t, bundle.store, emptyTags)

		_, err := bundle.store.GetFile(ctx, db.NewID())
		requireNotFound(t, err)
	})

	t.Run("ListFiles", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		got, err := bundle.store.ListFiles(ctx, bundle.mesh.ID, 10)
		require.NoError(t, err)
		require.Empty(t, got)

		uploaded := func(d time.Duration) func(*db.File) { return func(f *db.File) { f.UploadedAt = at(d) } }
		second := createFile(t, bundle.store, bundle.mesh.ID, uploaded(2*time.Minute))
		first := createFile(t, bundle.store, bundle.mesh.ID, uploaded(time.Minute))
		third := createFile(t, bundle.store, bundle.mesh.ID, uploaded(3*time.Minute))
		deleted := createFile(t, bundle.store, bundle.mesh.ID, uploaded(4*time.Minute))
		require.NoError(t, bundle.store.DeleteFile(ctx, deleted.ID, at(5*time.Minute)))
		other := createMesh(t, bundle.store)
		createFile(t, bundle.store, other.ID, uploaded(6*time.Minute))

		got, err = bundle.store.ListFiles(ctx, bundle.mesh.ID, 10)
		require.NoError(t, err)
		require.Equal(t, []db.File{third, second, first}, got)

		got, err = bundle.store.ListFiles(ctx, bundle.mesh.ID, 2)
		require.NoError(t, err)
		require.Equal(t, []db.File{third, second}, got)
	})
}
