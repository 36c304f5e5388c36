-- WITH RECURSIVE: evaluated by iteration over a working table, as in
-- PostgreSQL (answers checked against PostgreSQL 15)
WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5) SELECT * FROM t;
WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 100) SELECT count(*), sum(n) FROM t;
-- UNION discards duplicates, which ends a cycle
WITH RECURSIVE t(n) AS (SELECT 1 UNION SELECT (n % 3) + 1 FROM t) SELECT * FROM t ORDER BY n;
WITH RECURSIVE t(n) AS (VALUES (1) UNION ALL SELECT n + 1 FROM t WHERE n < 3) SELECT * FROM t;
WITH RECURSIVE t(n) AS (SELECT 'a'::text UNION ALL SELECT n || 'b' FROM t WHERE length(n) < 3) SELECT * FROM t;
WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT NULL FROM t WHERE n IS NOT NULL) SELECT * FROM t;
-- a tree walk: joins with tables, several columns, later CTEs and joins
CREATE TABLE emp (id INTEGER PRIMARY KEY, boss INTEGER, name TEXT);
INSERT INTO emp VALUES (1, NULL, 'root'), (2, 1, 'a'), (3, 1, 'b'), (4, 2, 'c'), (5, 4, 'd'), (6, 3, 'e');
WITH RECURSIVE sub(id, name, depth) AS (
  SELECT id, name, 0 FROM emp WHERE id = 2
  UNION ALL
  SELECT e.id, e.name, s.depth + 1 FROM emp e JOIN sub s ON e.boss = s.id
) SELECT * FROM sub ORDER BY depth, id;
WITH RECURSIVE up AS (
  SELECT id, boss FROM emp WHERE id = 5
  UNION ALL
  SELECT e.id, e.boss FROM up, emp e WHERE e.id = up.boss
) SELECT id FROM up;
WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3), u AS (SELECT n * 2 AS m FROM t) SELECT * FROM t JOIN u ON u.m = t.n;
WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) SELECT a.n, b.n FROM t a, t b WHERE a.n < b.n ORDER BY 1, 2;
SELECT (WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < id) SELECT max(n) FROM t) AS m FROM emp WHERE id < 4 ORDER BY id;
-- the recursive term may read the working table through a FROM subquery,
-- use GROUP BY and DISTINCT
WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT * FROM (SELECT n + 1 FROM t WHERE n < 3) s) SELECT * FROM t;
WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5 GROUP BY n) SELECT * FROM t;
WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT DISTINCT n + 1 FROM t WHERE n < 3) SELECT * FROM t;
-- a WITH RECURSIVE query that does not recurse is an ordinary WITH
WITH RECURSIVE x AS (SELECT 1 AS a) SELECT * FROM x;
-- malformed recursion: 42P19
WITH RECURSIVE t(n) AS (SELECT n FROM t UNION ALL SELECT 1) SELECT * FROM t;
WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT count(*) FROM t) SELECT * FROM t;
WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT (SELECT n FROM t)) SELECT * FROM t;
WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n IN (SELECT n FROM t)) SELECT * FROM t;
WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT 1 FROM generate_series(1, 2) g LEFT JOIN t ON true WHERE false) SELECT * FROM t;
WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT t.n FROM t LEFT JOIN emp ON false WHERE false) SELECT * FROM t;
WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT a.n FROM t a, t b WHERE false) SELECT * FROM t;
WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL (SELECT n + 1 FROM t WHERE n < 3 UNION ALL SELECT n + 10 FROM t WHERE n < 3)) SELECT * FROM t;
WITH RECURSIVE t(n) AS (SELECT 1 INTERSECT SELECT n + 1 FROM t) SELECT * FROM t;
WITH RECURSIVE t(n) AS (SELECT n FROM t) SELECT * FROM t;
-- the non-recursive term fixes the column types
WITH RECURSIVE t(n) AS (SELECT 1::int UNION ALL SELECT n::bigint + 1 FROM t WHERE n < 3) SELECT * FROM t;
WITH RECURSIVE t(n) AS (SELECT 1::bigint UNION ALL SELECT n::int + 1 FROM t WHERE n < 3) SELECT * FROM t;
-- not supported: ORDER BY / LIMIT on the recursive query
WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t ORDER BY 1) SELECT * FROM t;
WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t LIMIT 3) SELECT * FROM t;
