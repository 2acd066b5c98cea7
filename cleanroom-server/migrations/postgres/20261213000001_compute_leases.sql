-- A session in `computing` is a job that any replica on this database may
-- claim: the claimer writes its id and when its claim runs out (unix
-- milliseconds), renews while it computes, and another replica takes over a
-- claim that ran out (add-only). NULL: unclaimed.
ALTER TABLE sessions ADD COLUMN lease_owner TEXT;
ALTER TABLE sessions ADD COLUMN leased_until_ms BIGINT;
