-- Invitations by single-use code instead of by organization name, so that
-- no answer tells an organization which other names exist (add-only).
-- Only the SHA-256 of a code is stored: a database dump hands out no code.
-- Partnerships invited by name before this migration keep working.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    code_hash BLOB NOT NULL UNIQUE,
    inviter_org_id TEXT NOT NULL REFERENCES orgs(id),
    inviter_role TEXT NOT NULL,
    policy TEXT NOT NULL,
    created_by_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    cancelled_at BIGINT,
    accepted_at BIGINT,
    partnership_id TEXT REFERENCES partnerships(id)
);
CREATE INDEX invitations_inviter ON invitations(inviter_org_id, created_at);
