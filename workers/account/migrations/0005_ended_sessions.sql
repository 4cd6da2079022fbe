-- Browser sessions ended before their expiry (signed out). A session is a platform-signed user token
-- with an id (jti); the account's Worker refuses a token whose session is listed here. Rows go once
-- the token would have expired anyway.
CREATE TABLE ended_sessions (
  session_id TEXT PRIMARY KEY NOT NULL,
  expires_at INTEGER NOT NULL
);
