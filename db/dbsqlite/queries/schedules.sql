-- A schedule is active while it is not cancelled and has a next fire time.

-- name: CreateSchedule :exec
INSERT INTO schedules (
    id, mesh_id, member_id, target_spec, message, subtype, cron, timezone,
    next_fire_at, fired_count, last_fired_at, last_fire_late, created_at, cancelled_at
) VALUES (
    @id, @mesh_id, @member_id, @target_spec, @message, @subtype, @cron, @timezone,
    sqlc.narg('next_fire_at'), @fired_count, sqlc.narg('last_fired_at'), @last_fire_late, @created_at,
    sqlc.narg('cancelled_at')
);

-- name: GetSchedule :one
SELECT * FROM schedules WHERE id = @id;

-- name: ListSchedules :many
SELECT * FROM schedules
WHERE mesh_id = @mesh_id AND member_id = @member_id
  AND cancelled_at IS NULL AND next_fire_at IS NOT NULL
ORDER BY next_fire_at, id;

-- name: CountSchedules :one
SELECT count(*) FROM schedules
WHERE mesh_id = @mesh_id AND member_id = @member_id
  AND cancelled_at IS NULL AND next_fire_at IS NOT NULL;

-- name: CancelSchedule :execrows
UPDATE schedules SET cancelled_at = @cancelled_at
WHERE id = @id AND member_id = @member_id
  AND cancelled_at IS NULL AND next_fire_at IS NOT NULL;

-- ClaimDueSchedules is a plain SELECT: SQLite has no FOR UPDATE SKIP LOCKED
-- and needs none. There is one writer, so a caller that runs this and
-- AdvanceSchedule in one InTx (a BEGIN IMMEDIATE transaction) holds the only
-- write lock until it commits, and the next caller sees the advanced rows.
-- name: ClaimDueSchedules :many
SELECT * FROM schedules
WHERE cancelled_at IS NULL AND next_fire_at IS NOT NULL AND next_fire_at <= @now
ORDER BY next_fire_at, id
LIMIT @limit;

-- AdvanceSchedule is a compare-and-set on the fire it records: a row that
-- was advanced or cancelled since it was read is left alone (no row).
-- name: AdvanceSchedule :execrows
UPDATE schedules SET
    fired_count = fired_count + 1,
    last_fired_at = @last_fired_at,
    next_fire_at = sqlc.narg('next_fire_at'),
    last_fire_late = @last_fire_late
WHERE id = @id AND next_fire_at = @due AND cancelled_at IS NULL;

-- NextScheduleDue reads the first row rather than MIN(): sqlc types an
-- aggregate as interface{}, and no row maps to ErrNotFound for free.
-- name: NextScheduleDue :one
SELECT next_fire_at FROM schedules
WHERE cancelled_at IS NULL AND next_fire_at IS NOT NULL
ORDER BY next_fire_at
LIMIT 1;
