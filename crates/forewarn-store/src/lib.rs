//! forewarn's storage: SQLite (the embedded default) and PostgreSQL through sqlx.
