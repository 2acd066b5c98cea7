-- Protocol v2 privacy (add-only).
-- Per-session disclosure parameters: NULL epsilon_micro means exact counts.
-- The noise seed is drawn at creation, so a computation re-run after a crash
-- releases the same numbers.
ALTER TABLE sessions ADD COLUMN epsilon_micro BIGINT;
ALTER TABLE sessions ADD COLUMN noise_seed BLOB;
ALTER TABLE sessions ADD COLUMN max_populations_per_row BIGINT;

-- One row per pair of organizations (org_a < org_b): the row every session
-- creation of the pair locks, so budgets hold under concurrent creation
-- across partnerships and replicas.
CREATE TABLE org_pairs (
    org_a TEXT NOT NULL REFERENCES orgs(id),
    org_b TEXT NOT NULL REFERENCES orgs(id),
    PRIMARY KEY (org_a, org_b)
);
CREATE INDEX sessions_created ON sessions(created_at);
