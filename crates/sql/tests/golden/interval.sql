-- INTERVAL literals and PostgreSQL's output style
SELECT INTERVAL '1 year 2 months 3 days 04:05:06.7', INTERVAL '-1 day', INTERVAL '1 day -1 hour', INTERVAL '-1 day 1 hour', INTERVAL '0 seconds';
SELECT INTERVAL '1.5 days', INTERVAL '1.5 months', INTERVAL '36 hours', INTERVAL '10min', INTERVAL '2 weeks', INTERVAL '@ 3 days ago', INTERVAL '90';
SELECT INTERVAL 'P1Y2M3DT4H5M6S', INTERVAL '01:30', INTERVAL '3' DAY, '1 hour'::interval, CAST('2 days' AS INTERVAL);
SELECT INTERVAL '1 fortnight';
-- arithmetic with timestamps and dates
SELECT TIMESTAMP '2024-01-31 10:00' + INTERVAL '1 month', TIMESTAMP '2024-01-31 10:00' - INTERVAL '2 months', DATE '2024-02-28' + INTERVAL '1 day 2 hours', INTERVAL '1 hour' + TIMESTAMP '2024-01-01';
SELECT TIMESTAMP '2024-05-17 13:00' - TIMESTAMP '2024-05-15 12:00', TIMESTAMP '2024-05-15 12:00' - TIMESTAMP '2024-05-17 13:00', DATE '2024-03-01' - DATE '2024-02-01';
SELECT INTERVAL '1 day' + INTERVAL '2 hours', INTERVAL '1 day' - INTERVAL '2 hours', -INTERVAL '1 day 2 hours', INTERVAL '1 month' * 1.5, 2 * INTERVAL '90 minutes', INTERVAL '1 day' / 4;
SELECT INTERVAL '1 day' / 0;
-- comparisons use the span (a month is 30 days)
SELECT INTERVAL '1 month' = INTERVAL '30 days', INTERVAL '1 day' > INTERVAL '23 hours', INTERVAL '25 hours' > INTERVAL '1 day';
SELECT EXTRACT(epoch FROM INTERVAL '1 day 2 hours'), EXTRACT(hour FROM INTERVAL '1 day 2 hours'), EXTRACT(day FROM INTERVAL '1 day 2 hours'), EXTRACT(month FROM INTERVAL '14 months'), EXTRACT(year FROM INTERVAL '14 months'), date_part('minute', INTERVAL '90 minutes');
-- columns, ordering, grouping, keys
CREATE TABLE iv (id INT PRIMARY KEY, d INTERVAL);
INSERT INTO iv VALUES (1, '1 day'), (2, '2 hours'), (3, '1 month'), (4, '30 days'), (5, NULL);
SELECT id, d FROM iv ORDER BY d, id;
SELECT d, count(*) FROM iv WHERE d IS NOT NULL GROUP BY d ORDER BY d;
SELECT id FROM iv WHERE d > INTERVAL '1 day' ORDER BY id;
CREATE TABLE ivk (d INTERVAL PRIMARY KEY);
INSERT INTO ivk VALUES ('1 month');
INSERT INTO ivk VALUES ('30 days');
-- the classic: rows of the last week
CREATE TABLE ev (id INT PRIMARY KEY, at TIMESTAMP);
INSERT INTO ev VALUES (1, TIMESTAMP '2024-05-17 12:00' - INTERVAL '3 days'), (2, TIMESTAMP '2024-05-17 12:00' - INTERVAL '10 days');
SELECT id FROM ev WHERE at > TIMESTAMP '2024-05-17 12:00' - INTERVAL '7 days';
-- aggregates, untyped literals, field restrictions
SELECT sum(d), avg(d) FROM iv;
SELECT avg(at) FROM ev;
SELECT TIMESTAMP '2024-01-01' + '1 day', INTERVAL '1 day' + '2 hours', TIMESTAMP '2024-01-02' - '2024-01-01';
SELECT INTERVAL '1 day 02:03:04' HOUR;
SELECT INTERVAL '1 day 5', INTERVAL '1:30.5', INTERVAL '0.375 years';
SELECT INTERVAL '1 day 1 day';
SELECT INTERVAL '2147483648 days';
SELECT INTERVAL '1 mon -1 day' * 0.5, INTERVAL '1 mon' / 7;
SELECT EXTRACT(week FROM INTERVAL '1 day');
SELECT EXTRACT(hours FROM DATE '2024-01-01');
SELECT TIMESTAMP '9999-12-31' + INTERVAL '1 day';
SELECT DATE '9999-12-31' + 1;
SELECT DATE '0001-01-01' - 1;
SELECT DATE '2024-01-01' - 9223372036854775807;
