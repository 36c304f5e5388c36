"""Shared data and checks for the Python client scripts.

Each script connects to QuorumDB at 127.0.0.1:$QUORUMDB_PORT (or argv[1])
as root, database quorumdb, and runs the same checks with its own driver.
Every check raises on a mismatch; `main` prints one PASS/FAIL line and
exits non-zero on failure.
"""

import datetime
import os
import sys
import traceback
from decimal import Decimal

HOST = "127.0.0.1"
USER = "root"
DBNAME = "quorumdb"


def port():
    if len(sys.argv) > 1:
        return int(sys.argv[1])
    return int(os.environ.get("QUORUMDB_PORT", "5433"))


COLUMNS = ["id", "c_bool", "c_int2", "c_int4", "c_int8", "c_float4", "c_float8",
           "c_numeric", "c_text", "c_varchar", "c_bytea", "c_date", "c_timestamp"]


def ddl(table):
    return (
        f"CREATE TABLE {table} ("
        "id INTEGER PRIMARY KEY, c_bool BOOLEAN, c_int2 SMALLINT, c_int4 INTEGER, "
        "c_int8 BIGINT, c_float4 REAL, c_float8 DOUBLE PRECISION, c_numeric NUMERIC(12,3), "
        "c_text TEXT, c_varchar VARCHAR(20), c_bytea BYTEA, c_date DATE, c_timestamp TIMESTAMP)"
    )


# Rows to round-trip: extremes, awkward text and bytes, and all NULLs.
ROWS = [
    (1, True, 32767, 2147483647, 9223372036854775807, 3.25, 3.141592653589793,
     Decimal("123456789.125"), "héllo, wörld ☃ 'q' \"dq\" \\ back\nline", "varchar ☃",
     b"\x00\x01\x02\xff\x80binary\\", datetime.date(2024, 2, 29),
     datetime.datetime(2024, 2, 29, 13, 45, 30, 123456)),
    (2, False, -32768, -2147483648, -9223372036854775808, -1234.5, -1e300,
     Decimal("-42.500"), "", "x" * 20, b"", datetime.date(1999, 12, 31),
     datetime.datetime(1970, 1, 1, 0, 0, 0)),
    (3, None, None, None, None, None, None, None, None, None, None, None, None),
    (4, True, 0, 0, 0, 0.0, 0.1, Decimal("0.001"), "plain", "", b"\x7f",
     datetime.date(2000, 1, 1), datetime.datetime(1999, 12, 31, 23, 59, 59, 999999)),
]


def insert_sql(table, placeholder):
    """INSERT with one placeholder per column; placeholder(i) -> text."""
    marks = ", ".join(placeholder(i) for i in range(len(COLUMNS)))
    return f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({marks})"


def select_sql(table):
    return f"SELECT {', '.join(COLUMNS)} FROM {table} ORDER BY id"


def normalize(v):
    if isinstance(v, (bytearray, memoryview)):
        return bytes(v)
    return v


def check_rows(label, got, want=ROWS):
    got = [tuple(normalize(v) for v in row) for row in got]
    if len(got) != len(want):
        raise AssertionError(f"{label}: {len(got)} rows, want {len(want)}: {got!r}")
    for g, w in zip(got, want):
        for col, gv, wv in zip(COLUMNS, g, w):
            if not same(gv, wv):
                raise AssertionError(
                    f"{label}: row id={w[0]} column {col}: got {gv!r} ({type(gv).__name__}), want {wv!r}")


def same(got, want):
    if want is None or got is None:
        return got is None and want is None
    if type(want) is float:
        return isinstance(got, float) and got == want
    if type(want) is bool:
        return got is want
    if isinstance(want, Decimal):
        return isinstance(got, Decimal) and got == want
    if type(want) is datetime.date:
        return type(got) is datetime.date and got == want
    return type(got) is type(want) and got == want


def expect(label, cond, detail=""):
    if not cond:
        raise AssertionError(f"{label} {detail}".strip())


def main(name, fn):
    """Runs fn(); prints PASS/FAIL for `name`; exits 1 on failure."""
    try:
        notes = fn()
    except Exception as e:  # noqa: BLE001 - any failure is a FAIL
        traceback.print_exc()
        print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
        sys.exit(1)
    suffix = f" ({notes})" if notes else ""
    print(f"PASS {name}{suffix}", flush=True)
