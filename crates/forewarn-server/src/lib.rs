//! forewarn's coordinator service: the JSON API, the status pages and feeds, metrics (axum).
