-- Presented tokens are found by the SHA-256 of their secret; token ids are
-- random and no longer a prefix of the secret (add-only).
CREATE UNIQUE INDEX api_tokens_secret_hash ON api_tokens(secret_hash);
