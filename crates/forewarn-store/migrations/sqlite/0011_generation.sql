-- How many writes changed what the public pages show, counted by whichever instance made
-- them: every instance reads it about once a second and drops the pages it rendered before
-- another instance's write. One row.
CREATE TABLE generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n BIGINT NOT NULL
);
INSERT INTO generation (id, n) VALUES (1, 0);
