-- An inventory's text is kept in pieces of a few megabytes, in order, as a plan's is
-- (0014): a large fleet's inventory is hundreds of megabytes, and PostgreSQL's driver
-- kept a buffer the size of the largest row it had read for as long as its connection
-- lived. An inventory imported since has an empty `inventories.text`; one imported before
-- keeps its text there and has no pieces. Its text is `inventories.text` followed by its
-- pieces.
CREATE TABLE inventory_pieces (
    version INTEGER NOT NULL REFERENCES inventories (version),
    n       INTEGER NOT NULL CHECK (n >= 0),
    text    TEXT NOT NULL,
    PRIMARY KEY (version, n)
) STRICT;
