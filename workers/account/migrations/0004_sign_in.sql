-- Signing in with e-mail and password (the advisers' web app). Credentials live only in the
-- account's own D1; the platform asks this Worker whether a password is right and issues the session.

-- One slow, salted hash per user (PBKDF2-SHA256 through WebCrypto); never the password itself.
CREATE TABLE credentials (
  user_id TEXT PRIMARY KEY NOT NULL,
  algorithm TEXT NOT NULL,
  iterations INTEGER NOT NULL,
  salt TEXT NOT NULL,
  hash TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- Failed sign-ins by e-mail address, known to the account or not (so that slowing them down says
-- nothing about which addresses exist). A successful sign-in clears its row.
CREATE TABLE sign_in_failures (
  email TEXT PRIMARY KEY NOT NULL,
  failures INTEGER NOT NULL,
  last_failed_at INTEGER NOT NULL
);
