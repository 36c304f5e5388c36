-- arithmetic, precedence, integer division, NULL propagation
SELECT 1 + 2 * 3, 7 / 2, 7 % 3, -7 / 2, 7.0 / 2, 1 + NULL;
SELECT 2 > 1, 1 = NULL, NULL IS NULL, NULL IS NOT NULL, 1 IS DISTINCT FROM NULL;
-- three-valued logic
SELECT NULL AND FALSE, NULL AND TRUE, NULL OR TRUE, NULL OR FALSE, NOT NULL;
-- CASE, COALESCE, NULLIF (lazy: the untaken branch is not evaluated)
SELECT CASE WHEN 1 > 2 THEN 'a' WHEN 2 > 1 THEN 'b' ELSE 'c' END, CASE 3 WHEN 1 THEN 'one' ELSE 'other' END;
SELECT CASE WHEN true THEN 1 ELSE 1 / 0 END, COALESCE(NULL, 2, 1 / 0), NULLIF(3, 3), NULLIF(3, 4);
-- BETWEEN and IN with NULLs
SELECT 5 BETWEEN 1 AND 10, 5 NOT BETWEEN 1 AND 4, NULL BETWEEN 1 AND 2;
SELECT 1 IN (1, NULL), 2 IN (1, NULL), 2 NOT IN (1, 3), NULL IN (1);
-- strings and LIKE
SELECT 'ab' || 'cd', length('hello'), upper('x'), lower('Y'), substring('hello' FROM 2 FOR 3), trim('  x  ');
SELECT 'hello' LIKE 'h%o', 'hello' LIKE 'H%', 'hello' ILIKE 'H%', 'abc' NOT LIKE '_b_';
-- functions and casts
SELECT abs(-5), round(2.567, 2), floor(2.5), ceil(2.1), mod(10, 3), CAST('42' AS INTEGER), CAST(3.7 AS INTEGER), '12'::BIGINT + 1;
SELECT CAST(1 AS TEXT) || 'x', CAST('t' AS BOOLEAN), CAST(2.5 AS REAL);
-- a cast's column is named after what it casts when that has a name of its own, else after the type (as PostgreSQL names them)
SELECT CAST(n AS TEXT), CASE WHEN n > 0 THEN 1 END::TEXT, abs(n)::BIGINT, (1::INT)::TEXT, 'x'::VARCHAR(3), 'x'::CHAR(2), 1::DOUBLE PRECISION, 1::SMALLINT, CAST(CAST(n AS INT) AS NUMERIC(5,1)), NULL::DATE FROM (SELECT 2 AS n) AS t;
-- a scalar subquery is named after its first output column
SELECT (SELECT 1 AS a), (SELECT 2), (SELECT x FROM (SELECT 1 AS x) t), (SELECT 1 UNION SELECT 2 LIMIT 1), ((SELECT 'a' AS b)), (SELECT y::text FROM (SELECT 1 AS y) u), (SELECT (SELECT 3 AS z));
-- dates, timestamps, bytea
SELECT DATE '2024-02-28' + 1, DATE '2024-03-01' - DATE '2024-01-01', CAST('2001-02-03 04:05:06.25' AS TIMESTAMP);
SELECT CAST('2023-02-29' AS DATE);
SELECT X'0aff', CAST('\x01' AS BYTEA) < X'02', DATE '2024-01-01' < TIMESTAMP '2024-01-01 00:00:01';
-- SMALLINT/INTEGER arithmetic is checked at its width
SELECT 2147483647 + 1;
SELECT 2147483647::BIGINT + 1;
-- NUMERIC is exact
SELECT 0.1 + 0.2, 0.1 + 0.2 = 0.3, 1.50 * 2, 1 / 3.0, CAST(2.5 AS INTEGER), CAST(-2.5 AS INTEGER), round(-2.5), 10 % 3.5;
CREATE TABLE money (id NUMERIC(10, 2) PRIMARY KEY, amount NUMERIC(6, 2));
INSERT INTO money VALUES (1.5, 10.005), (2, 0.1), (1.25, 99.99);
SELECT id, amount FROM money WHERE id = 1.50;
SELECT sum(amount), avg(amount), min(id) FROM money;
EXPLAIN SELECT amount FROM money WHERE id > 1.4 AND id < 2;
INSERT INTO money VALUES (3, 12345.678);
SELECT 99999999999999999999999999999999999999 + 1;
-- power and ^: double precision for integer and float input, NUMERIC (PostgreSQL's result scale) for NUMERIC input
SELECT 2 ^ 10, 2 ^ 0.5, 2.0 ^ 10, 2.5 ^ 2, 2 ^ -2, power(2, 10), pow(2.0, 3), power(1.5, 3), power(2.0::float8, 3);
SELECT -2 ^ 2, (-2) ^ 3, -(2 ^ 2), 2 ^ 3 ^ 2, 1.1 ^ -3, 4.0 ^ 0.5, 3 ^ 0.5000000000000000000, 0 ^ 0, 0.0 ^ 0, 0.5 ^ 17;
SELECT 10 ^ 20, 2 ^ 100, 2 ^ -25, 10 ^ -5, 1.5 ^ 100, 0.99 ^ 2000, power(-2.0, 3.0);
SELECT 0 ^ -1;
SELECT 0.0 ^ -1;
SELECT (-8) ^ 0.5;
SELECT power(-8.0, 1.5);
SELECT 10 ^ 400;
SELECT 10 ^ -400;
-- sqrt, cbrt, exp, ln, log
SELECT sqrt(2), sqrt(2.0), sqrt(16.00), sqrt(2000000.0), sqrt(0.0001), sqrt(0), cbrt(-8), cbrt(64.0);
SELECT sqrt(-1);
SELECT sqrt(-1.0);
SELECT exp(1), exp(1.0), exp(0), exp(50.0), exp(-1.0), ln(2), ln(2.0), ln(1.0000000001), ln(0.001);
SELECT exp(1000);
SELECT exp(-1000);
SELECT log(100), log(100.0), log(2.0), log10(1000), log(2, 8), log(2.0, 1024), log(10, 0.001), log(1e-5);
SELECT ln(0);
SELECT ln(-1.0);
SELECT log(0.0);
SELECT log(-1);
SELECT log(1, 10);
SELECT log(2.0::float8, 8);
-- sign, trunc, pi
SELECT sign(-5), sign(0), sign(2.5), sign(-2.50), sign(-3.5::float8), trunc(42.8), trunc(-42.8), trunc(5), trunc(-4.5::float8);
SELECT trunc(42.4382, 2), trunc(5, 1), trunc(123.45, -1), trunc(-1.999, 1), trunc(1.5, 3), pi();
SELECT trunc(1.5::float8, 1);
-- prefix |/ (square root, double precision), ||/ (cube root), @ (absolute value), with PostgreSQL's precedence
SELECT |/ 25, |/ 2.0, ||/ 64, @ -5, @ -5.50, @ -2.5::float8, |/ 16 + 9, @ -5 + 2, 2 * |/ 16 + 9, (|/ 16) + 9;
SELECT |/ -1;
SELECT @ -2147483648;
-- NULL in, NULL out
SELECT power(NULL, 2), 2 ^ NULL, sqrt(NULL), exp(NULL), ln(NULL), log(NULL), log(2, NULL), sign(NULL::numeric), trunc(NULL::numeric, 1), trunc(2.5, NULL), |/ NULL, @ NULL::integer;
-- over columns, and in a stored DEFAULT
CREATE TABLE nums (i INTEGER PRIMARY KEY, f DOUBLE PRECISION, n NUMERIC(10, 3), p DOUBLE PRECISION DEFAULT -2 ^ 2);
INSERT INTO nums (i, f, n) VALUES (1, 2.25, 2.250), (2, -8, -8.000), (3, NULL, NULL);
SELECT i, f ^ 2, n ^ 2, sqrt(@ f), sqrt(@ n), sign(f), sign(n), trunc(n, 1), exp(n), p FROM nums ORDER BY i;
SELECT i FROM nums WHERE f ^ 2 > 10;
-- double precision overflow and underflow are errors, never inf or a silent zero
SELECT 1e308::float8 * 10;
SELECT 1e-300::float8 * 1e-300::float8;
SELECT 1e15::float8 AS a, 123456789012345::float8 AS b, 0.0001::float8 AS c, 0.00001::float8 AS d, 2 ^ 60 AS e;
-- substr(...) names its column substr
SELECT substr('hello', 2), substr('hello', 2, 3), substring('hello', 2), substring('hello' FROM 2 FOR 3);
