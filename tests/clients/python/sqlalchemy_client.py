"""SQLAlchemy core against QuorumDB, through its default PostgreSQL
dialect (psycopg2) and the psycopg 3 one: dialect initialisation, the
inspector's has_table / get_table_names (pg_catalog queries),
MetaData.create_all/drop_all with checkfirst, typed inserts and selects,
transactions, a SERIAL key read back with RETURNING, a foreign key
(23503 for a dangling reference), IntegrityError with SQLSTATE 23505, and
one compiled statement reused 10 times."""

import sqlalchemy as sa
from sqlalchemy import exc

from common import COLUMNS, DBNAME, HOST, USER, ROWS, check_rows, expect, main, port


def table(md):
    return sa.Table(
        "sa_types", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("c_bool", sa.Boolean),
        sa.Column("c_int2", sa.SmallInteger),
        sa.Column("c_int4", sa.Integer),
        sa.Column("c_int8", sa.BigInteger),
        sa.Column("c_float4", sa.REAL),
        sa.Column("c_float8", sa.Double),
        sa.Column("c_numeric", sa.Numeric(12, 3)),
        sa.Column("c_text", sa.Text),
        sa.Column("c_varchar", sa.String(20)),
        sa.Column("c_bytea", sa.LargeBinary),
        sa.Column("c_date", sa.Date),
        sa.Column("c_timestamp", sa.DateTime),
    )


def sqlstate(e):
    orig = e.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def check(driver):
    url = f"postgresql+{driver}://{USER}@{HOST}:{port()}/{DBNAME}"
    engine = sa.create_engine(url, connect_args={"connect_timeout": 10})
    try:
        md = sa.MetaData()
        t = table(md)
        tx = sa.Table("sa_tx", md, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                      sa.Column("v", sa.Text))
        # An ORM-style key: SQLAlchemy creates it as SERIAL and reads the
        # new ids back with RETURNING.
        auto = sa.Table("sa_auto", md, sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("v", sa.Text))
        # A relationship's foreign key, emitted by create_all.
        ref = sa.Table("sa_ref", md, sa.Column("id", sa.Integer, primary_key=True),
                       sa.Column("auto_id", sa.ForeignKey("sa_auto.id")))
        # has_table()/get_table_names() ask pg_catalog.pg_class JOIN
        # pg_namespace with relkind = ANY(ARRAY[...]) and
        # pg_table_is_visible(oid); create_all/drop_all(checkfirst) use them.
        md.drop_all(engine, checkfirst=True)
        insp = sa.inspect(engine)
        expect(f"{driver}: has_table before", not insp.has_table("sa_types"))
        md.create_all(engine, checkfirst=True)
        insp = sa.inspect(engine)
        expect(f"{driver}: has_table after", insp.has_table("sa_types") and insp.has_table("sa_tx"))
        expect(f"{driver}: has_table unknown", not insp.has_table("no_such_table"))
        names = insp.get_table_names()
        expect(f"{driver}: get_table_names", {"sa_types", "sa_tx"} <= set(names), repr(names))
        # A second create_all with checkfirst sees the tables and does nothing.
        md.create_all(engine, checkfirst=True)

        with engine.begin() as conn:
            conn.execute(t.insert(), [dict(zip(COLUMNS, row)) for row in ROWS])
        with engine.connect() as conn:
            rows = conn.execute(sa.select(*t.c).order_by(t.c.id)).all()
            check_rows(f"{driver}: round trip", [tuple(r) for r in rows])
            got = conn.execute(sa.select(t.c.id).where(t.c.c_text == ROWS[0][8],
                                                       t.c.c_bytea == ROWS[0][10])).scalars().all()
            expect(f"{driver}: select by params", got == [1], repr(got))

        with engine.begin() as conn:
            conn.execute(tx.insert().values(id=1, v="committed"))
        with engine.connect() as conn:
            trans = conn.begin()
            conn.execute(tx.insert().values(id=2, v="rolled back"))
            trans.rollback()
            rows = [tuple(r) for r in conn.execute(sa.select(tx).order_by(tx.c.id))]
            expect(f"{driver}: commit/rollback", rows == [(1, "committed")], repr(rows))
            conn.rollback()
        try:
            with engine.begin() as conn:
                conn.execute(tx.insert().values(id=1, v="duplicate"))
            raise AssertionError("duplicate key was accepted")
        except exc.IntegrityError as e:
            expect(f"{driver}: sqlstate", sqlstate(e) == "23505", repr(sqlstate(e)))

        with engine.begin() as conn:
            ids = conn.execute(auto.insert().returning(auto.c.id), [{"v": "a"}, {"v": "b"}]).scalars().all()
            one = conn.execute(auto.insert().values(v="c")).inserted_primary_key[0]
        expect(f"{driver}: serial ids", sorted(ids) == [1, 2] and one == 3, repr((ids, one)))
        with engine.begin() as conn:
            conn.execute(ref.insert().values(id=1, auto_id=1))
        try:
            with engine.begin() as conn:
                conn.execute(ref.insert().values(id=2, auto_id=999))
            raise AssertionError("a dangling foreign key was accepted")
        except exc.IntegrityError as e:
            expect(f"{driver}: foreign key sqlstate", sqlstate(e) == "23503", repr(sqlstate(e)))

        stmt = sa.select(t.c.c_int4, t.c.c_text).where(t.c.id == sa.bindparam("id"))
        with engine.connect() as conn:
            for i in range(10):
                row = conn.execute(stmt, {"id": 1 + i % 2}).one()
                want = ROWS[i % 2]
                expect(f"{driver}: reused #{i}", tuple(row) == (want[3], want[8]), repr(row))
        md.drop_all(engine, checkfirst=True)
        insp = sa.inspect(engine)
        expect(f"{driver}: dropped", not insp.has_table("sa_types"))
        names = insp.get_table_names()
        expect(f"{driver}: get_table_names after drop", "sa_types" not in names, repr(names))
    finally:
        engine.dispose()


def run():
    for driver in ("psycopg2", "psycopg"):
        check(driver)
    return f"sqlalchemy {sa.__version__}: psycopg2 and psycopg dialects"


if __name__ == "__main__":
    main("sqlalchemy", run)
