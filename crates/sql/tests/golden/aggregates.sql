CREATE TABLE s (g TEXT, x INTEGER, f BOOLEAN);
INSERT INTO s VALUES ('a', 1, true), ('a', 2, false), ('b', NULL, true), ('b', 4, true), ('c', NULL, NULL);
SELECT count(*), count(x), sum(x), avg(x), min(x), max(x) FROM s;
SELECT g, count(*), sum(x) FROM s GROUP BY g ORDER BY g;
SELECT g, sum(x) FROM s GROUP BY g HAVING sum(x) > 2 ORDER BY 1;
SELECT count(DISTINCT g), string_agg(g, ',') FROM s WHERE x IS NOT NULL;
SELECT g, bool_and(f), bool_or(f) FROM s GROUP BY g ORDER BY g;
-- aggregates over no rows: count is 0, the rest NULL
SELECT count(*), sum(x), max(x) FROM s WHERE x > 100;
SELECT g FROM s WHERE x > 100 GROUP BY g;
SELECT x + 1 AS y, count(*) FROM s GROUP BY x + 1 ORDER BY y;
SELECT g, x FROM s GROUP BY g;
SELECT sum(g) FROM s;
SELECT count(*) FROM s WHERE count(*) > 1;
-- FILTER: only rows where it is true are aggregated
SELECT count(*) FILTER (WHERE x > 1), sum(x) FILTER (WHERE f), count(x) FILTER (WHERE NULL) FROM s;
SELECT g, count(*) FILTER (WHERE x IS NULL), avg(x) FILTER (WHERE x % 2 = 0), sum(x) FROM s GROUP BY g ORDER BY g;
SELECT count(DISTINCT g) FILTER (WHERE f) FROM s;
SELECT sum(10 / x) FILTER (WHERE x <> 2), count(*) FILTER (WHERE 't') FROM s;
SELECT nosuch(x) FILTER (WHERE true) FROM s;
SELECT g FROM s GROUP BY g HAVING count(*) FILTER (WHERE f) = 2;
EXPLAIN SELECT count(*) FILTER (WHERE x > 1) FROM s;
SELECT count(*) FILTER (WHERE x) FROM s;
SELECT count(*) FILTER (WHERE 't'::text) FROM s;
SELECT count(*) FILTER (WHERE upper('t')) FROM s;
SELECT count(*) FILTER (WHERE NULL::int) FROM s;
SELECT count(*) FILTER (WHERE count(*) > 1) FROM s;
SELECT abs(x) FILTER (WHERE x > 1) FROM s;
-- clauses that change an aggregate's input are refused, never ignored
SELECT string_agg(g, ',' ORDER BY g) FROM s;
-- arithmetic on an aggregate or an outer column is not narrowed to the other operand's type
SELECT count(*) + 2147483647 FROM (VALUES (1)) v;
CREATE TABLE wide (id INT PRIMARY KEY, b BIGINT);
INSERT INTO wide VALUES (1, 3000000000);
SELECT (SELECT w.b + 1) FROM wide w;
SELECT max(b) + 1 FROM wide;
