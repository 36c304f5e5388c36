-- String functions
SELECT replace('abcabc', 'b', 'XY'), replace('abc', '', 'z'), strpos('héllo', 'llo'), strpos('abc', 'x'), position('c' IN 'abc');
SELECT left('héllo', 2), left('hello', -2), right('hello', 3), right('hello', -4), left('hi', 10);
SELECT lpad('hi', 5, 'xy'), rpad('hi', 5), lpad('hello', 2), rpad('hi', 5, ''), lpad('hi', -1);
SELECT ltrim('xxyax', 'xy'), rtrim('xxyax', 'x'), btrim('xyhixy', 'xy'), trim('  x  '), ltrim('  x'), rtrim('x  ');
SELECT trim(LEADING 'x' FROM 'xxaxx'), trim(TRAILING 'x' FROM 'xxaxx'), trim(BOTH 'x' FROM 'xxaxx'), trim(LEADING FROM '  a  ');
SELECT split_part('a,b,c', ',', 2), split_part('a,b,c', ',', -1), split_part('a,b,c', ',', 4), split_part('a,b,c', '', 1);
SELECT split_part('a,b', ',', 0);
SELECT starts_with('hello', 'he'), starts_with('hello', 'lo'), repeat('ab', 3), repeat('ab', 0), reverse('héllo');
SELECT initcap('hELLO wORLD-x1y'), chr(65), chr(233), ascii('A'), ascii(''), octet_length('héllo'), length('héllo');
SELECT md5('a'), md5(''), md5('héllo'), md5(NULL), md5('\x00ff'::bytea);
SELECT chr(0);
SELECT repeat('x', 2000000000);
SELECT replace(NULL, 'a', 'b'), lpad(NULL, 3), strpos('a', NULL);
-- greatest / least
SELECT greatest(1, 5, 3), least(1, 5, 3), greatest(1, NULL, 2), least(NULL, NULL), greatest('b', 'a', 'c');
SELECT greatest(1, 2.5), least(3, 2.5), greatest(1.5::float8, 2);
-- untyped literals take the others' type; other types must match
SELECT greatest(1, '2'), least('b', 'a'), greatest(NULL, 2);
SELECT greatest(1, true);
SELECT least(1, 'x'::text);
CREATE TABLE g (a INT, b INT);
INSERT INTO g VALUES (1, 9), (7, 2), (NULL, 4);
SELECT a, b, greatest(a, b) AS hi, least(a, b) AS lo FROM g ORDER BY b;
-- date and time
SELECT date_trunc('decade', DATE '0005-06-01');
SELECT date_trunc('decade', DATE '0010-06-01'), date_trunc('century', DATE '0005-06-01');
SELECT date_trunc('month', TIMESTAMP '2024-05-17 13:45:12.5'), date_trunc('hour', TIMESTAMP '2024-05-17 13:45:12.5'), date_trunc('week', TIMESTAMP '2024-05-17 13:45:12.5');
SELECT date_trunc('year', TIMESTAMP '2024-05-17 13:45:12'), date_trunc('quarter', TIMESTAMP '2024-05-17 13:45:12'), date_trunc('decade', TIMESTAMP '2024-05-17 13:45:12'), date_trunc('century', TIMESTAMP '2024-05-17 13:45:12'), date_trunc('millennium', TIMESTAMP '2024-05-17 13:45:12');
SELECT date_trunc('second', TIMESTAMP '2024-05-17 13:45:12.75'), date_trunc('minute', TIMESTAMP '2024-05-17 13:45:12.75'), date_trunc('day', TIMESTAMP '2024-05-17 13:45:12.75'), date_trunc('milliseconds', TIMESTAMP '2024-05-17 13:45:12.123456');
SELECT extract(year FROM TIMESTAMP '2024-05-17 13:45:12.5'), extract(month FROM TIMESTAMP '2024-05-17 13:45:12.5'), extract(day FROM TIMESTAMP '2024-05-17 13:45:12.5'), extract(hour FROM TIMESTAMP '2024-05-17 13:45:12.5'), extract(minute FROM TIMESTAMP '2024-05-17 13:45:12.5'), extract(second FROM TIMESTAMP '2024-05-17 13:45:12.5');
SELECT extract(epoch FROM TIMESTAMP '2024-05-17 13:45:12.5'), extract(dow FROM TIMESTAMP '2024-05-19 00:00'), extract(isodow FROM TIMESTAMP '2024-05-19 00:00'), extract(doy FROM TIMESTAMP '2024-12-31 00:00'), extract(quarter FROM TIMESTAMP '2024-05-17'), extract(week FROM TIMESTAMP '2021-01-03'), extract(isoyear FROM TIMESTAMP '2021-01-03');
SELECT extract(milliseconds FROM TIMESTAMP '2024-05-17 13:45:12.5'), extract(microseconds FROM TIMESTAMP '2024-05-17 13:45:12.5'), extract(century FROM TIMESTAMP '2000-05-17'), extract(millennium FROM TIMESTAMP '2001-01-01'), extract(decade FROM TIMESTAMP '2024-05-17');
SELECT extract(year FROM DATE '2024-05-17'), extract(epoch FROM DATE '2024-05-17'), date_part('day', DATE '2024-05-17'), date_part('second', TIMESTAMP '2024-05-17 13:45:12.5'), date_part('epoch', TIMESTAMP '1970-01-02');
SELECT extract(hour FROM DATE '2024-05-17');
SELECT date_trunc('fortnight', TIMESTAMP '2024-05-17');
SELECT date_part('fortnight', TIMESTAMP '2024-05-17');
SELECT date_trunc('day', NULL::timestamp), extract(year FROM NULL::date);
-- volatile functions are evaluated per row, never folded
SELECT random() >= 0 AND random() < 1 AS in_range, clock_timestamp() >= now() AS not_before_now;
CREATE TABLE r (i INT PRIMARY KEY);
INSERT INTO r VALUES (1), (2), (3), (4), (5), (6), (7), (8);
SELECT count(DISTINCT random()) > 1 AS differs_per_row FROM r;
SELECT count(*) FROM r WHERE random() < 2;
SELECT chr(-1);
SELECT split_part('a,b', ',', -9223372036854775808);
-- pg_sleep waits, then returns an empty string (PostgreSQL: void)
SELECT pg_sleep(0.01), pg_sleep(NULL) IS NULL, pg_sleep(-1);
SELECT pg_sleep('x');
SELECT pg_sleep(true);
SELECT pg_sleep('0'::text);
SELECT pg_sleep('NaN'), pg_sleep('-infinity');
-- translate, make_date, make_timestamp, to_timestamp (compared with PostgreSQL 15)
SELECT translate('12345', '143', 'ax'), translate('héllo', 'él', 'EL'), translate('abc', '', 'x'), translate('aaa', 'aa', 'xy');
SELECT make_date(2024, 2, 29), make_timestamp(2024, 1, 5, 13, 4, 5.5), make_timestamp(2024, 1, 5, 23, 59, 59.999999), make_timestamp(2024, 1, 5, 24, 0, 0), make_timestamp(2024, 1, 5, 23, 0, 60);
SELECT make_date(2023, 2, 29);
SELECT make_date(0, 1, 1);
SELECT make_date(2024, 13, 1);
SELECT make_timestamp(2024, 1, 5, 25, 0, 0);
SELECT make_timestamp(2024, 1, 5, 23, 60, 0);
SELECT make_timestamp(2024, 1, 5, 24, 0, 1);
SELECT make_timestamp(2024, 1, 5, 23, 0, -1);
SELECT to_timestamp(1700000000), to_timestamp(1.5), to_timestamp(-1), to_timestamp(0), to_timestamp(1700000000.1234567);
SELECT to_timestamp('NaN'::float8);
SELECT to_timestamp(1e20);
SELECT to_timestamp('2024-01-01', 'YYYY-MM-DD');
