-- gharart-id: the whole current schema. Applied on first start (store/migrate.rs); later
-- changes are numbered steps in store/migrate.rs and PRAGMA user_version records where a file is.
-- Times are Unix seconds (UTC). No column holds a secret that can mint or replay a credential:
-- passwords are PBKDF2 hashes, codes are HMACs keyed by the key file, refresh tokens are not stored.

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    handle          TEXT NOT NULL UNIQUE,
    email           TEXT NOT NULL,
    email_key       TEXT NOT NULL UNIQUE,          -- lowercased email, for case-insensitive matching
    display_name    TEXT,
    password_hash   TEXT,                          -- PHC string; NULL until an invited user sets one
    email_confirmed INTEGER NOT NULL DEFAULT 0,
    disabled        INTEGER NOT NULL DEFAULT 0,
    origin          TEXT NOT NULL DEFAULT 'signup' CHECK (origin IN ('signup', 'invite')),
    pending_until   INTEGER,                       -- unconfirmed accounts hold handle and email until then
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    role            TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'admin')),
    groups          TEXT NOT NULL DEFAULT ''       -- space-separated, sorted: [a-z0-9_-]{1,64} each
);

-- The audit log (issue 19): security events, append-only (rows go only by --audit-days), each
-- written in the transaction of the change it records. No secret is ever in a row.
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    at            INTEGER NOT NULL,
    event         TEXT NOT NULL,
    actor_type    TEXT NOT NULL CHECK (actor_type IN ('user', 'operator', 'anonymous')),
    actor_id      TEXT,
    actor_handle  TEXT,
    target_type   TEXT,
    target_id     TEXT,
    target_handle TEXT,
    ip            TEXT,
    request_id    TEXT,
    details       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_by_time ON audit_log(at);
CREATE INDEX audit_by_target ON audit_log(target_id, at);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- An invitation file an admin uploaded on /admin/import (issue 19), from its preview to its
-- apply: handles, emails, names and groups, no secret. The body is emptied once applied; rows
-- untouched for a day are swept.
CREATE TABLE imports (
    id          TEXT PRIMARY KEY,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    file_name   TEXT NOT NULL,
    body        TEXT NOT NULL,
    total       INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('previewed', 'applying', 'applied')),
    done        INTEGER NOT NULL DEFAULT 0,
    created     INTEGER NOT NULL DEFAULT 0,
    existed     INTEGER NOT NULL DEFAULT 0,
    invalid     INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL
);

-- OAuth clients (RFC 7591). Only the SHA-256 of a confidential client's secret is kept.
CREATE TABLE oauth_clients (
    id            TEXT PRIMARY KEY,
    secret_hash   BLOB,                            -- NULL: a public client (token_endpoint_auth_method none)
    name          TEXT,
    redirect_uris TEXT NOT NULL,                   -- JSON array
    grant_types   TEXT NOT NULL,                   -- JSON array
    auth_method   TEXT NOT NULL,
    scope         TEXT NOT NULL,                   -- space-separated scopes the client may ask for
    metadata      TEXT NOT NULL,                   -- the registered metadata as answered (JSON)
    owner_id      TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    id                TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    generation        INTEGER NOT NULL DEFAULT 0,  -- the refresh token now current is this generation
    created_at        INTEGER NOT NULL,
    last_used_at      INTEGER NOT NULL,            -- idle lifetime slides from here
    expires_at        INTEGER NOT NULL,            -- absolute lifetime
    revoked_at        INTEGER,
    revoke_reason     TEXT CHECK (revoke_reason IN ('logout', 'reuse', 'password_reset', 'disabled', 'code_reuse', 'revoked')),
    reused_generation INTEGER,                     -- the token whose late reuse revoked the session
    user_agent        TEXT,
    client_id         TEXT REFERENCES oauth_clients(id) ON DELETE CASCADE,  -- NULL: a first-party login
    scope             TEXT,                        -- the grant's scopes; NULL: every scope (first-party)
    -- When the recent generations were rotated out, as `second:first_generation` pairs (see
    -- src/store/rotations.rs): a retry of a rotation is honoured inside the reuse interval.
    -- Entries older than the interval are dropped on rotation.
    rotations         TEXT NOT NULL DEFAULT '',
    -- How the sign-in behind the session was made (RFC 8176 values, space-separated): `pwd`,
    -- `pwd otp mfa` after a TOTP code, `pwd mfa` after a recovery code. Its tokens carry it.
    amr               TEXT NOT NULL DEFAULT 'pwd',
    -- When the user signed in (an id_token's `auth_time`): an OAuth session starts at the code
    -- exchange, after the browser's sign-in. NULL: at created_at.
    auth_time         INTEGER,
    -- The resources (RFC 8707) its grant was authorized for, space-separated; '': none named.
    resources         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_user ON sessions(user_id);

-- A user's TOTP (RFC 6238): the secret sealed under the key file (token/seal.rs, context the
-- user id), pending until a code confirms it; `last_step` is the last step whose code was
-- accepted, so it and every earlier one are refused.
CREATE TABLE totp (
    user_id       TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    sealed_secret BLOB NOT NULL,
    active        INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    last_step     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Recovery codes: their HMAC under the key file's pepper, never the code; single use.
CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_mac   BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, code_mac)
) WITHOUT ROWID;

-- The second step of a password sign-in: the `mfaToken` by its SHA-256, alive 5 minutes,
-- ended by its session or by the 5th wrong code.
CREATE TABLE mfa_challenges (
    token_hash BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    user_agent TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    failures   INTEGER NOT NULL DEFAULT 0,
    ended_at   INTEGER
) WITHOUT ROWID;

-- Passkeys (WebAuthn): a random handle per user (what authenticators see, not the user id),
-- each passkey's public key and the state that moves with each sign-in (flags, signature
-- counter): no secret. Ceremonies wait between start and finish by the hash of their
-- challengeId, single use, for 5 minutes.
CREATE TABLE passkey_users (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    handle  BLOB NOT NULL UNIQUE
) WITHOUT ROWID;
CREATE TABLE passkeys (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_id BLOB NOT NULL UNIQUE,
    public_key    BLOB NOT NULL,
    state         BLOB NOT NULL,
    transports    INTEGER NOT NULL,
    synced        INTEGER NOT NULL,
    name          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
) WITHOUT ROWID;
CREATE INDEX passkeys_by_user ON passkeys(user_id, created_at);
CREATE TABLE passkey_challenges (
    id_hash    BLOB PRIMARY KEY,
    ceremony   TEXT NOT NULL CHECK (ceremony IN ('register', 'discoverable', 'listed')),
    user_id    TEXT REFERENCES users(id) ON DELETE CASCADE,
    state      BLOB NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX passkey_challenges_by_expiry ON passkey_challenges(expires_at);

CREATE TABLE codes (
    id         INTEGER PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('confirm', 'reset')),
    code_mac   BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    killed_at  INTEGER                             -- set when wrong tries exhausted the codes
);
CREATE INDEX codes_by_user ON codes(user_id, purpose);

-- Wrong tries per user and purpose, across the live codes.
CREATE TABLE code_failures (
    user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose  TEXT NOT NULL,
    failures INTEGER NOT NULL,
    PRIMARY KEY (user_id, purpose)
) WITHOUT ROWID;

-- Mail is written here in the transaction that creates it, then delivered after the commit
-- (src/mail): retried while the code inside is alive, dropped as `expired` after. The code is
-- sealed under the key file (token/seal.rs) and forgotten once the message is sent or dropped;
-- the message is rendered from the row at delivery. `subject`/`body` hold only messages queued
-- by schema version 4, which rendered them at once.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    message_id   TEXT NOT NULL UNIQUE,              -- one Message-ID for every attempt
    to_addr      TEXT NOT NULL,
    subject      TEXT NOT NULL DEFAULT '',
    body         TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    sent_at      INTEGER,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,                              -- the last SMTP reply or error
    kind         TEXT NOT NULL DEFAULT 'stored' CHECK (kind IN ('stored', 'signup', 'invitation', 'resend', 'reset')),
    state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed', 'expired')),
    user_id      TEXT REFERENCES users(id) ON DELETE CASCADE,
    handle       TEXT NOT NULL DEFAULT '',
    inviter      TEXT,                              -- who invites, named in an invitation
    sealed_code  BLOB,                              -- NULL once sent or dropped
    ready_at     INTEGER NOT NULL DEFAULT 0,        -- the message's Date: queued, or --send-after
    next_at      INTEGER NOT NULL DEFAULT 0,        -- the next attempt is due then
    expires_at   INTEGER                            -- the code's expiry: never delivered after
);
CREATE INDEX outbox_due ON outbox(next_at) WHERE state = 'pending';
CREATE INDEX outbox_by_user ON outbox(user_id, id);
CREATE INDEX outbox_by_addr ON outbox(to_addr, created_at);

-- Personal access tokens: only the SHA-256 of the token is kept.
CREATE TABLE pats (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,                    -- space-separated
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX pats_by_user ON pats(user_id);

-- Daily write counts per UTC day, per IP and per account; kept here so a restart does not reset them.
CREATE TABLE daily_writes (
    day   INTEGER NOT NULL,                        -- Unix day number (UTC)
    scope TEXT NOT NULL CHECK (scope IN ('ip', 'account')),
    key   TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (day, scope, key)
) WITHOUT ROWID;

-- Idempotency-Key records (IETF httpapi draft): the first response to (caller, key), replayed
-- for 24 h. status IS NULL while the first request is still running.
CREATE TABLE idempotency_keys (
    caller     TEXT NOT NULL,
    key        TEXT NOT NULL,
    body_hash  BLOB NOT NULL,
    status     INTEGER,
    headers    TEXT,                               -- JSON array of [name, value]
    body       BLOB,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (caller, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_by_age ON idempotency_keys(created_at);

-- What the server saw of recent requests (no bodies, no secrets), so a support report that names
-- a request ID shows its outcome. Successful reads are not kept.
CREATE TABLE request_log (
    request_id TEXT NOT NULL,
    at         INTEGER NOT NULL,
    method     TEXT NOT NULL,
    route      TEXT NOT NULL,
    status     INTEGER NOT NULL,
    error_code TEXT,
    latency_ms REAL NOT NULL,
    user_id    TEXT,
    ip         TEXT NOT NULL
);
CREATE INDEX request_log_by_id ON request_log(request_id);
CREATE INDEX request_log_by_age ON request_log(at);

CREATE TABLE support_reports (
    id             TEXT PRIMARY KEY,
    received_at    INTEGER NOT NULL,
    summary        TEXT NOT NULL,
    details        TEXT NOT NULL,
    handle         TEXT,
    session_id     TEXT,
    request_id     TEXT,
    repro_artifact TEXT,
    reporter_id    TEXT,                           -- the user of a valid bearer credential, if any
    ip             TEXT NOT NULL,
    request_record TEXT                            -- JSON of the request_log row named by request_id
);
CREATE INDEX support_reports_by_time ON support_reports(received_at);

-- What each user allowed each client (remembered consent).
CREATE TABLE oauth_consents (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
) WITHOUT ROWID;

-- Browser sessions of the pages (the HttpOnly cookie's SHA-256 is the key); each is backed by a
-- first-party session, so it is listed, revoked and expired like any other.
CREATE TABLE browser_sessions (
    id_hash    BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Authorization requests waiting for the consent decision; the decision's redirect is kept so a
-- replayed form gets the same answer.
CREATE TABLE oauth_requests (
    id             TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    redirect_given INTEGER NOT NULL,
    scope          TEXT NOT NULL,
    state          TEXT,
    code_challenge TEXT NOT NULL,
    browser_key    TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    decision_url   TEXT,
    code_hash      BLOB,
    amr            TEXT NOT NULL DEFAULT 'pwd',
    nonce          TEXT,                           -- OpenID Connect: echoed in the id_token
    auth_time      INTEGER NOT NULL DEFAULT 0,     -- when the browser signed in
    resources      TEXT NOT NULL DEFAULT ''        -- RFC 8707, space-separated
);

-- Authorization codes: only their SHA-256; single use; the session issued from one is recorded so
-- that a second use can revoke it (RFC 6749 §4.1.2).
CREATE TABLE oauth_codes (
    code_hash      BLOB PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    redirect_given INTEGER NOT NULL,
    scope          TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    browser_key    TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER,
    session_id     TEXT,
    amr            TEXT NOT NULL DEFAULT 'pwd',      -- the browser sign-in's, for the tokens
    nonce          TEXT,
    auth_time      INTEGER NOT NULL DEFAULT 0,
    resources      TEXT NOT NULL DEFAULT ''
);

-- Access JWTs revoked before they expire (RFC 7009); rows go once the token would have expired.
CREATE TABLE revoked_jtis (
    jti        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
