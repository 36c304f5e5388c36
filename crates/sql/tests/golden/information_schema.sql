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
-- constraints, as tools introspect them
CREATE TABLE isp (id INT PRIMARY KEY, code TEXT UNIQUE, a INT, b INT);
CREATE UNIQUE INDEX isp_ab ON isp (a, b);
CREATE TABLE isc (id SERIAL PRIMARY KEY, p INT REFERENCES isp ON DELETE CASCADE, pc TEXT REFERENCES isp (code), x INT, y INT, FOREIGN KEY (x, y) REFERENCES isp (a, b) ON DELETE SET NULL);
SELECT constraint_name, table_name, constraint_type, is_deferrable, initially_deferred FROM information_schema.table_constraints WHERE table_name IN ('isp', 'isc') AND constraint_type <> 'CHECK' ORDER BY table_name, constraint_name;
SELECT constraint_name, table_name, column_name, ordinal_position, position_in_unique_constraint FROM information_schema.key_column_usage WHERE table_name IN ('isp', 'isc') ORDER BY table_name, constraint_name, ordinal_position;
SELECT constraint_name, unique_constraint_name, match_option, update_rule, delete_rule FROM information_schema.referential_constraints ORDER BY constraint_name;
SELECT tc.table_name, kcu.column_name, ccu.table_name AS foreign_table_name, ccu.column_name AS foreign_column_name FROM information_schema.table_constraints AS tc JOIN information_schema.key_column_usage AS kcu ON tc.constraint_name = kcu.constraint_name AND tc.table_schema = kcu.table_schema JOIN information_schema.constraint_column_usage AS ccu ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_name = 'isc' ORDER BY kcu.column_name, foreign_column_name;
SELECT sequence_name, data_type, start_value, minimum_value, maximum_value, increment, cycle_option FROM information_schema.sequences ORDER BY sequence_name;
CREATE VIEW isv AS SELECT id FROM isp;
SELECT table_name, check_option, is_updatable FROM information_schema.views WHERE table_name = 'isv';
SELECT * FROM information_schema.nope;
