-- An admin can disable a user: their logins end and no new one starts (issue 11).
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
