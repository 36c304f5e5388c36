CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT, c DOUBLE PRECISION);
INSERT INTO t VALUES (1, 'x', 1.5), (2, 'y', NULL), (3, NULL, 2.5), (4, 'x', 0.5);
SELECT * FROM t WHERE a >= 2 ORDER BY a DESC;
-- NULLs sort last ascending, first descending
SELECT b FROM t ORDER BY b;
SELECT b FROM t ORDER BY b DESC;
SELECT b FROM t ORDER BY b NULLS FIRST;
SELECT DISTINCT b FROM t ORDER BY 1;
SELECT a AS k, c FROM t ORDER BY k LIMIT 2 OFFSET 1;
SELECT a FROM t WHERE b IS NULL OR c < 1 ORDER BY a;
SELECT a + 1 AS n FROM t WHERE a IN (1, 3) ORDER BY n;
-- subqueries: scalar, IN, EXISTS, correlated
SELECT a FROM t WHERE c > (SELECT avg(c) FROM t) ORDER BY a;
SELECT a FROM t WHERE a IN (SELECT a FROM t WHERE b = 'x') ORDER BY a;
SELECT a, (SELECT count(*) FROM t AS u WHERE u.a < t.a) AS below FROM t ORDER BY a;
SELECT a FROM t AS o WHERE EXISTS (SELECT 1 FROM t AS i WHERE i.a = o.a + 1) ORDER BY a;
SELECT a FROM t WHERE NOT EXISTS (SELECT 1 FROM t WHERE a > 10) ORDER BY a LIMIT 1;
-- set operations
SELECT b FROM t UNION SELECT 'z' ORDER BY 1;
SELECT b FROM t UNION ALL SELECT b FROM t WHERE a = 1 ORDER BY 1;
SELECT a FROM t INTERSECT SELECT a + 1 FROM t ORDER BY 1;
SELECT a FROM t EXCEPT SELECT 2 ORDER BY 1;
-- WITH, derived tables, VALUES, generate_series
WITH big AS (SELECT a FROM t WHERE a > 2) SELECT count(*) FROM big;
SELECT s.n * 2 FROM (SELECT a AS n FROM t) AS s WHERE s.n < 3 ORDER BY 1;
SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v(x, y) ORDER BY x DESC;
SELECT * FROM generate_series(1, 3);
-- EXPLAIN shows the access path
EXPLAIN SELECT * FROM t WHERE a = 3;
EXPLAIN SELECT * FROM t WHERE a BETWEEN 2 AND 3;
-- an untyped string against the key (a driver's text parameter) still
-- uses it when the comparison is exact; otherwise a full scan decides
EXPLAIN SELECT * FROM t WHERE a = '3';
SELECT b FROM t WHERE a = '3';
SELECT b FROM t WHERE a = ' 3';
EXPLAIN SELECT * FROM t WHERE a = '3.0';
SELECT b, c FROM t WHERE a = '3.0';
-- FETCH FIRST is LIMIT; WITH TIES is refused, never ignored
SELECT a FROM t ORDER BY a FETCH FIRST 2 ROWS ONLY;
SELECT a FROM t ORDER BY a OFFSET 1 ROWS FETCH NEXT ROW ONLY;
SELECT a FROM t ORDER BY a FETCH FIRST 1 ROWS WITH TIES;
-- several subqueries in one SET or RETURNING list each keep their own value
CREATE TABLE subq_many (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER);
INSERT INTO subq_many VALUES (1, 0, 0);
UPDATE subq_many SET a = (SELECT 1), b = (SELECT 2) RETURNING (SELECT 3) AS c, (SELECT 4) AS d, a, b;
INSERT INTO subq_many VALUES (1, 0, 0) ON CONFLICT (id) DO UPDATE SET a = (SELECT 5), b = (SELECT 6) RETURNING a, b;
