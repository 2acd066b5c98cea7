-- Agent heartbeats (add-only): one row per organization, replaced by each
-- heartbeat. Versions, refresh schedules and liveness only, never account
-- data. offline_reported_at is set by the one replica whose offline sweep
-- claims the row (compare-and-set on last_seen), so agent.offline is sent
-- once per outage; the next heartbeat clears it.
CREATE TABLE agent_heartbeats (
    org_id TEXT PRIMARY KEY REFERENCES orgs(id),
    agent_version TEXT NOT NULL,
    protocol TEXT NOT NULL,
    schedules TEXT NOT NULL,
    last_seen BIGINT NOT NULL,
    offline_reported_at BIGINT
);
CREATE INDEX agent_heartbeats_offline ON agent_heartbeats(offline_reported_at, last_seen);
