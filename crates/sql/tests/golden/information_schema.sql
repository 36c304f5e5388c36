-- information_schema.tables and .columns are answered from the catalog
SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;
CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL, score NUMERIC(8,2) DEFAULT 1.5, note TEXT);
CREATE TABLE accounts (aid BIGINT, bid INTEGER, abalance INTEGER, filler CHAR(84));
SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;
SELECT * FROM information_schema.tables ORDER BY table_name;
SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_name = 't' ORDER BY ordinal_position;
SELECT c.table_name, count(*) FROM information_schema.tables t JOIN information_schema.columns c ON c.table_name = t.table_name GROUP BY c.table_name ORDER BY 1;
SELECT column_name, character_maximum_length FROM information_schema.columns WHERE table_name = 'accounts' AND character_maximum_length IS NOT NULL;
-- the views see the transaction's own DDL, and a rollback undoes it
BEGIN;
CREATE TABLE scratch (x INTEGER);
ALTER TABLE t ADD COLUMN extra BOOLEAN;
SELECT table_name FROM information_schema.tables ORDER BY table_name;
SELECT column_name FROM information_schema.columns WHERE table_name = 't' ORDER BY ordinal_position;
ROLLBACK;
SELECT table_name FROM information_schema.tables ORDER BY table_name;
DROP TABLE accounts;
SELECT count(*) FROM information_schema.columns;
-- read-only, and only tables and columns exist
INSERT INTO information_schema.tables VALUES ('public', 'x', 'BASE TABLE');
DELETE FROM information_schema.columns;
SELECT * FROM information_schema.views;
SELECT * FROM tables;
