"""asyncpg against QuorumDB: every value (UUID too) in the binary format (asyncpg's
only format for built-in types), transactions, SQLSTATE 23505, and an
explicitly prepared statement reused 10 times."""

import asyncio
import uuid

import asyncpg

from common import (DBNAME, HOST, USER, ROWS, check_rows, ddl, expect, insert_sql,
                    main, port, select_sql)


async def run_async():
    conn = await asyncpg.connect(host=HOST, port=port(), user=USER, database=DBNAME,
                                 timeout=10, ssl=False)
    try:
        await conn.execute("DROP TABLE IF EXISTS apg_types")
        await conn.execute(ddl("apg_types"))
        sql = insert_sql("apg_types", lambda i: f"${i + 1}")
        for row in ROWS:
            await conn.execute(sql, *row)
        check_rows("binary round trip", [tuple(r) for r in await conn.fetch(select_sql("apg_types"))])
        got = await conn.fetchval("SELECT id FROM apg_types WHERE c_int8 = $1 AND c_bytea = $2",
                                  ROWS[0][4], ROWS[0][10])
        expect("select by params", got == 1, repr(got))

        # UUID: asyncpg sends and reads it as 16 bytes.
        await conn.execute("DROP TABLE IF EXISTS apg_uuid")
        await conn.execute("CREATE TABLE apg_uuid (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), v TEXT)")
        u = uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
        await conn.execute("INSERT INTO apg_uuid VALUES ($1, $2)", u, "given")
        got = await conn.fetchval("SELECT v FROM apg_uuid WHERE id = $1", u)
        expect("select by uuid", got == "given", repr(got))
        got = await conn.fetchval("SELECT id FROM apg_uuid WHERE v = $1", "given")
        expect("uuid result", isinstance(got, uuid.UUID) and got == u, repr(got))
        made = await conn.fetchval("INSERT INTO apg_uuid (v) VALUES ($1) RETURNING id", "made")
        expect("gen_random_uuid", isinstance(made, uuid.UUID) and made.version == 4, repr(made))

        await conn.execute("DROP TABLE IF EXISTS apg_tx")
        await conn.execute("CREATE TABLE apg_tx (id INTEGER PRIMARY KEY, v TEXT)")
        async with conn.transaction():
            await conn.execute("INSERT INTO apg_tx VALUES ($1, $2)", 1, "committed")
        tr = conn.transaction()
        await tr.start()
        await conn.execute("INSERT INTO apg_tx VALUES ($1, $2)", 2, "rolled back")
        await tr.rollback()
        rows = [tuple(r) for r in await conn.fetch("SELECT id, v FROM apg_tx ORDER BY id")]
        expect("commit/rollback", rows == [(1, "committed")], repr(rows))
        try:
            await conn.execute("INSERT INTO apg_tx VALUES ($1, $2)", 1, "duplicate")
            raise AssertionError("duplicate key was accepted")
        except asyncpg.exceptions.UniqueViolationError as e:
            expect("sqlstate", e.sqlstate == "23505", e.sqlstate)

        stmt = await conn.prepare("SELECT $1::INTEGER + 1, c_text FROM apg_types WHERE id = $2")
        for i in range(10):
            row = await stmt.fetchrow(i, 1)
            expect(f"prepared #{i}", tuple(row) == (i + 1, ROWS[0][8]), repr(row))
        ins = await conn.prepare("INSERT INTO apg_tx VALUES ($1, $2)")
        for i in range(10):
            await ins.fetch(100 + i, f"row {i}")
        n = await conn.fetchval("SELECT count(*) FROM apg_tx")
        expect("prepared inserts", n == 11, repr(n))
    finally:
        await conn.close()
    return "binary"


def run():
    return asyncio.run(run_async())


if __name__ == "__main__":
    main("asyncpg", run)
