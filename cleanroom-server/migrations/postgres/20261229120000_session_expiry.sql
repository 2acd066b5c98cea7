-- Sessions expire: `expires_at` (unix seconds) is fixed at creation from the
-- deployment's session expiry and the partnership's policy; once it passes,
-- a sweep (any replica) cancels the session and deletes its chunks.
-- `cancel_reason` says why a session was cancelled (add-only; NULL for
-- sessions created or cancelled before this migration).
ALTER TABLE sessions ADD COLUMN expires_at BIGINT;
ALTER TABLE sessions ADD COLUMN cancel_reason TEXT;
CREATE INDEX sessions_open_expiry ON sessions (state, expires_at);
