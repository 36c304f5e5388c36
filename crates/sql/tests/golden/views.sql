CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, amount INTEGER);
INSERT INTO orders VALUES (1, 'ann', 10), (2, 'bob', 20), (3, 'ann', 5);
CREATE VIEW totals AS SELECT customer, sum(amount) AS total FROM orders GROUP BY customer;
SELECT * FROM totals ORDER BY customer;
SELECT t.total FROM totals t WHERE t.customer = 'ann';
-- column names, aliases, joins, views over views
CREATE VIEW big (who, how_much) AS SELECT customer, total FROM totals WHERE total > 12;
SELECT * FROM big;
SELECT b.who, o.id FROM big AS b JOIN orders o ON o.customer = b.who ORDER BY o.id;
SELECT x.a FROM big AS x (a, b);
-- a view sees the data as it is when used
INSERT INTO orders VALUES (4, 'cy', 50);
SELECT * FROM big ORDER BY who;
-- a view does not see the enclosing query's names
WITH orders AS (SELECT 1 AS id) SELECT count(*) FROM totals;
SELECT (SELECT count(*) FROM totals) AS n FROM orders WHERE id = 1;
-- listed as views; written or altered only as tables
SELECT table_name, table_type FROM information_schema.tables ORDER BY table_name;
INSERT INTO totals VALUES ('x', 1);
UPDATE totals SET total = 0;
DELETE FROM totals;
ALTER TABLE totals ADD COLUMN c INTEGER;
CREATE INDEX ti ON totals (customer);
-- names and definitions
CREATE VIEW totals AS SELECT 1;
CREATE VIEW IF NOT EXISTS totals AS SELECT 1;
CREATE TABLE totals (x INTEGER);
CREATE VIEW orders AS SELECT 1;
CREATE VIEW broken AS SELECT nope FROM orders;
CREATE VIEW broken AS SELECT * FROM missing;
CREATE VIEW twice (a, b, c) AS SELECT 1, 2;
CREATE VIEW dup AS SELECT 1 AS a, 2 AS a;
CREATE MATERIALIZED VIEW m AS SELECT 1;
-- OR REPLACE, and a view that would read itself
CREATE OR REPLACE VIEW big (who, how_much) AS SELECT customer, total FROM totals WHERE total > 30;
SELECT * FROM big;
CREATE VIEW loop1 AS SELECT 1 AS x;
CREATE OR REPLACE VIEW loop1 AS SELECT * FROM loop1;
CREATE VIEW loop2 AS SELECT * FROM loop1;
CREATE OR REPLACE VIEW loop1 AS SELECT * FROM loop2;
SELECT * FROM loop1, loop2;
-- dropping what views read
DROP TABLE orders;
ALTER TABLE orders RENAME TO purchases;
DROP VIEW totals;
DROP VIEW totals CASCADE;
SELECT * FROM big;
DROP VIEW missing;
DROP VIEW IF EXISTS missing;
DROP VIEW loop1, loop2;
DROP TABLE orders;
-- dependencies are what the query resolves to: a WITH name is not a table
CREATE TABLE base (a INTEGER, b TEXT);
CREATE TABLE shadow (x INTEGER);
CREATE VIEW cte_view AS WITH shadow AS (SELECT a FROM base) SELECT * FROM shadow;
DROP TABLE shadow;
DROP TABLE base;
-- a view keeps the columns it had at CREATE
CREATE VIEW star AS SELECT * FROM base;
ALTER TABLE base ADD COLUMN c INTEGER;
SELECT * FROM star;
ALTER TABLE base RENAME COLUMN a TO aa;
ALTER TABLE base DROP COLUMN c;
DROP VIEW star, cte_view;
ALTER TABLE base DROP COLUMN c;
-- OR REPLACE may add columns at the end only
CREATE VIEW narrow AS SELECT a FROM base;
CREATE OR REPLACE VIEW narrow AS SELECT a, b FROM base;
CREATE OR REPLACE VIEW narrow AS SELECT b FROM base;
CREATE OR REPLACE VIEW narrow AS SELECT a FROM base;
CREATE OR REPLACE VIEW narrow AS SELECT CAST(a AS BIGINT) AS a, b FROM base;
-- the wrong kind of relation
DROP TABLE narrow;
DROP TABLE IF EXISTS narrow;
DROP VIEW base;
CREATE OR REPLACE VIEW base AS SELECT 1;
SELECT nextval('narrow');
ALTER TABLE IF EXISTS narrow ADD COLUMN z INTEGER;
-- a view that takes sequence values depends on the sequence
CREATE SEQUENCE tickets;
CREATE VIEW next_ticket AS SELECT nextval('tickets') AS t;
SELECT * FROM next_ticket;
DROP SEQUENCE tickets;
DROP SEQUENCE tickets CASCADE;
SELECT table_name FROM information_schema.tables WHERE table_type = 'VIEW';
-- a change that would break a view is refused when it is made
CREATE TABLE wide (a INTEGER);
CREATE VIEW all_wide AS SELECT * FROM wide;
CREATE VIEW over AS SELECT * FROM all_wide;
ALTER TABLE wide ADD COLUMN b INTEGER;
CREATE OR REPLACE VIEW all_wide AS SELECT a, 1 AS extra FROM wide;
SELECT * FROM over;
CREATE TABLE counted (id SERIAL, v TEXT);
CREATE VIEW next_counted AS SELECT nextval('counted_id_seq') AS n;
DROP TABLE counted;
ALTER TABLE counted DROP COLUMN id;
DROP TABLE counted CASCADE;
SELECT * FROM next_counted;
-- the wrong kind of relation, continued
CREATE SEQUENCE not_a_view;
DROP VIEW not_a_view;
DROP TABLE not_a_view;
-- a view's columns are listed too (the shell's \d v)
CREATE VIEW described (label, n) AS SELECT CAST('x' AS VARCHAR(5)), 1;
SELECT column_name, data_type, is_nullable, character_maximum_length FROM information_schema.columns WHERE table_name = 'described' ORDER BY ordinal_position;
