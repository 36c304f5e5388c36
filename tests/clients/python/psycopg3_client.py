"""psycopg 3 against QuorumDB: types in text and binary (UUID too), transactions,
SQLSTATE 23505, a server-side prepared statement reused 10 times."""

import uuid

import psycopg
from psycopg import errors

from common import (DBNAME, HOST, USER, ROWS, check_rows, ddl, expect, insert_sql,
                    main, port, select_sql)


def run():
    conninfo = f"host={HOST} port={port()} user={USER} dbname={DBNAME} connect_timeout=10"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS py3_types")
        conn.execute(ddl("py3_types"))
        # Text parameters and results, then binary parameters and results.
        for binary, table in ((False, "py3_types"), (True, "py3_types")):
            conn.execute(f"DELETE FROM {table}")
            with conn.cursor(binary=binary) as cur:
                sql = insert_sql(table, lambda i: "%b" if binary else "%t")
                for row in ROWS:
                    cur.execute(sql, row)
                cur.execute(select_sql(table))
                check_rows(f"{'binary' if binary else 'text'} round trip", cur.fetchall())
                # A single parameter of each type echoed back by the server.
                cur.execute("SELECT c_text FROM py3_types WHERE c_int8 = %s AND c_bytea = %s",
                            (ROWS[0][4], ROWS[0][10]))
                expect("select by params", cur.fetchall() == [(ROWS[0][8],)])

    # UUID: uuid.UUID parameters go as type uuid, results come back as
    # uuid.UUID, in text and in binary.
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS py3_uuid")
        conn.execute("CREATE TABLE py3_uuid (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), v TEXT)")
        for binary in (False, True):
            with conn.cursor(binary=binary) as cur:
                u, v = uuid.uuid4(), f"given binary={binary}"
                cur.execute("INSERT INTO py3_uuid VALUES (%s, %s)", (u, v))
                cur.execute("SELECT id FROM py3_uuid WHERE v = %s", (v,))
                got = cur.fetchone()[0]
                expect("uuid result", isinstance(got, uuid.UUID) and got == u, repr(got))
                cur.execute("SELECT v FROM py3_uuid WHERE id = %s", (u,))
                expect("select by uuid", cur.fetchall() == [(v,)])
                cur.execute("INSERT INTO py3_uuid (v) VALUES ('made') RETURNING id")
                made = cur.fetchone()[0]
                expect("gen_random_uuid", isinstance(made, uuid.UUID) and made.version == 4, repr(made))

    # Explicit transactions (autocommit off: psycopg sends BEGIN).
    with psycopg.connect(conninfo) as conn:
        conn.execute("DROP TABLE IF EXISTS py3_tx")
        conn.execute("CREATE TABLE py3_tx (id INTEGER PRIMARY KEY, v TEXT)")
        conn.commit()
        conn.execute("INSERT INTO py3_tx VALUES (%s, %s)", (1, "committed"))
        conn.commit()
        conn.execute("INSERT INTO py3_tx VALUES (%s, %s)", (2, "rolled back"))
        conn.rollback()
        rows = conn.execute("SELECT id, v FROM py3_tx ORDER BY id").fetchall()
        expect("commit/rollback", rows == [(1, "committed")], repr(rows))
        conn.commit()
        try:
            conn.execute("INSERT INTO py3_tx VALUES (%s, %s)", (1, "duplicate"))
            raise AssertionError("duplicate key was accepted")
        except errors.UniqueViolation as e:
            expect("sqlstate", e.sqlstate == "23505", e.sqlstate)
        conn.rollback()
        with conn.transaction():
            conn.execute("INSERT INTO py3_tx VALUES (%s, %s)", (3, "block"))
        expect("transaction block", conn.execute("SELECT count(*) FROM py3_tx").fetchone()[0] == 2)
        conn.commit()

    # A prepared statement reused 10 times (prepare=True forces it).
    with psycopg.connect(conninfo, autocommit=True) as conn:
        with conn.cursor() as cur:
            for i in range(10):
                cur.execute("SELECT %s::INTEGER + 1, c_text FROM py3_types WHERE id = %s",
                            (i, 1), prepare=True)
                expect(f"prepared #{i}", cur.fetchall() == [(i + 1, ROWS[0][8])])
            for binary in (False, True):
                with conn.cursor(binary=binary) as bcur:
                    for i in range(10):
                        bcur.execute(
                            "SELECT c_int4 FROM py3_types WHERE id = %s", (1 + i % 2,), prepare=True)
                        expect(f"prepared {'binary' if binary else 'text'} #{i}", bcur.fetchone()[0] == ROWS[i % 2][3])
    return "text+binary"


if __name__ == "__main__":
    main("psycopg3", run)
