-- to_char of timestamps, timestamptz and dates. Each answer here was
-- compared with PostgreSQL 15 (session time zone UTC).
SELECT to_char(TIMESTAMP '2024-01-05 13:04:05.123456', 'YYYY-MM-DD HH24:MI:SS.US'), to_char(TIMESTAMP '2024-01-05 13:04:05', 'FMDD FMMonth YYYY, HH12:MI AM');
SELECT to_char(TIMESTAMP '2024-09-05 00:04:05', 'DAY|Day|day|DY|Dy|dy|DDD|IDDD|DD|D|ID|W|WW|IW|CC|J|Q|RM|rm|FMRM|');
SELECT to_char(TIMESTAMP '2024-09-01 00:04:05', 'DDth DDTH FMDDth Dth|"YYYY quoted" \"x|AD ad BC b.c.|FMDD FMMM FMHH24 FMYYYY|');
SELECT to_char(TIMESTAMP '2024-01-05 13:04:05', 'TZ| OF| TZH:TZM|'), to_char(TIMESTAMPTZ '2024-01-05 13:04:05+02', 'YYYY-MM-DD HH24:MI TZ OF'), to_char(DATE '2024-01-05', 'Dy, DD Mon YYYY TZ');
SELECT to_char(TIMESTAMP '2011-01-01', 'DDD IW IYYY WW'), to_char(TIMESTAMP '0005-01-01', 'YYYY FMYYYY YY CC');
SELECT to_char(TIMESTAMP '2024-01-05 13:04:05', ''), to_char(NULL::timestamp, 'YYYY'), to_char(TIMESTAMP '2024-01-05', NULL);
CREATE TABLE orders (id INT PRIMARY KEY, placed TIMESTAMP);
INSERT INTO orders VALUES (1, '2024-01-15 09:00:00'), (2, '2024-01-20 17:30:00'), (3, '2024-02-02 08:15:00');
SELECT to_char(placed, 'YYYY-MM') AS month, count(*) FROM orders GROUP BY 1 ORDER BY 1;
SELECT to_char(interval '1 day', 'DD');
SELECT to_char(12.5, '99.9');
