-- Blinded points and tokens are uniformly random bytes: pglz cannot shrink
-- them but still spent ~half of PostgreSQL's CPU in a benchmark run trying.
-- EXTERNAL keeps out-of-line TOAST storage without the compression attempt.
ALTER TABLE blinded_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
ALTER TABLE token_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
