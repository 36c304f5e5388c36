CREATE TABLE e (id INT PRIMARY KEY, dept TEXT, sal INT);
INSERT INTO e VALUES (1, 'a', 100), (2, 'a', 200), (3, 'a', 200), (4, 'a', 300), (5, 'b', 50), (6, 'b', NULL), (7, 'b', 50), (8, NULL, 10), (9, NULL, NULL);
-- ranking: ties share rank, dense_rank has no gaps, row_number breaks ties
SELECT id, dept, sal, row_number() OVER (PARTITION BY dept ORDER BY sal, id), rank() OVER (PARTITION BY dept ORDER BY sal), dense_rank() OVER (PARTITION BY dept ORDER BY sal) FROM e ORDER BY id;
SELECT id, sal, percent_rank() OVER (ORDER BY sal), cume_dist() OVER (ORDER BY sal) FROM e ORDER BY id;
-- without ORDER BY every row of a partition is a peer
SELECT id, rank() OVER (), dense_rank() OVER (PARTITION BY dept), percent_rank() OVER (), cume_dist() OVER (PARTITION BY dept) FROM e ORDER BY id;
SELECT id, sal, ntile(3) OVER (ORDER BY id), ntile(2) OVER (PARTITION BY dept ORDER BY id), ntile(5) OVER (PARTITION BY dept ORDER BY id) FROM e ORDER BY id;
SELECT id, ntile(NULL) OVER (ORDER BY id) FROM e WHERE id < 3 ORDER BY id;
-- lag/lead: offset, default, negative and NULL offsets
SELECT id, sal, lag(sal) OVER (ORDER BY id), lead(sal) OVER (ORDER BY id), lag(sal, 2, -1) OVER (ORDER BY id), lead(id, -1) OVER (ORDER BY id), lag(id, NULL) OVER (ORDER BY id) FROM e ORDER BY id;
SELECT id, dept, lag(id) OVER (PARTITION BY dept ORDER BY id), lead(id, 1, 0) OVER (PARTITION BY dept ORDER BY id) FROM e ORDER BY id;
-- first_value/last_value/nth_value see the frame: by default up to the last peer
SELECT id, sal, first_value(id) OVER (ORDER BY sal), last_value(sal) OVER (ORDER BY sal), nth_value(sal, 4) OVER (ORDER BY sal), last_value(id) OVER (ORDER BY sal, id) FROM e ORDER BY id;
SELECT id, first_value(sal) OVER w, last_value(sal) OVER w, nth_value(sal, 3) OVER w FROM e WINDOW w AS (PARTITION BY dept ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) ORDER BY id;
-- aggregates over windows: the default frame includes peers
SELECT id, sal, sum(sal) OVER (ORDER BY sal), count(*) OVER (ORDER BY sal), count(sal) OVER (ORDER BY sal), avg(sal) OVER (ORDER BY sal) FROM e ORDER BY id;
SELECT id, dept, sum(sal) OVER (PARTITION BY dept), min(sal) OVER (PARTITION BY dept), max(sal) OVER (PARTITION BY dept), count(*) OVER () FROM e ORDER BY id;
SELECT id, string_agg(dept, ',') OVER (ORDER BY id), bool_and(sal > 60) OVER (ORDER BY id), bool_or(sal > 250) OVER (ORDER BY id) FROM e ORDER BY id;
-- NULLs sort last ascending, first descending, unless told otherwise
SELECT id, sal, row_number() OVER (ORDER BY sal DESC, id), row_number() OVER (ORDER BY sal DESC NULLS LAST, id), row_number() OVER (ORDER BY sal NULLS FIRST, id) FROM e ORDER BY id;
-- frames
SELECT id, sal, sum(sal) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING), sum(sal) OVER (ORDER BY id ROWS 2 PRECEDING), sum(sal) OVER (ORDER BY id ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) FROM e ORDER BY id;
SELECT id, count(*) OVER (ORDER BY id ROWS BETWEEN 2 FOLLOWING AND 3 FOLLOWING), sum(id) OVER (ORDER BY id ROWS BETWEEN 3 PRECEDING AND 2 PRECEDING), first_value(id) OVER (ORDER BY id ROWS BETWEEN 2 FOLLOWING AND 3 FOLLOWING) FROM e ORDER BY id;
SELECT id, sal, sum(sal) OVER (ORDER BY sal RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING), count(*) OVER (ORDER BY sal RANGE BETWEEN CURRENT ROW AND CURRENT ROW), sum(sal) OVER (ORDER BY sal RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING), sum(sal) OVER (ORDER BY sal, id ROWS UNBOUNDED PRECEDING) FROM e ORDER BY id;
SELECT id, sum(id) OVER (ORDER BY id ROWS BETWEEN 0 PRECEDING AND 0 FOLLOWING) FROM e ORDER BY id LIMIT 3;
-- GROUPS frames count peer groups
SELECT id, sal, sum(sal) OVER (ORDER BY sal GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW), count(*) OVER (ORDER BY sal GROUPS BETWEEN 1 FOLLOWING AND 2 FOLLOWING), sum(id) OVER (PARTITION BY dept ORDER BY sal GROUPS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), min(id) OVER (ORDER BY sal GROUPS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) FROM e ORDER BY id;
SELECT id, count(*) OVER (ORDER BY sal GROUPS 2 PRECEDING), count(*) OVER (ORDER BY sal DESC GROUPS BETWEEN 3 PRECEDING AND 2 PRECEDING) FROM e ORDER BY id;
SELECT sum(sal) OVER (GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM e;
SELECT sum(sal) OVER (ORDER BY id GROUPS BETWEEN id PRECEDING AND CURRENT ROW) FROM e;
-- RANGE offsets: distances from the current row's key; NULL keys are
-- in range only of each other
SELECT id, sal, sum(sal) OVER (ORDER BY sal RANGE BETWEEN 50 PRECEDING AND CURRENT ROW), count(*) OVER (ORDER BY sal RANGE BETWEEN 40 PRECEDING AND 100 FOLLOWING), sum(id) OVER (ORDER BY sal RANGE BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), count(*) OVER (ORDER BY sal RANGE BETWEEN UNBOUNDED PRECEDING AND 60 PRECEDING) FROM e ORDER BY id;
SELECT id, sal, sum(sal) OVER (ORDER BY sal DESC RANGE BETWEEN 50 PRECEDING AND CURRENT ROW), count(*) OVER (ORDER BY sal DESC NULLS LAST RANGE BETWEEN 100 PRECEDING AND 40 FOLLOWING), count(*) OVER (ORDER BY sal NULLS FIRST RANGE BETWEEN UNBOUNDED PRECEDING AND 0 FOLLOWING), sum(id) OVER (PARTITION BY dept ORDER BY sal RANGE 100 PRECEDING) FROM e ORDER BY id;
SELECT id, count(*) OVER (ORDER BY sal RANGE BETWEEN 9223372036854775807 PRECEDING AND 9223372036854775807 FOLLOWING), count(*) OVER (ORDER BY sal DESC RANGE BETWEEN CURRENT ROW AND 9223372036854775807 FOLLOWING) FROM e ORDER BY id;
SELECT sum(sal) OVER (ORDER BY sal, id RANGE 10 PRECEDING) FROM e;
SELECT sum(sal) OVER (RANGE 10 PRECEDING) FROM e;
SELECT sum(sal) OVER (ORDER BY dept RANGE 10 PRECEDING) FROM e;
-- RANGE offsets over dates and timestamps are intervals
CREATE TABLE m (t TIMESTAMP, d DATE, tz TIMESTAMPTZ, v INT);
INSERT INTO m VALUES ('2024-01-01 00:00', '2024-01-01', '2024-01-01 00:00+00', 1), ('2024-01-01 12:00', '2024-01-02', '2024-01-01 12:00+00', 2), ('2024-01-02 06:00', '2024-01-03', '2024-01-02 06:00+00', 4), ('2024-01-05 00:00', '2024-01-10', '2024-01-05 00:00+00', 8), (NULL, NULL, NULL, 16), ('2024-02-01', '2024-02-01', '2024-02-01 00:00+00', 32);
SELECT t, v, sum(v) OVER (ORDER BY t RANGE BETWEEN INTERVAL '1 day' PRECEDING AND CURRENT ROW), sum(v) OVER (ORDER BY t DESC RANGE BETWEEN '12 hours' PRECEDING AND '1 day' FOLLOWING), sum(v) OVER (ORDER BY tz RANGE BETWEEN CURRENT ROW AND '1 day 6 hours' FOLLOWING) FROM m ORDER BY t;
SELECT d, sum(v) OVER (ORDER BY d RANGE BETWEEN '1 day' PRECEDING AND '1 mon' FOLLOWING), count(*) OVER (ORDER BY d RANGE '2 days' PRECEDING) FROM m ORDER BY d;
SELECT sum(v) OVER (ORDER BY t RANGE BETWEEN 1 PRECEDING AND CURRENT ROW) FROM m;
SELECT sum(v) OVER (ORDER BY v RANGE BETWEEN '1 day' PRECEDING AND CURRENT ROW) FROM m;
SELECT sum(v) OVER (ORDER BY t RANGE BETWEEN INTERVAL '-1 day' PRECEDING AND CURRENT ROW) FROM m;
EXPLAIN SELECT sum(v) OVER (ORDER BY t RANGE BETWEEN INTERVAL '1 day 2 hours' PRECEDING AND CURRENT ROW) FROM m;
-- a month past year 9999 that the days bring back is within range
SELECT d, sum(v) OVER (ORDER BY d RANGE BETWEEN CURRENT ROW AND INTERVAL '1 mon -20 days' FOLLOWING) FROM (VALUES (DATE '9999-12-15', 1), (DATE '9999-12-20', 2), (DATE '9999-12-30', 3)) x(d, v) ORDER BY d;
SELECT sum(sal) OVER (ORDER BY sal RANGE 1.5 PRECEDING) FROM e;
SELECT sum(sal) OVER (ORDER BY sal RANGE -1 PRECEDING) FROM e;
SELECT sum(sal) OVER (ORDER BY sal RANGE BETWEEN NULL PRECEDING AND CURRENT ROW) FROM e;
-- frames that are not supported are refused, never approximated (EXCLUDE
-- does not even parse)
SELECT sum(sal) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE CURRENT ROW) FROM e;
SELECT sum(sal) OVER (ORDER BY id ROWS BETWEEN (SELECT 1) PRECEDING AND CURRENT ROW) FROM e;
SELECT sum(sal) OVER (ORDER BY id ROWS BETWEEN id PRECEDING AND CURRENT ROW) FROM e;
SELECT id, sum(sal) OVER (ORDER BY id ROWS BETWEEN 1 + 1 PRECEDING AND CURRENT ROW) FROM e ORDER BY id LIMIT 3;
-- invalid frames
SELECT sum(sal) OVER (ORDER BY id ROWS UNBOUNDED FOLLOWING) FROM e;
SELECT sum(sal) OVER (ORDER BY id ROWS BETWEEN CURRENT ROW AND UNBOUNDED PRECEDING) FROM e;
SELECT sum(sal) OVER (ORDER BY id ROWS BETWEEN CURRENT ROW AND 1 PRECEDING) FROM e;
SELECT sum(sal) OVER (ORDER BY id ROWS BETWEEN 1 FOLLOWING AND CURRENT ROW) FROM e;
SELECT sum(sal) OVER (ORDER BY id ROWS BETWEEN -1 PRECEDING AND CURRENT ROW) FROM e;
SELECT sum(sal) OVER (ORDER BY id ROWS BETWEEN CURRENT ROW AND NULL FOLLOWING) FROM e;
SELECT sum(sal) OVER (ORDER BY sal, id RANGE BETWEEN CURRENT ROW AND 1 PRECEDING) FROM e;
-- windows run after GROUP BY and HAVING
SELECT dept, sum(sal), rank() OVER (ORDER BY sum(sal) DESC) FROM e GROUP BY dept ORDER BY dept;
SELECT dept, count(*), sum(count(*)) OVER (), sum(sum(sal)) OVER (ORDER BY dept) FROM e GROUP BY dept HAVING count(*) > 1 ORDER BY dept;
SELECT dept, row_number() OVER (ORDER BY sal) FROM e GROUP BY dept;
-- the query's ORDER BY, LIMIT and DISTINCT apply to window results
SELECT id, rank() OVER (ORDER BY sal DESC) AS r FROM e ORDER BY r, id LIMIT 4;
SELECT id FROM e ORDER BY row_number() OVER (ORDER BY sal DESC, id) LIMIT 3;
SELECT DISTINCT dept, count(*) OVER (PARTITION BY dept) FROM e ORDER BY 1;
-- ranks are bigint, ntile integer, in arithmetic too
SELECT id, row_number() OVER (ORDER BY id) + 2147483647 AS big FROM e ORDER BY id LIMIT 2;
SELECT ntile(2) OVER (ORDER BY id) + 2147483647 FROM e;
SELECT id, max(sal) OVER () + 2147483647 FROM e;
-- in subqueries and CTEs: top two salaries per department
SELECT dept, id, sal FROM (SELECT dept, id, sal, row_number() OVER (PARTITION BY dept ORDER BY sal DESC NULLS LAST, id) AS rn FROM e) t WHERE rn <= 2 ORDER BY dept, rn;
WITH r AS (SELECT id, sal - lag(sal) OVER (ORDER BY id) AS delta FROM e) SELECT id, delta FROM r WHERE delta IS NOT NULL ORDER BY id;
SELECT id, (SELECT max(r) FROM (SELECT rank() OVER (ORDER BY x.sal) AS r FROM e x WHERE x.dept = e.dept) s) FROM e ORDER BY id;
SELECT id FROM e WHERE id IN (SELECT first_value(id) OVER (PARTITION BY dept ORDER BY id) FROM e) ORDER BY id;
-- named windows
SELECT id, row_number() OVER w, sum(sal) OVER (w ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), rank() OVER v FROM e WINDOW w AS (ORDER BY id), v AS (w) ORDER BY id;
SELECT id, sum(sal) OVER (p ORDER BY id) FROM e WINDOW p AS (PARTITION BY dept) ORDER BY id;
SELECT row_number() OVER x FROM e;
SELECT 1 FROM e WINDOW w AS (), w AS ();
SELECT 1 FROM e WINDOW w AS (ORDER BY nosuch);
SELECT 1 FROM e WINDOW w AS (ORDER BY id ROWS UNBOUNDED FOLLOWING);
SELECT count(*) FROM e WINDOW "W" AS (ORDER BY id), w AS ("W");
SELECT 1 FROM e WINDOW w AS (ORDER BY sum(sal));
SELECT dept, rank() OVER w FROM e GROUP BY dept WINDOW w AS (ORDER BY sum(sal)) ORDER BY 2;
SELECT row_number() OVER (w PARTITION BY id) FROM e WINDOW w AS (ORDER BY id);
SELECT row_number() OVER (w ORDER BY id) FROM e WINDOW w AS (ORDER BY sal);
SELECT row_number() OVER (w) FROM e WINDOW w AS (ORDER BY id ROWS UNBOUNDED PRECEDING);
-- over no rows
SELECT id, row_number() OVER (), sum(sal) OVER () FROM e WHERE id > 100;
-- misplaced window functions
SELECT id FROM e WHERE row_number() OVER (ORDER BY id) > 1;
SELECT count(*) FROM e GROUP BY row_number() OVER ();
SELECT dept, rank() OVER () FROM e GROUP BY 2;
SELECT dept FROM e GROUP BY dept HAVING rank() OVER () > 1;
SELECT 1 FROM e JOIN e f ON row_number() OVER () = f.id;
SELECT sum(rank() OVER ()) FROM e;
SELECT rank() OVER (ORDER BY row_number() OVER ()) FROM e;
SELECT sum(row_number() OVER ()) OVER () FROM e;
VALUES (row_number() OVER ());
-- wrong functions and arguments
SELECT row_number() FROM e;
SELECT abs(sal) OVER () FROM e;
SELECT nosuch(sal) OVER () FROM e;
SELECT rank(sal) OVER () FROM e;
SELECT ntile() OVER () FROM e;
SELECT lag(sal, 1, 2, 3) OVER () FROM e;
SELECT ntile(1.5) OVER () FROM e;
SELECT lag(sal, 2147483648) OVER () FROM e;
SELECT lag(sal, 1, 0.5) OVER (ORDER BY id), lead(dept, 1, 'zz') OVER (ORDER BY id) FROM e ORDER BY id DESC LIMIT 2;
SELECT lag(sal > 0, 1, 0) OVER () FROM e;
SELECT lead(sal, 1, dept) OVER () FROM e;
SELECT lag(sal > 0, 1, 'true') OVER (ORDER BY id), lead(dept, 1, NULL) OVER (ORDER BY id) FROM e ORDER BY id LIMIT 1;
-- typed as written: a cast makes a literal typed
SELECT lag(NULL::text, 1, 0) OVER () FROM e;
SELECT lag(sal, '1'::text) OVER () FROM e;
SELECT sum(dept) OVER () FROM e;
SELECT ntile(0) OVER (ORDER BY id) FROM e;
SELECT nth_value(sal, 0) OVER (ORDER BY id) FROM e;
SELECT count(DISTINCT sal) OVER () FROM e;
SELECT rank() FILTER (WHERE sal > 1) OVER () FROM e;
SELECT count(*) FILTER (WHERE sal) OVER () FROM e;
SELECT lag(sal) IGNORE NULLS OVER (ORDER BY id) FROM e;
EXPLAIN SELECT id, rank() OVER (PARTITION BY dept ORDER BY sal DESC), sum(sal) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) FROM e ORDER BY id;
SELECT row_number(1) OVER () FROM e;
SELECT rank() OVER (ORDER BY x) FROM (SELECT 1 AS x) s;
-- types of the results
CREATE TABLE f (x DOUBLE PRECISION, n NUMERIC);
INSERT INTO f VALUES (1.5, 2.5), (2.5, NULL), (NULL, 1);
SELECT x, sum(x) OVER (ORDER BY x), avg(x) OVER (ORDER BY x), sum(n) OVER (ORDER BY x), avg(n) OVER (), lag(x, 1, 0) OVER (ORDER BY x) FROM f ORDER BY x;
-- a correlated subquery over grouped rows is refused, in a window too
SELECT dept, rank() OVER (ORDER BY (SELECT count(*) FROM e x WHERE x.sal > e.sal)) FROM e GROUP BY dept;
SELECT id, rank() OVER (ORDER BY (SELECT count(*) FROM e x WHERE x.sal > e.sal)) FROM e ORDER BY id;
-- views keep their windows
CREATE VIEW ranked AS SELECT id, dense_rank() OVER (ORDER BY sal DESC NULLS LAST) AS dr FROM e;
SELECT * FROM ranked WHERE dr <= 2 ORDER BY id;
SELECT x, count(*) OVER (ORDER BY x RANGE BETWEEN 1 PRECEDING AND 0.5 FOLLOWING), sum(n) OVER (ORDER BY n RANGE BETWEEN 1.5 PRECEDING AND CURRENT ROW) FROM f ORDER BY x;
-- RANGE offsets over double precision: infinities and NaN as PostgreSQL
CREATE TABLE wf (x float8);
INSERT INTO wf VALUES ('-Infinity'), (1), (2), ('Infinity'), (NULL);
SELECT x, count(*) OVER (ORDER BY x RANGE BETWEEN CAST('Infinity' AS float8) PRECEDING AND CURRENT ROW) AS back, count(*) OVER (ORDER BY x RANGE BETWEEN CURRENT ROW AND CAST('Infinity' AS float8) FOLLOWING) AS ahead FROM wf ORDER BY x;
SELECT count(*) OVER (ORDER BY x RANGE BETWEEN CAST('NaN' AS float8) PRECEDING AND CURRENT ROW) FROM wf;
SELECT count(*) OVER (ORDER BY x::numeric RANGE BETWEEN CAST(1.5 AS float8) PRECEDING AND CURRENT ROW) FROM wf;
-- a quoted offset is an untyped literal
SELECT x, count(*) OVER (ORDER BY x ROWS BETWEEN '1' PRECEDING AND CURRENT ROW) FROM wf ORDER BY x;
-- FILTER on a window aggregate leaves rows out of every frame
SELECT id, sal, count(*) FILTER (WHERE sal > 100) OVER (ORDER BY id), sum(sal) FILTER (WHERE id <> 2) OVER (PARTITION BY dept ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), avg(sal) FILTER (WHERE sal IS NOT NULL) OVER () FROM e ORDER BY id;
SELECT dept, sum(count(*)) FILTER (WHERE dept IS NOT NULL) OVER (ORDER BY dept) FROM e GROUP BY dept ORDER BY dept;
SELECT id, sum(1000 / sal) FILTER (WHERE sal <> 0 AND 't') OVER (ORDER BY id) FROM (VALUES (1, 0), (2, 50), (3, 0), (4, 100)) v(id, sal) ORDER BY id;
SELECT dept, count(*) FILTER (WHERE count(*) > 1) OVER () FROM e GROUP BY dept;
SELECT lag(NULL, 1, 0) OVER (ORDER BY id), lag('5', 1, 3) OVER (ORDER BY id) FROM e ORDER BY id LIMIT 2;
EXPLAIN SELECT sum(sal) FILTER (WHERE sal > 1) OVER (ORDER BY sal NULLS FIRST, id DESC NULLS LAST, dept DESC) FROM e;
-- a typed NULL keeps its type: the default must convert to it
SELECT lag(NULL::int, 1, 'x') OVER () FROM e;
SELECT lag(NULL::int, 1, '7') OVER (ORDER BY id) FROM e ORDER BY id LIMIT 2;
