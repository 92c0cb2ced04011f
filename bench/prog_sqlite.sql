-- prog_sqlite.sql - the sqlite3 workload of bench/run-bench.sh: an
-- in-memory database of @ROWS@ rows built, indexed, joined, grouped and
-- partly deleted.  run-bench.sh replaces @ROWS@; the last line is a
-- checksum that must not depend on the allocator.
PRAGMA cache_size = -65536;
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, name TEXT, payload BLOB);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < @ROWS@)
INSERT INTO t SELECT i, (i * 7919) % 1000, 'name-' || (i * 31 % 9973) || '-' || hex(i), zeroblob(i % 200) FROM c;
CREATE INDEX t_k ON t(k);
CREATE INDEX t_name ON t(name);
CREATE TABLE g AS SELECT k, count(*) AS n, sum(length(payload)) AS bytes, group_concat(id % 10, '') AS ids FROM t GROUP BY k;
DELETE FROM t WHERE id % 3 = 0;
UPDATE t SET name = name || '-u' WHERE k < 500;
CREATE TABLE j AS SELECT t.k, g.n, count(*) AS m FROM t JOIN g ON t.k = g.k GROUP BY t.k ORDER BY m DESC;
SELECT 'checksum=' || (SELECT count(*) FROM t) || '-' || (SELECT sum(m * k) FROM j) || '-' || (SELECT sum(length(ids)) FROM g) || '-' || (SELECT max(name) FROM t);
