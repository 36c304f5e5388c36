-- Regular expressions: the ~ operators, regexp_* and substring(s FROM pattern).
-- Each answer here was compared with PostgreSQL 15.
SELECT 'abc' ~ 'b', 'abc' ~* 'B', 'abc' !~ 'b', 'abc' !~* 'B';
SELECT 'Abc' ~ '^a', NULL ~ 'a', 'a' ~ NULL;
SELECT substring('foobar' from 'o.b'), substring('foobar' from 'o(.)b'), substring('foobar' from 'x'), substring('abcdef' from '2');
SELECT substring('foobar', 'o.b'), substring('foobar', 2), substring('foobar' from 2 for 3);
SELECT regexp_replace('foobarbaz', 'b..', 'X'), regexp_replace('foobarbaz', 'b..', 'X', 'g'), regexp_replace('foobarbaz', 'b(.)(.)', '[\2\1\&\\$1]', 'g');
SELECT regexp_replace('ABC', 'b', 'x', 'i'), regexp_replace('abcabc', 'b', 'x', 3), regexp_replace('abcabcabc', 'b', 'x', 1, 2), regexp_replace('abcabcabc', 'b', 'x', 1, 0, 'g');
SELECT regexp_like('Hello', 'h'), regexp_like('Hello', 'h', 'i'), regexp_count('abcabc', 'b'), regexp_count('abcabc', 'b', 3), regexp_count('ABab', 'a', 1, 'i');
SELECT regexp_substr('abcabc', 'b.'), regexp_substr('abcabc', 'b.', 3), regexp_substr('abcabc', 'b.', 1, 2), regexp_substr('abcabc', 'x'), regexp_substr('a1b2', '([a-z])(\d)', 1, 2, '', 2);
SELECT 'a' || chr(10) || 'b' ~ 'a.b', 'a' || chr(10) || 'b' ~ '^b', regexp_replace('a' || chr(10) || 'b', '^b', 'X', 'n');
SELECT 'ab12' ~ '[[:digit:]]+', regexp_replace('a.b', '.', '-', 'gq');
SELECT regexp_replace('abc', '', 'X', 'g'), regexp_count('abc', ''), regexp_replace('', '^', 'X');
SELECT regexp_replace('baaab', 'a*', 'X', 'g'), regexp_count('baaab', 'a*'), regexp_count('abcabc', '^b', 2), regexp_replace('aaa', 'a', 'b', 2), regexp_replace('héllo', 'l', 'L', 4, 0), regexp_count('x', 'x', 5);
SELECT 'x' ~ 'a|', regexp_substr('abc', '(x)?b', 1, 1, '', 1) IS NULL, substring('abc' from '(x)?b') IS NULL, regexp_substr('a', 'a', 1, 1, '', 5);
SELECT 'abc' ~ '(';
SELECT regexp_replace('a', 'a', 'b', 'z');
SELECT regexp_count('a', 'a', 1, 'g');
SELECT regexp_like('a', 'a', 'g');
SELECT regexp_count('abc', 'b', 0);
SELECT regexp_replace('abc', 'b', 'x', 0);
SELECT regexp_replace('a', 'a', 'b', 1, -1);
SELECT regexp_substr('a', 'a', 1, 0);
SELECT regexp_substr('a', 'a', 1, 1, '', -1);
-- Over a table: a filter, an update, NULLs.
CREATE TABLE people (id INT PRIMARY KEY, name TEXT, phone TEXT);
INSERT INTO people VALUES (1, 'Ada Lovelace', '+44 20 7946 0958'), (2, 'alan turing', '(555) 010-0199'), (3, 'Grace Hopper', NULL);
SELECT id, name FROM people WHERE name ~ '^[A-Z]' ORDER BY id;
SELECT id FROM people WHERE name ~* '^a' AND name !~ 'Love' ORDER BY id;
SELECT id, regexp_replace(phone, '[^0-9]', '', 'g') AS digits, substring(phone from '\d{4}$') AS last4 FROM people ORDER BY id;
UPDATE people SET name = initcap(regexp_replace(name, '\s+', ' ', 'g')) WHERE name ~ '^[a-z]';
SELECT name FROM people ORDER BY id;
-- substr has no pattern form; a result over 64 MiB is refused.
SELECT substr('hello', '2'), substring('hello', '2');
SELECT length(regexp_replace(repeat('a', 1000), '', repeat('b', 70000), 'g'));
SELECT length(replace(repeat('a', 1000), 'a', repeat('b', 70000)));
