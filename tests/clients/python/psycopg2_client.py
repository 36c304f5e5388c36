"""psycopg2 against QuorumDB. psycopg2 speaks only the simple query
protocol (parameters are interpolated client-side, results are text), so
types round-trip as text; the "prepared statement" check reuses one
parameterised statement 10 times on one cursor."""

import psycopg2
import psycopg2.errorcodes

from common import (DBNAME, HOST, USER, ROWS, check_rows, ddl, expect, insert_sql,
                    main, port, select_sql)


def run():
    conn = psycopg2.connect(host=HOST, port=port(), user=USER, dbname=DBNAME, connect_timeout=10)
    try:
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("DROP TABLE IF EXISTS py2_types")
        cur.execute(ddl("py2_types"))
        sql = insert_sql("py2_types", lambda i: "%s")
        for row in ROWS:
            cur.execute(sql, tuple(psycopg2.Binary(v) if isinstance(v, bytes) else v for v in row))
        cur.execute(select_sql("py2_types"))
        check_rows("text round trip", cur.fetchall())
        cur.execute("SELECT id FROM py2_types WHERE c_text = %s AND c_bytea = %s",
                    (ROWS[0][8], psycopg2.Binary(ROWS[0][10])))
        expect("select by params", cur.fetchall() == [(1,)])

        # Explicit transactions: autocommit off, psycopg2 sends BEGIN.
        conn.autocommit = False
        cur.execute("DROP TABLE IF EXISTS py2_tx")
        cur.execute("CREATE TABLE py2_tx (id INTEGER PRIMARY KEY, v TEXT)")
        conn.commit()
        cur.execute("INSERT INTO py2_tx VALUES (%s, %s)", (1, "committed"))
        conn.commit()
        cur.execute("INSERT INTO py2_tx VALUES (%s, %s)", (2, "rolled back"))
        conn.rollback()
        cur.execute("SELECT id, v FROM py2_tx ORDER BY id")
        rows = cur.fetchall()
        expect("commit/rollback", rows == [(1, "committed")], repr(rows))
        conn.commit()
        try:
            cur.execute("INSERT INTO py2_tx VALUES (%s, %s)", (1, "duplicate"))
            raise AssertionError("duplicate key was accepted")
        except psycopg2.errors.UniqueViolation as e:
            expect("sqlstate", e.pgcode == psycopg2.errorcodes.UNIQUE_VIOLATION, e.pgcode)
        conn.rollback()

        # One statement reused 10 times.
        for i in range(10):
            cur.execute("SELECT %s + 1, c_text FROM py2_types WHERE id = %s", (i, 1))
            expect(f"reused #{i}", cur.fetchall() == [(i + 1, ROWS[0][8])])
        conn.commit()
    finally:
        conn.close()
    return "text only: psycopg2 has no binary or server-side prepare"


if __name__ == "__main__":
    main("psycopg2", run)
