-- ON CONFLICT: the conflict target picks the arbiter constraint; only a
-- conflict on it triggers the action (answers checked against PostgreSQL 15)
CREATE TABLE t (id INTEGER PRIMARY KEY, u INTEGER UNIQUE, v INTEGER);
CREATE UNIQUE INDEX t_v_idx ON t (v);
INSERT INTO t VALUES (1, 10, 100), (2, 20, 200);
-- a conflict on another unique constraint than the arbiter is 23505
INSERT INTO t VALUES (1, 30, 300) ON CONFLICT (u) DO NOTHING;
INSERT INTO t VALUES (3, 10, 300) ON CONFLICT (id) DO NOTHING;
INSERT INTO t VALUES (3, 10, 300) ON CONFLICT (u) DO NOTHING;
INSERT INTO t VALUES (3, 30, 100) ON CONFLICT (v) DO NOTHING RETURNING *;
-- the arbiter conflicts: the action, whatever other constraints say
INSERT INTO t VALUES (1, 20, 200) ON CONFLICT (id) DO NOTHING;
INSERT INTO t VALUES (1, 20, 200) ON CONFLICT (id) DO UPDATE SET v = 999 RETURNING *;
-- without a target, DO NOTHING arbitrates on every unique constraint
INSERT INTO t VALUES (3, 20, 300) ON CONFLICT DO NOTHING;
INSERT INTO t VALUES (3, 30, 999) ON CONFLICT DO NOTHING;
INSERT INTO t VALUES (3, 30, 300) ON CONFLICT DO NOTHING RETURNING id;
-- ON CONSTRAINT names the primary key or a unique constraint
INSERT INTO t VALUES (1, 0, 0) ON CONFLICT ON CONSTRAINT t_pkey DO UPDATE SET v = 998 RETURNING *;
INSERT INTO t VALUES (9, 10, 0) ON CONFLICT ON CONSTRAINT t_u_key DO UPDATE SET v = 997 RETURNING *;
INSERT INTO t VALUES (9, 10, 0) ON CONFLICT ON CONSTRAINT t_pkey DO NOTHING;
INSERT INTO t VALUES (1, 10, 0) ON CONFLICT ON CONSTRAINT nope DO NOTHING;
-- the target must be exactly the columns of a unique constraint
INSERT INTO t VALUES (1, 10, 0) ON CONFLICT (id, u) DO NOTHING;
INSERT INTO t VALUES (1, 10, 0) ON CONFLICT (nope) DO NOTHING;
INSERT INTO t VALUES (1, 10, 0) ON CONFLICT (id, id) DO UPDATE SET v = 996 RETURNING *;
-- index inference with a predicate is not supported
INSERT INTO t VALUES (1, 10, 0) ON CONFLICT (u) WHERE v > 0 DO NOTHING;
-- DO UPDATE needs a target
INSERT INTO t VALUES (1, 10, 0) ON CONFLICT DO UPDATE SET v = 1;
SELECT * FROM t ORDER BY id;
-- EXCLUDED, the target's alias, WHERE and RETURNING
INSERT INTO t AS x VALUES (2, 0, 5) ON CONFLICT (id) DO UPDATE SET v = x.v + excluded.v RETURNING x.id, x.v;
INSERT INTO t VALUES (2, 0, 7) ON CONFLICT (id) DO UPDATE SET v = excluded.v WHERE t.v < 0 RETURNING *;
INSERT INTO t VALUES (2, 0, 7) ON CONFLICT (id) DO UPDATE SET v = excluded.v WHERE excluded.v > 6 RETURNING *;
-- the updated row may itself violate a unique constraint: 23505
INSERT INTO t VALUES (1, 0, 0) ON CONFLICT (id) DO UPDATE SET u = 20;
INSERT INTO t VALUES (1, 0, 0) ON CONFLICT (id) DO UPDATE SET id = 2;
INSERT INTO t VALUES (1, 0, 0) ON CONFLICT (id) DO UPDATE SET id = 4, v = 4.6 RETURNING *;
-- DO UPDATE may not touch a row twice in one statement (21000), even when
-- its WHERE would skip it; the statement leaves nothing behind
INSERT INTO t VALUES (5, 50, 500), (5, 60, 600) ON CONFLICT (id) DO UPDATE SET v = excluded.v;
INSERT INTO t VALUES (6, 60, 600), (6, 61, 601) ON CONFLICT (id) DO UPDATE SET v = excluded.v WHERE false;
INSERT INTO t VALUES (4, 0, 0), (4, 0, 0) ON CONFLICT (id) DO UPDATE SET u = 41;
INSERT INTO t VALUES (4, 0, 0), (7, 0, 0) ON CONFLICT (id) DO UPDATE SET id = 7;
SELECT * FROM t WHERE id >= 4 ORDER BY id;
-- rows the statement did not touch may come up twice when WHERE skips them
INSERT INTO t VALUES (4, 0, 0), (4, 0, 0) ON CONFLICT (id) DO UPDATE SET v = excluded.v WHERE false;
-- DO NOTHING keeps the first of two proposals with the same key
INSERT INTO t VALUES (5, 50, 500), (5, 60, 600) ON CONFLICT (id) DO NOTHING RETURNING *;
-- a multi-column target matches in any order; NULLs never conflict
CREATE TABLE m (a INTEGER, b INTEGER, c INTEGER, UNIQUE (a, b), UNIQUE (c));
INSERT INTO m VALUES (1, 2, 3);
INSERT INTO m VALUES (1, 2, 4) ON CONFLICT (b, a) DO UPDATE SET c = m.c + 10 RETURNING *;
INSERT INTO m VALUES (5, 6, 13) ON CONFLICT (a, b) DO NOTHING;
INSERT INTO m VALUES (5, 6, 13) ON CONFLICT DO NOTHING;
INSERT INTO m VALUES (NULL, 2, 13) ON CONFLICT (a, b) DO NOTHING;
INSERT INTO m VALUES (NULL, 2, 14) ON CONFLICT (a, b) DO UPDATE SET c = 0 RETURNING *;
INSERT INTO m VALUES (1, 2, 14) ON CONFLICT (c) DO NOTHING;
SELECT * FROM m ORDER BY c;
-- a table without unique constraints
CREATE TABLE n (a INTEGER, b INTEGER);
INSERT INTO n VALUES (1, 1), (1, 1) ON CONFLICT DO NOTHING;
INSERT INTO n VALUES (1, 1) ON CONFLICT (a) DO NOTHING;
SELECT count(*) FROM n;
-- a plain INSERT still reports every conflict
INSERT INTO t VALUES (2, 999, 999);
INSERT INTO t VALUES (999, 10, 999);
-- a DO UPDATE that moves the key stores, returns and remembers the cast key
CREATE TABLE kmove (id int PRIMARY KEY, v int);
INSERT INTO kmove VALUES (1, 0);
INSERT INTO kmove VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET id = 4.6 RETURNING *;
DELETE FROM kmove;
INSERT INTO kmove VALUES (1, 0);
INSERT INTO kmove VALUES (1, 1), (5, 2) ON CONFLICT (id) DO UPDATE SET id = 4.6, v = excluded.v;
UPDATE kmove SET id = 7.4 RETURNING id;
-- an index predicate is satisfied by any (whole-table) unique index
INSERT INTO kmove VALUES (1, 9) ON CONFLICT (id) WHERE v > 0 DO NOTHING;
