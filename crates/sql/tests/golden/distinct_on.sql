-- SELECT DISTINCT ON: the first row of each set of rows equal on the
-- expressions, in ORDER BY order (answers checked against PostgreSQL 15)
CREATE TABLE s (id INTEGER PRIMARY KEY, dept TEXT, name TEXT, pay INTEGER);
INSERT INTO s VALUES (1, 'a', 'ann', 10), (2, 'a', 'bob', 30), (3, 'b', 'cat', 20), (4, 'b', 'dan', 20), (5, NULL, 'eve', 5), (6, NULL, 'fay', 7), (7, 'c', 'gus', NULL);
SELECT DISTINCT ON (dept) dept, name, pay FROM s ORDER BY dept, pay DESC, name;
SELECT DISTINCT ON (dept) dept, name, pay FROM s ORDER BY dept DESC NULLS LAST, pay, name;
-- output positions and aliases, as in ORDER BY
SELECT DISTINCT ON (1) dept, name FROM s ORDER BY 1, name DESC;
SELECT DISTINCT ON (d) dept AS d, name FROM s ORDER BY d, name DESC;
SELECT DISTINCT ON (1, dept) dept, name FROM s ORDER BY dept, name;
SELECT DISTINCT ON (dept, dept) dept, name FROM s ORDER BY dept, name;
-- expressions outside the select list
SELECT DISTINCT ON (dept) name FROM s ORDER BY dept, pay, name;
SELECT DISTINCT ON (lower(dept)) upper(dept) AS u, name FROM s ORDER BY lower(dept), id DESC;
SELECT DISTINCT ON (pay % 2) pay % 2 AS parity, id FROM s WHERE pay IS NOT NULL ORDER BY pay % 2, id;
SELECT DISTINCT ON (s.dept) s.dept, name FROM s ORDER BY s.dept, name DESC;
SELECT DISTINCT ON (dept) * FROM s ORDER BY dept, id DESC;
-- several expressions, in any order as long as the ORDER BY starts with them
SELECT DISTINCT ON (dept, pay) dept, pay, name FROM s ORDER BY dept, pay, name DESC;
SELECT DISTINCT ON (pay, dept) dept, pay, name FROM s ORDER BY dept, pay, name DESC;
SELECT DISTINCT ON (dept, pay) dept, pay FROM s ORDER BY dept;
-- the ORDER BY must start with the DISTINCT ON expressions
SELECT DISTINCT ON (dept) dept, name FROM s ORDER BY name;
SELECT DISTINCT ON (dept) dept, name FROM s ORDER BY pay, dept;
SELECT DISTINCT ON (dept, pay) dept, pay, name FROM s ORDER BY dept, name;
SELECT DISTINCT ON (9) dept FROM s;
SELECT DISTINCT ON (nope) dept FROM s;
-- without ORDER BY: one row per set (which one is unspecified)
SELECT DISTINCT ON (dept) dept FROM s;
SELECT count(*) FROM (SELECT DISTINCT ON (dept) dept, name FROM s) x;
-- LIMIT and OFFSET apply after DISTINCT ON
SELECT DISTINCT ON (dept) dept, name FROM s ORDER BY dept, name LIMIT 2;
SELECT DISTINCT ON (dept) dept, name FROM s ORDER BY dept, name LIMIT 2 OFFSET 1;
-- with GROUP BY and aggregates
SELECT DISTINCT ON (dept) dept, count(*) FROM s GROUP BY dept, pay ORDER BY dept, count(*) DESC;
SELECT DISTINCT ON (count(*)) count(*), dept FROM s GROUP BY dept ORDER BY count(*), dept;
-- in a subquery, and in a set operation
SELECT * FROM (SELECT DISTINCT ON (dept) dept, name FROM s ORDER BY dept, name DESC) x ORDER BY name;
SELECT DISTINCT ON (dept) dept FROM s UNION ALL SELECT 'z' ORDER BY 1;
EXPLAIN SELECT DISTINCT ON (dept) dept, name FROM s ORDER BY dept, name;
SELECT DISTINCT ON (x) x, y FROM (VALUES (1, 'a'), (1, 'b'), (2, 'c')) v(x, y) ORDER BY x, y, x;
SELECT DISTINCT ON ('x') 1;
