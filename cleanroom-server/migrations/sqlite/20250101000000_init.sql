-- Add-only: never edit a released migration; add a new file instead.
CREATE TABLE orgs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    label TEXT NOT NULL,
    scope TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_org ON api_tokens(org_id);

CREATE TABLE partnerships (
    id TEXT PRIMARY KEY,
    vendor_org_id TEXT NOT NULL REFERENCES orgs(id),
    partner_org_id TEXT NOT NULL REFERENCES orgs(id),
    invited_by TEXT NOT NULL,
    status TEXT NOT NULL,
    policy TEXT NOT NULL,
    pending_policy TEXT,
    pending_by TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX partnerships_vendor ON partnerships(vendor_org_id);
CREATE INDEX partnerships_partner ON partnerships(partner_org_id);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    partnership_id TEXT NOT NULL REFERENCES partnerships(id),
    state TEXT NOT NULL,
    protocol_version TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    policy TEXT NOT NULL,
    min_cell_size BIGINT NOT NULL,
    result TEXT,
    computed_at BIGINT
);
CREATE INDEX sessions_partnership ON sessions(partnership_id, created_at);
CREATE INDEX sessions_state ON sessions(state);

CREATE TABLE session_parties (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    role TEXT NOT NULL,
    populations TEXT,
    records BIGINT,
    blinded_committed BIGINT NOT NULL DEFAULT 0,
    tokens_committed BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, role)
);

-- One row per uploaded chunk: N x 48-byte blinded records in one blob.
CREATE TABLE blinded_chunks (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    role TEXT NOT NULL,
    seq BIGINT NOT NULL,
    records BIGINT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (session_id, role, seq)
);

-- One row per uploaded chunk: N x 16-byte match tokens in one blob.
CREATE TABLE token_chunks (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    role TEXT NOT NULL,
    seq BIGINT NOT NULL,
    records BIGINT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (session_id, role, seq)
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    partnership_id TEXT NOT NULL REFERENCES partnerships(id),
    at BIGINT NOT NULL,
    org_name TEXT NOT NULL,
    token_id TEXT NOT NULL,
    action TEXT NOT NULL,
    session_id TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_partnership ON audit_log(partnership_id, id);
