-- An inventory's text in pieces: the same as migrations/sqlite/0017_inventory_pieces.sql.
CREATE TABLE inventory_pieces (
    version BIGINT NOT NULL REFERENCES inventories (version),
    n       BIGINT NOT NULL CHECK (n >= 0),
    text    TEXT NOT NULL,
    PRIMARY KEY (version, n)
);
