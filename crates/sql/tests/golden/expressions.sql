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
