-- pg_catalog.pg_class / pg_namespace, = ANY (ARRAY[...]), pg_table_is_visible:
-- what SQLAlchemy's inspector asks (has_table, get_table_names).
CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
CREATE TABLE u (a INTEGER);
SELECT oid, relname, relnamespace, relkind, relpersistence, relnatts, relhasindex FROM pg_catalog.pg_class ORDER BY relname;
SELECT oid, nspname FROM pg_catalog.pg_namespace ORDER BY oid;
-- has_table('t') and has_table('nope'), as psycopg2 sends them.
SELECT pg_catalog.pg_class.relname
FROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace
WHERE pg_catalog.pg_class.relname IN ('t') AND pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p', 'f', 'v', 'm']) AND pg_catalog.pg_table_is_visible(pg_catalog.pg_class.oid) AND pg_catalog.pg_namespace.nspname != 'pg_catalog';
SELECT pg_catalog.pg_class.relname
FROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace
WHERE pg_catalog.pg_class.relname IN ('nope') AND pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p', 'f', 'v', 'm']) AND pg_catalog.pg_table_is_visible(pg_catalog.pg_class.oid) AND pg_catalog.pg_namespace.nspname != 'pg_catalog';
-- get_table_names(), as psycopg 3 sends it (parameters cast to VARCHAR).
SELECT pg_catalog.pg_class.relname
FROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace
WHERE pg_catalog.pg_class.relkind = ANY (ARRAY['r'::VARCHAR, 'p'::VARCHAR]) AND pg_catalog.pg_class.relpersistence != 't'::VARCHAR AND pg_catalog.pg_table_is_visible(pg_catalog.pg_class.oid) AND pg_catalog.pg_namespace.nspname != 'pg_catalog'::VARCHAR;
-- DDL in a transaction is visible to its own catalog reads.
BEGIN;
DROP TABLE u;
SELECT relname FROM pg_catalog.pg_class c ORDER BY 1;
ROLLBACK;
SELECT count(*) FROM pg_catalog.pg_class;
-- ANY / ALL over arrays, with three-valued logic.
SELECT 2 = ANY (ARRAY[1, 2, 3]), 5 = ANY (ARRAY[1, 2]), 5 = ANY (ARRAY[1, NULL]), 1 = ANY (ARRAY[1, NULL]);
SELECT 5 > ALL (ARRAY[1, 2]), 5 > ALL (ARRAY[1, 9]), 5 > ALL (ARRAY[1, NULL]), 3 <> ALL (ARRAY[1, 2]);
SELECT id FROM t WHERE id = ANY (SELECT a FROM u);
SELECT pg_table_is_visible(16385), pg_table_is_visible(NULL);
-- Other pg_catalog relations do not exist.
SELECT * FROM pg_catalog.pg_type;
