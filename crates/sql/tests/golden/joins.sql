CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT);
CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER, w TEXT);
INSERT INTO a VALUES (1, 'one'), (2, 'two'), (3, 'three');
INSERT INTO b VALUES (10, 1, 'p'), (11, 1, 'q'), (12, 3, 'r'), (13, NULL, 's');
SELECT a.v, b.w FROM a JOIN b ON a.id = b.a_id ORDER BY b.w;
SELECT a.v, b.w FROM a, b WHERE a.id = b.a_id AND b.w <> 'p' ORDER BY b.w;
SELECT a.v, b.w FROM a LEFT JOIN b ON a.id = b.a_id ORDER BY a.v, b.w;
SELECT a.v, b.w FROM a RIGHT JOIN b ON a.id = b.a_id ORDER BY b.w;
SELECT a.v, b.w FROM a FULL JOIN b ON a.id = b.a_id ORDER BY a.v, b.w;
SELECT count(*) FROM a CROSS JOIN b;
SELECT x.id, y.id FROM a AS x JOIN a AS y ON x.id < y.id ORDER BY 1, 2;
-- the join order follows the equalities, whatever the FROM order
EXPLAIN SELECT * FROM a, b WHERE b.a_id = a.id AND a.id = 1;
SELECT id FROM a, b;
-- USING and NATURAL: one copy of the join column for unqualified names and *
SELECT * FROM a JOIN b USING (id);
SELECT id, a.v, b.w, b.id FROM a LEFT JOIN b USING (id) ORDER BY id;
SELECT count(*) FROM a NATURAL JOIN b;
SELECT * FROM a JOIN b USING (nope);
