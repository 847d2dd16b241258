"""Handhelds enrolled by the server: a device's identity is issued at its first online sign-in and
never chosen by the client.

`id` is the public device id (named in sessions, scan envelopes and the managers' views);
`key_hash` is the SHA-256 of the secret the handheld holds in an httponly cookie, the only thing that
lets a browser sign in as that device. Sessions opened before this migration named a device id the
handheld had made for itself: they are ended, so every handheld signs in once more and is enrolled.
"""

NAME = "devices"

_STATEMENTS = """
CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  key_hash TEXT NOT NULL UNIQUE,
  enrolled_at TIMESTAMPTZ NOT NULL,
  enrolled_by_user_id BIGINT NULL REFERENCES users(id),
  last_sign_in_at TIMESTAMPTZ NOT NULL,
  revoked_at TIMESTAMPTZ NULL,
  revoked_by TEXT NOT NULL DEFAULT ''
)
;;
CREATE INDEX sessions_device_user ON sessions (device_id, user_id)
;;
UPDATE sessions SET ended_at = last_seen_at WHERE ended_at IS NULL
"""


def statements(dialect: str) -> list[str]:
    return [s.strip() for s in _STATEMENTS.split(";;")]
