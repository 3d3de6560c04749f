package dbsqlite

import (
	"context"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbsqlite/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

func fileFromRow(r sqlc.File) (db.File, error) {
	tags, err := conv.DecodeArray[string]([]byte(r.Tags))
	if err != nil {
		return db.File{}, err
	}
	return db.File{
		ID:                 r.ID,
		MeshID:             r.MeshID,
		Name:               r.Name,
		SizeBytes:          r.SizeBytes,
		MimeType:           r.MimeType,
		Tags:               tags,
		Persistent:         r.Persistent,
		Encrypted:          r.Encrypted,
		OwnerPubkey:        r.OwnerPubkey,
		UploadedByMemberID: r.UploadedByMemberID,
		UploadedByName:     r.UploadedByName,
		TargetSpec:         r.TargetSpec,
		ChunkCount:         int32(r.ChunkCount),
		SHA256:             r.Sha256,
		UploadedAt:         fromMicros(r.UploadedAt),
		ExpiresAt:          fromMicrosPtr(r.ExpiresAt),
		DeletedAt:          fromMicrosPtr(r.DeletedAt),
	}, nil
}

func fileAccessFromRow(r sqlc.FileAccess) (db.FileAccess, error) {
	return db.FileAccess{
		ID:                r.ID,
		FileID:            r.FileID,
		MemberID:          r.MemberID,
		PeerSessionPubkey: r.PeerSessionPubkey,
		PeerName:          r.PeerName,
		AccessedAt:        fromMicros(r.AccessedAt),
	}, nil
}

// CreateFile inserts a file's metadata.
func (q *queries) CreateFile(ctx context.Context, f db.File) error {
	tags, err := conv.EncodeArray(f.Tags)
	if err != nil {
		return wrapErr("create file", err)
	}
	return wrapErr("create file", q.q.CreateFile(ctx, q.dbtx, sqlc.CreateFileParams{
		ID:                 f.ID,
		MeshID:             f.MeshID,
		Name:               f.Name,
		SizeBytes:          f.SizeBytes,
		MimeType:           f.MimeType,
		Tags:               string(tags),
		Persistent:         f.Persistent,
		Encrypted:          f.Encrypted,
		OwnerPubkey:        f.OwnerPubkey,
		UploadedByMemberID: f.UploadedByMemberID,
		UploadedByName:     f.UploadedByName,
		TargetSpec:         f.TargetSpec,
		ChunkCount:         int64(f.ChunkCount),
		Sha256:             f.SHA256,
		UploadedAt:         micros(f.UploadedAt),
		ExpiresAt:          microsPtr(f.ExpiresAt),
		DeletedAt:          microsPtr(f.DeletedAt),
	}))
}

// InsertFileChunk inserts one chunk of a file.
func (q *queries) InsertFileChunk(ctx context.Context, c db.FileChunk) error {
	return wrapErr("insert file chunk", q.q.InsertFileChunk(ctx, q.dbtx, sqlc.InsertFileChunkParams{
		FileID: c.FileID,
		Seq:    int64(c.Seq),
		Data:   conv.NotNilBytes(c.Data),
	}))
}

// GetFile returns a file by id (deleted or not).
func (q *queries) GetFile(ctx context.Context, id string) (db.File, error) {
	r, err := q.q.GetFile(ctx, q.dbtx, id)
	if err != nil {
		return db.File{}, wrapErr("get file", err)
	}
	f, err := fileFromRow(r)
	return f, wrapErr("get file", err)
}

// ListFiles returns up to limit of a mesh's files that are not deleted,
// newest first.
func (q *queries) ListFiles(ctx context.Context, meshID string, lim int32) ([]db.File, error) {
	rows, err := q.q.ListFiles(ctx, q.dbtx, sqlc.ListFilesParams{MeshID: meshID, Limit: limit(lim)})
	if err != nil {
		return nil, wrapErr("list files", err)
	}
	out, err := conv.MapRows(rows, fileFromRow)
	return out, wrapErr("list files", err)
}

// GetFileChunk returns one chunk of a file.
func (q *queries) GetFileChunk(ctx context.Context, fileID string, seq int32) (db.FileChunk, error) {
	r, err := q.q.GetFileChunk(ctx, q.dbtx, sqlc.GetFileChunkParams{FileID: fileID, Seq: int64(seq)})
	if err != nil {
		return db.FileChunk{}, wrapErr("get file chunk", err)
	}
	return db.FileChunk{FileID: r.FileID, Seq: int32(r.Seq), Data: r.Data}, nil
}

// DeleteFile marks a file deleted (a file deleted twice keeps its first
// deletion time) and drops its chunks, in one transaction: SQLite has no
// data-modifying CTE to do both in one statement. db.ErrNotFound if there is
// no such file.
func (q *queries) DeleteFile(ctx context.Context, id string, at time.Time) error {
	return wrapErr("delete file", q.withTx(ctx, func(q *queries) error {
		n, err := q.q.MarkFileDeleted(ctx, q.dbtx, sqlc.MarkFileDeletedParams{DeletedAt: microsOf(at), ID: id})
		if err != nil {
			return err
		}
		if n == 0 {
			return db.ErrNotFound
		}
		return q.q.DeleteFileChunks(ctx, q.dbtx, id)
	}))
}

// UpsertFileKey writes a sealed key of a file for a peer.
func (q *queries) UpsertFileKey(ctx context.Context, k db.FileKey) error {
	return wrapErr("upsert file key", q.q.UpsertFileKey(ctx, q.dbtx, sqlc.UpsertFileKeyParams{
		FileID:          k.FileID,
		PeerPubkey:      k.PeerPubkey,
		SealedKey:       k.SealedKey,
		GrantedByPubkey: k.GrantedByPubkey,
		GrantedAt:       micros(k.GrantedAt),
	}))
}

// GetFileKey returns a file's sealed key for a peer.
func (q *queries) GetFileKey(ctx context.Context, fileID, peerPubkey string) (db.FileKey, error) {
	r, err := q.q.GetFileKey(ctx, q.dbtx, sqlc.GetFileKeyParams{FileID: fileID, PeerPubkey: peerPubkey})
	if err != nil {
		return db.FileKey{}, wrapErr("get file key", err)
	}
	return db.FileKey{
		FileID:          r.FileID,
		PeerPubkey:      r.PeerPubkey,
		SealedKey:       r.SealedKey,
		GrantedByPubkey: r.GrantedByPubkey,
		GrantedAt:       fromMicros(r.GrantedAt),
	}, nil
}

// InsertFileAccess records a download.
func (q *queries) InsertFileAccess(ctx context.Context, a db.FileAccess) error {
	return wrapErr("insert file access", q.q.InsertFileAccess(ctx, q.dbtx, sqlc.InsertFileAccessParams{
		ID:                a.ID,
		FileID:            a.FileID,
		MemberID:          a.MemberID,
		PeerSessionPubkey: a.PeerSessionPubkey,
		PeerName:          a.PeerName,
		AccessedAt:        micros(a.AccessedAt),
	}))
}

// ListFileAccesses returns a file's accesses, newest first.
func (q *queries) ListFileAccesses(ctx context.Context, fileID string) ([]db.FileAccess, error) {
	rows, err := q.q.ListFileAccesses(ctx, q.dbtx, fileID)
	if err != nil {
		return nil, wrapErr("list file accesses", err)
	}
	out, err := conv.MapRows(rows, fileAccessFromRow)
	return out, wrapErr("list file accesses", err)
}
