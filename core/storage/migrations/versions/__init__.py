"""Alembic revisions of our tables, oldest first; each one brings a database from its parent to it."""
