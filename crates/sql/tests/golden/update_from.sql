CREATE TABLE stock (sku TEXT PRIMARY KEY, qty INTEGER);
CREATE TABLE delivery (sku TEXT, n INTEGER);
INSERT INTO stock VALUES ('a', 1), ('b', 2), ('c', 3);
INSERT INTO delivery VALUES ('a', 10), ('b', 20), ('x', 99);
-- UPDATE ... FROM: SET may read the FROM rows
UPDATE stock SET qty = qty + d.n FROM delivery d WHERE d.sku = stock.sku RETURNING sku, qty;
SELECT * FROM stock ORDER BY sku;
-- a target row matched by several FROM rows is updated once
INSERT INTO delivery VALUES ('a', 5);
UPDATE stock s SET qty = 0 FROM delivery d WHERE d.sku = s.sku AND s.sku = 'a';
-- joins and subqueries in FROM, and no match at all
UPDATE stock SET qty = t.total FROM (SELECT sku, sum(n) AS total FROM delivery GROUP BY sku) t WHERE t.sku = stock.sku AND stock.sku = 'a';
SELECT * FROM stock WHERE sku = 'a';
UPDATE stock SET qty = -1 FROM delivery d WHERE d.sku = 'nothing';
-- a table without a primary key
CREATE TABLE tags (name TEXT, hits INTEGER);
INSERT INTO tags VALUES ('a', 0), ('a', 0), ('b', 0);
UPDATE tags SET hits = stock.qty FROM stock WHERE stock.sku = tags.name;
SELECT * FROM tags ORDER BY name, hits;
-- DELETE ... USING
DELETE FROM stock USING delivery d WHERE d.sku = stock.sku AND d.n > 15 RETURNING sku;
DELETE FROM tags t USING stock s, delivery d WHERE s.sku = t.name AND d.sku = s.sku;
SELECT * FROM tags ORDER BY name;
SELECT * FROM stock ORDER BY sku;
-- errors
UPDATE stock SET qty = d.nope FROM delivery d WHERE d.sku = stock.sku;
UPDATE stock SET qty = n FROM delivery d, delivery e WHERE d.sku = stock.sku;
DELETE FROM stock USING missing WHERE true;
-- each FROM item's joins see only its own tables
CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER);
CREATE TABLE a (k INTEGER, id INTEGER);
CREATE TABLE b (k INTEGER, tid INTEGER, id INTEGER);
INSERT INTO t VALUES (1, 0), (2, 0);
INSERT INTO b VALUES (1, 1, 1), (2, 2, 2);
UPDATE t SET v = 1 FROM a RIGHT JOIN b ON a.k = b.k WHERE t.id = b.tid;
SELECT * FROM t ORDER BY id;
UPDATE t SET v = 2 FROM a FULL JOIN b ON a.k = b.k;
SELECT count(*) FROM t;
UPDATE t SET v = 3 FROM a JOIN b USING (id) WHERE t.id = b.tid;
UPDATE t SET v = 4 FROM a JOIN b ON a.k = t.id;
DELETE FROM t USING a RIGHT JOIN b ON a.k = b.k WHERE t.id = b.tid AND b.k = 2 RETURNING id;
SELECT * FROM t ORDER BY id;
-- the target may appear again in the list only under another name
UPDATE t SET v = 5 FROM t WHERE true;
UPDATE t SET v = 5 FROM b AS t WHERE true;
UPDATE t SET v = t2.v + 1 FROM t AS t2 WHERE t2.id = t.id RETURNING id, v;
DELETE FROM t USING t WHERE true;
