"""Database access: the connection URL, an asyncpg pool, the tables and their migrations."""
