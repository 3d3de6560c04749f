package dbpg

import (
	"context"
	"fmt"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbpg/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

// CreateFile inserts a file's metadata.
func (q *queries) CreateFile(ctx context.Context, f db.File) error {
	tags, err := conv.EncodeArray(f.Tags)
	if err != nil {
		return fmt.Errorf("create file: encode tags: %w", err)
	}
	err = q.q.CreateFile(ctx, q.dbtx, sqlc.CreateFileParams{
		ID:                 f.ID,
		MeshID:             f.MeshID,
		Name:               f.Name,
		SizeBytes:          f.SizeBytes,
		MimeType:           f.MimeType,
		Tags:               tags,
		Persistent:         f.Persistent,
		Encrypted:          f.Encrypted,
		OwnerPubkey:        f.OwnerPubkey,
		UploadedByMemberID: f.UploadedByMemberID,
		UploadedByName:     f.UploadedByName,
		TargetSpec:         f.TargetSpec,
		ChunkCount:         f.ChunkCount,
		Sha256:             f.SHA256,
		UploadedAt:         f.UploadedAt,
		ExpiresAt:          f.ExpiresAt,
		DeletedAt:          f.DeletedAt,
	})
	if err != nil {
		return fmt.Errorf("create file: %w", interpretError(err))
	}
	return nil
}

// InsertFileChunk inserts one chunk of a file; db.ErrConflict if the chunk
// exists.
func (q *queries) InsertFileChunk(ctx context.Context, c db.FileChunk) error {
	err := q.q.InsertFileChunk(ctx, q.dbtx, sqlc.InsertFileChunkParams{
		FileID: c.FileID,
		Seq:    c.Seq,
		Data:   conv.NotNilBytes(c.Data),
	})
	if err != nil {
		return fmt.Errorf("insert file chunk: %w", interpretError(err))
	}
	return nil
}

// GetFile returns a file by id (deleted or not).
func (q *queries) GetFile(ctx context.Context, id string) (db.File, error) {
	row, err := q.q.GetFile(ctx, q.dbtx, id)
	if err != nil {
		return db.File{}, fmt.Errorf("get file: %w", interpretError(err))
	}
	f, err := fileFromRow(row)
	if err != nil {
		return db.File{}, fmt.Errorf("get file: %w", err)
	}
	return f, nil
}

// ListFiles returns up to limit of a mesh's files that are not deleted,
// newest first.
func (q *queries) ListFiles(ctx context.Context, meshID string, limit int32) ([]db.File, error) {
	rows, err := q.q.ListFiles(ctx, q.dbtx, sqlc.ListFilesParams{MeshID: meshID, Lim: limit})
	if err != nil {
		return nil, fmt.Errorf("list files: %w", interpretError(err))
	}
	files, err := conv.MapRows(rows, fileFromRow)
	if err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	return files, nil
}

// GetFileChunk returns one chunk of a file.
func (q *queries) GetFileChunk(ctx context.Context, fileID string, seq int32) (db.FileChunk, error) {
	row, err := q.q.GetFileChunk(ctx, q.dbtx, sqlc.GetFileChunkParams{FileID: fileID, Seq: seq})
	if err != nil {
		return db.FileChunk{}, fmt.Errorf("get file chunk: %w", interpretError(err))
	}
	return db.FileChunk{FileID: row.FileID, Seq: row.Seq, Data: row.Data}, nil
}

// DeleteFile marks a file deleted (keeping the first time) and drops its
// chunks, in one statement; db.ErrNotFound if there is no such file.
func (q *queries) DeleteFile(ctx context.Context, id string, at time.Time) error {
	n, err := q.q.DeleteFile(ctx, q.dbtx, sqlc.DeleteFileParams{ID: id, DeletedAt: at})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("delete file: %w", err)
	}
	return nil
}

// UpsertFileKey writes a sealed key of a file for a peer.
func (q *queries) UpsertFileKey(ctx context.Context, k db.FileKey) error {
	err := q.q.UpsertFileKey(ctx, q.dbtx, sqlc.UpsertFileKeyParams{
		FileID:          k.FileID,
		PeerPubkey:      k.PeerPubkey,
		SealedKey:       k.SealedKey,
		GrantedByPubkey: k.GrantedByPubkey,
		GrantedAt:       k.GrantedAt,
	})
	if err != nil {
		return fmt.Errorf("upsert file key: %w", interpretError(err))
	}
	return nil
}

// GetFileKey returns a file's sealed key for a peer.
func (q *queries) GetFileKey(ctx context.Context, fileID, peerPubkey string) (db.FileKey, error) {
	row, err := q.q.GetFileKey(ctx, q.dbtx, sqlc.GetFileKeyParams{FileID: fileID, PeerPubkey: peerPubkey})
	if err != nil {
		return db.FileKey{}, fmt.Errorf("get file key: %w", interpretError(err))
	}
	return db.FileKey{
		FileID:          row.FileID,
		PeerPubkey:      row.PeerPubkey,
		SealedKey:       row.SealedKey,
		GrantedByPubkey: row.GrantedByPubkey,
		GrantedAt:       row.GrantedAt.UTC(),
	}, nil
}

// InsertFileAccess records a download.
func (q *queries) InsertFileAccess(ctx context.Context, a db.FileAccess) error {
	err := q.q.InsertFileAccess(ctx, q.dbtx, sqlc.InsertFileAccessParams{
		ID:                a.ID,
		FileID:            a.FileID,
		MemberID:          a.MemberID,
		PeerSessionPubkey: a.PeerSessionPubkey,
		PeerName:          a.PeerName,
		AccessedAt:        a.AccessedAt,
	})
	if err != nil {
		return fmt.Errorf("insert file access: %w", interpretError(err))
	}
	return nil
}

// ListFileAccesses returns a file's accesses, newest first.
func (q *queries) ListFileAccesses(ctx context.Context, fileID string) ([]db.FileAccess, error) {
	rows, err := q.q.ListFileAccesses(ctx, q.dbtx, fileID)
	if err != nil {
		return nil, fmt.Errorf("list file accesses: %w", interpretError(err))
	}
	return conv.MapRows(rows, func(row sqlc.FileAccess) (db.FileAccess, error) {
		return db.FileAccess{
			ID:                row.ID,
			FileID:            row.FileID,
			MemberID:          row.MemberID,
			PeerSessionPubkey: row.PeerSessionPubkey,
			PeerName:          row.PeerName,
			AccessedAt:        row.AccessedAt.UTC(),
		}, nil
	})
}

func fileFromRow(row sqlc.File) (db.File, error) {
	tags, err := conv.DecodeArray[string](row.Tags)
	if err != nil {
		return db.File{}, fmt.Errorf("decode file tags: %w", err)
	}
	return db.File{
		ID:                 row.ID,
		MeshID:             row.MeshID,
		Name:               row.Name,
		SizeBytes:          row.SizeBytes,
		MimeType:           row.MimeType,
		Tags:               tags,
		Persistent:         row.Persistent,
		Encrypted:          row.Encrypted,
		OwnerPubkey:        row.OwnerPubkey,
		UploadedByMemberID: row.UploadedByMemberID,
		UploadedByName:     row.UploadedByName,
		TargetSpec:         row.TargetSpec,
		ChunkCount:         row.ChunkCount,
		SHA256:             row.Sha256,
		UploadedAt:         row.UploadedAt.UTC(),
		ExpiresAt:          utcPtr(row.ExpiresAt),
		DeletedAt:          utcPtr(row.DeletedAt),
	}, nil
}
