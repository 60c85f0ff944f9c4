"""Administration: users, authentication, sessions and tokens, roles and permissions, the audit log, settings."""
