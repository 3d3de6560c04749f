-- name: CreateSchedule :exec
INSERT INTO schedules (
    id, mesh_id, member_id, target_spec, message, subtype, cron, timezone,
    next_fire_at, fired_count, last_fired_at, last_fire_late, created_at, cancelled_at
) VALUES (
    @id, @mesh_id, @member_id, @target_spec, @message, @subtype, @cron, @timezone,
    @next_fire_at, @fired_count, @last_fired_at, @last_fire_late, @created_at, @cancelled_at
);

-- name: GetSchedule :one
SELECT * FROM schedules WHERE id = @id;

-- name: ListSchedules :many
SELECT * FROM schedules
WHERE mesh_id = @mesh_id AND member_id = @member_id
  AND cancelled_at IS NULL AND next_fire_at IS NOT NULL
ORDER BY next_fire_at, id COLLATE "C";

-- name: CountSchedules :one
SELECT count(*) FROM schedules
WHERE mesh_id = @mesh_id AND member_id = @member_id
  AND cancelled_at IS NULL AND next_fire_at IS NOT NULL;

-- name: CancelSchedule :execrows
UPDATE schedules SET cancelled_at = @cancelled_at::timestamptz
WHERE id = @id AND member_id = @member_id
  AND cancelled_at IS NULL AND next_fire_at IS NOT NULL;

-- ClaimDueSchedules locks the due rows it returns until the transaction ends
-- and skips rows another scheduler holds.
-- name: ClaimDueSchedules :many
SELECT * FROM schedules
WHERE cancelled_at IS NULL AND next_fire_at IS NOT NULL AND next_fire_at <= @now::timestamptz
ORDER BY next_fire_at, id COLLATE "C"
LIMIT @lim
FOR UPDATE SKIP LOCKED;

-- AdvanceSchedule is a compare-and-set on the fire it records: a row that
-- another scheduler advanced, or that was cancelled, since it was read is
-- left alone (no row: ErrNotFound). A concurrent advance of the same fire
-- waits for the row lock and then finds next_fire_at changed.
-- name: AdvanceSchedule :execrows
UPDATE schedules SET
    fired_count    = fired_count + 1,
    last_fired_at  = @last_fired_at::timestamptz,
    next_fire_at   = @next_fire_at,
    last_fire_late = @last_fire_late
WHERE id = @id AND next_fire_at = @due::timestamptz AND cancelled_at IS NULL;

-- name: NextScheduleDue :one
SELECT next_fire_at FROM schedules
WHERE cancelled_at IS NULL AND next_fire_at IS NOT NULL
ORDER BY next_fire_at
LIMIT 1;
