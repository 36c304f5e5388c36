-- column and table foreign keys, checked on insert and update
CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT UNIQUE);
CREATE TABLE books (id SERIAL PRIMARY KEY, author_id INTEGER REFERENCES authors, title TEXT);
INSERT INTO authors VALUES (1, 'ann'), (2, 'bob');
INSERT INTO books (author_id, title) VALUES (1, 'a'), (2, 'b'), (NULL, 'anonymous');
INSERT INTO books (author_id, title) VALUES (3, 'c');
UPDATE books SET author_id = 9 WHERE title = 'a';
UPDATE books SET title = 'a2' WHERE title = 'a';
-- a referenced row cannot go, nor its key change (NO ACTION)
DELETE FROM authors WHERE id = 1;
UPDATE authors SET id = 10 WHERE id = 1;
UPDATE authors SET name = 'ann2' WHERE id = 1;
DELETE FROM books WHERE author_id = 1;
DELETE FROM authors WHERE id = 1;
SELECT * FROM authors ORDER BY id;
-- referencing a unique column, by name, with actions
CREATE TABLE reviews (id INTEGER PRIMARY KEY, author TEXT, book INTEGER, CONSTRAINT by_author FOREIGN KEY (author) REFERENCES authors (name) ON DELETE CASCADE, FOREIGN KEY (book) REFERENCES books (id) ON DELETE SET NULL);
INSERT INTO reviews VALUES (1, 'bob', 2), (2, 'bob', NULL), (3, 'nobody', NULL);
INSERT INTO reviews VALUES (3, 'bob', 2);
DELETE FROM books WHERE author_id = 2;
SELECT * FROM reviews ORDER BY id;
DELETE FROM authors WHERE name = 'bob';
SELECT count(*) FROM reviews;
-- RESTRICT refuses at once
CREATE TABLE pins (book INTEGER REFERENCES books ON DELETE RESTRICT);
INSERT INTO pins VALUES ((SELECT min(id) FROM books));
DELETE FROM books;
-- definitions that cannot work
CREATE TABLE bad1 (x INTEGER REFERENCES missing);
CREATE TABLE bad2 (x TEXT REFERENCES authors);
CREATE TABLE bad3 (x INTEGER REFERENCES authors (name));
CREATE TABLE bad4 (x INTEGER REFERENCES reviews (author));
CREATE TABLE bad5 (x INTEGER, FOREIGN KEY (x, x) REFERENCES authors);
CREATE TABLE bad6 (x INTEGER REFERENCES authors ON DELETE SET DEFAULT);
CREATE TABLE bad7 (x INTEGER REFERENCES authors ON UPDATE CASCADE);
CREATE TABLE bad8 (x INTEGER REFERENCES nokey);
-- a self-reference: rows may point at themselves; one DELETE may remove a whole tree
CREATE TABLE tree (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES tree (id));
INSERT INTO tree VALUES (1, 1), (2, 1), (3, 2);
INSERT INTO tree VALUES (4, 5);
DELETE FROM tree WHERE id = 2;
DELETE FROM tree;
SELECT count(*) FROM tree;
-- ALTER TABLE ADD / DROP CONSTRAINT, checking existing rows
CREATE TABLE later (a INTEGER);
INSERT INTO later VALUES (1), (42);
ALTER TABLE later ADD CONSTRAINT later_a FOREIGN KEY (a) REFERENCES tree (id) DEFERRABLE INITIALLY DEFERRED;
INSERT INTO tree VALUES (1, NULL), (42, NULL);
ALTER TABLE later ADD CONSTRAINT later_a FOREIGN KEY (a) REFERENCES tree (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE later ADD CONSTRAINT later_a FOREIGN KEY (a) REFERENCES tree (id);
DELETE FROM tree WHERE id = 42;
ALTER TABLE later DROP CONSTRAINT later_a;
ALTER TABLE later DROP CONSTRAINT later_a;
ALTER TABLE later DROP CONSTRAINT IF EXISTS later_a;
DELETE FROM tree WHERE id = 42;
-- dropping, truncating and renaming tables that take part
ALTER TABLE later ADD FOREIGN KEY (a) REFERENCES tree;
DELETE FROM later WHERE a = 42;
ALTER TABLE later ADD FOREIGN KEY (a) REFERENCES tree;
TRUNCATE tree;
DROP TABLE tree;
ALTER TABLE tree RENAME TO forest;
INSERT INTO later VALUES (7);
INSERT INTO forest VALUES (7, NULL);
INSERT INTO later VALUES (7);
DELETE FROM forest WHERE id = 7;
ALTER TABLE later ADD COLUMN b INTEGER;
ALTER TABLE later DROP COLUMN b;
DROP TABLE forest CASCADE;
INSERT INTO later VALUES (8);
DROP TABLE later;
DROP TABLE reviews, authors, books, pins;
-- keys match exactly: no rounding or truncation on the way
CREATE TABLE ip (k INTEGER PRIMARY KEY);
INSERT INTO ip VALUES (1), (2);
CREATE TABLE nc (x NUMERIC(10,2) REFERENCES ip);
INSERT INTO nc VALUES (1.25);
INSERT INTO nc VALUES (2.00);
CREATE TABLE fp (k DOUBLE PRECISION PRIMARY KEY);
INSERT INTO fp VALUES (1.5), (2.0);
CREATE TABLE ic (x INTEGER REFERENCES fp ON DELETE CASCADE);
INSERT INTO ic VALUES (2);
DELETE FROM fp WHERE k = 1.5;
SELECT count(*) FROM ic;
CREATE TABLE vp (code VARCHAR(3) PRIMARY KEY);
INSERT INTO vp VALUES ('abc');
CREATE TABLE vc (code TEXT REFERENCES vp);
INSERT INTO vc VALUES ('abcd');
INSERT INTO vc VALUES ('abc');
-- a self-reference with SET NULL and an index on it: one DELETE takes all
CREATE TABLE emp (id INTEGER PRIMARY KEY, boss INTEGER REFERENCES emp ON DELETE SET NULL);
CREATE INDEX emp_boss ON emp (boss);
INSERT INTO emp VALUES (1, NULL), (2, 1), (3, 2);
DELETE FROM emp WHERE id = 1;
SELECT id, boss FROM emp ORDER BY id;
SELECT id FROM emp WHERE boss IS NULL ORDER BY id;
DELETE FROM emp;
SELECT count(*) FROM emp WHERE boss = 2;
-- two keys to one parent: SET NULL on one does not re-check the other
CREATE TABLE users (id INTEGER PRIMARY KEY);
CREATE TABLE messages (id INTEGER PRIMARY KEY, sender INTEGER REFERENCES users ON DELETE SET NULL, recipient INTEGER REFERENCES users ON DELETE CASCADE);
INSERT INTO users VALUES (1), (2);
INSERT INTO messages VALUES (1, 1, 1), (2, 1, 2);
DELETE FROM users WHERE id = 1;
SELECT * FROM messages ORDER BY id;
-- ON CONFLICT checks only the row it writes
INSERT INTO messages VALUES (2, 99, 2) ON CONFLICT DO NOTHING;
INSERT INTO messages VALUES (2, 99, 2) ON CONFLICT (id) DO UPDATE SET recipient = 2;
INSERT INTO messages VALUES (3, 99, 2) ON CONFLICT DO NOTHING;
-- the unique index a foreign key relies on cannot be dropped
CREATE TABLE up (id INTEGER PRIMARY KEY, code TEXT);
CREATE UNIQUE INDEX up_code ON up (code);
CREATE TABLE uc (code TEXT REFERENCES up (code));
DROP INDEX up_code;
-- TRUNCATE of a parent together with its children
TRUNCATE up;
TRUNCATE up, uc;
TRUNCATE up CASCADE;
