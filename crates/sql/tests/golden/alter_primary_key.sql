-- ALTER TABLE ... ADD PRIMARY KEY on a table created without one (pgbench's init step p)
CREATE TABLE pgbench_accounts (aid INTEGER NOT NULL, bid INTEGER, abalance INTEGER, filler CHAR(84));
INSERT INTO pgbench_accounts VALUES (3, 1, 0, 'c'), (1, 1, 0, 'a'), (2, 1, 0, 'b');
CREATE INDEX acc_bid ON pgbench_accounts (bid);
ALTER TABLE pgbench_accounts ADD PRIMARY KEY (aid);
EXPLAIN SELECT abalance FROM pgbench_accounts WHERE aid = 2;
SELECT aid, filler FROM pgbench_accounts WHERE aid = 2;
SELECT aid FROM pgbench_accounts;
EXPLAIN SELECT aid FROM pgbench_accounts WHERE bid = 1;
SELECT aid FROM pgbench_accounts WHERE bid = 1 ORDER BY aid;
INSERT INTO pgbench_accounts VALUES (2, 1, 0, 'dup');
INSERT INTO pgbench_accounts VALUES (4, 2, 0, 'd');
UPDATE pgbench_accounts SET abalance = abalance + 5 WHERE aid = 4;
SELECT * FROM pgbench_accounts WHERE aid = 4;
SELECT column_name, is_nullable FROM information_schema.columns WHERE table_name = 'pgbench_accounts' ORDER BY ordinal_position;
ALTER TABLE pgbench_accounts ADD PRIMARY KEY (bid);
-- duplicates: 23505, and nothing changes
CREATE TABLE d (a INTEGER, b TEXT);
INSERT INTO d VALUES (1, 'x'), (2, 'y'), (1, 'z');
ALTER TABLE d ADD PRIMARY KEY (a);
INSERT INTO d VALUES (1, 'again');
SELECT count(*) FROM d;
-- a multi-column key, named constraint, with a unique index rebuilt
ALTER TABLE d ADD CONSTRAINT d_pk PRIMARY KEY (a, b);
CREATE UNIQUE INDEX d_b ON d (b);
INSERT INTO d VALUES (3, 'x');
SELECT a, b FROM d ORDER BY a, b;
-- NULLs: 23502
CREATE TABLE n (a INTEGER, b INTEGER);
INSERT INTO n VALUES (1, 1), (NULL, 2);
ALTER TABLE n ADD PRIMARY KEY (a);
ALTER TABLE n ADD PRIMARY KEY (missing);
ALTER TABLE n ADD PRIMARY KEY (b, b);
ALTER TABLE n ADD PRIMARY KEY (b);
-- transactional: rolled back with the rest
CREATE TABLE r (a INTEGER);
INSERT INTO r VALUES (10), (20);
BEGIN;
ALTER TABLE r ADD PRIMARY KEY (a);
INSERT INTO r VALUES (10);
ROLLBACK;
INSERT INTO r VALUES (10);
SELECT a FROM r ORDER BY a;
-- an empty table
CREATE TABLE e (a INTEGER, b INTEGER);
ALTER TABLE e ADD PRIMARY KEY (b, a);
INSERT INTO e VALUES (1, 2), (1, 2);
-- a unique index that exists before the key is added is rebuilt and still enforced
CREATE TABLE u (a INTEGER, b TEXT UNIQUE);
INSERT INTO u VALUES (2, 'x'), (1, 'y');
ALTER TABLE u ADD PRIMARY KEY (a);
EXPLAIN SELECT a FROM u WHERE b = 'y';
SELECT a FROM u WHERE b = 'y';
INSERT INTO u VALUES (3, 'x');
UPDATE u SET b = 'z' WHERE a = 2;
SELECT a, b FROM u ORDER BY b;
