-- Dashboard sign-ins live in the database so that a cookie issued by one
-- replica works on every other and survives a restart (add-only). Only the
-- SHA-256 of the cookie is stored: a database dump hands out no live cookie.
CREATE TABLE dashboard_sign_ins (
    cookie_hash BYTEA PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    token_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX dashboard_sign_ins_org ON dashboard_sign_ins(org_id, expires_at);
CREATE INDEX dashboard_sign_ins_expiry ON dashboard_sign_ins(expires_at);
CREATE INDEX dashboard_sign_ins_token ON dashboard_sign_ins(token_id);
