// node-postgres (`pg`) against QuorumDB: every supported type round-trips
// as text parameters and text results (simple and extended protocol), NULLs
// included; binary results are requested and their description checked; transactions; SQLSTATE 23505; a named prepared statement
// reused 10 times. Port from argv[2] or QUORUMDB_PORT. Prints PASS/FAIL.
'use strict';

const assert = require('assert');
const pg = require('pg');

const port = Number(process.argv[2] || process.env.QUORUMDB_PORT || 5433);

// Text dates and timestamps stay strings, so comparisons see exactly
// what the server sent (pg would turn them into local-time Dates).
const OID = { DATE: 1082, TIMESTAMP: 1114 };
const types = {
  getTypeParser(oid, format) {
    if (format === 'binary') return (raw) => raw; // see the binary check below
    if (oid === OID.DATE || oid === OID.TIMESTAMP) return (s) => s;
    return pg.types.getTypeParser(oid, format);
  },
};

const COLUMNS = ['id', 'c_bool', 'c_int2', 'c_int4', 'c_int8', 'c_float4', 'c_float8',
  'c_numeric', 'c_text', 'c_varchar', 'c_bytea', 'c_date', 'c_timestamp'];

// [value sent, value expected back]; int8 and numeric are strings in pg.
const ROWS = [
  [1, true, 32767, 2147483647, '9223372036854775807', 3.25, 3.141592653589793,
    '123456789.125', "héllo, wörld ☃ 'q' \"dq\" \\ back\nline", 'varchar ☃',
    Buffer.from([0, 1, 2, 0xff, 0x80, 0x5c]), '2024-02-29', '2024-02-29 13:45:30.123456'],
  [2, false, -32768, -2147483648, '-9223372036854775808', -1234.5, -1e300,
    '-42.500', '', 'x'.repeat(20), Buffer.alloc(0), '1999-12-31', '1970-01-01 00:00:00'],
  [3, null, null, null, null, null, null, null, null, null, null, null, null],
  [4, true, 0, 0, '0', 0, 0.1, '0.001', 'plain', '', Buffer.from([0x7f]),
    '2000-01-01', '1999-12-31 23:59:59.999999'],
];

function checkRows(label, got) {
  assert.strictEqual(got.length, ROWS.length, `${label}: row count`);
  got.forEach((row, r) => {
    COLUMNS.forEach((col, c) => {
      const want = ROWS[r][c];
      const have = row[c];
      const ok = Buffer.isBuffer(want)
        ? Buffer.isBuffer(have) && want.equals(have)
        : have === want;
      assert.ok(ok, `${label}: row id=${ROWS[r][0]} column ${col}: got ${JSON.stringify(have)}` +
        ` (${typeof have}), want ${JSON.stringify(want)}`);
    });
  });
}

async function expectSqlstate(promise, code, what) {
  try {
    await promise;
  } catch (e) {
    assert.strictEqual(e.code, code, `${what}: SQLSTATE ${e.code}: ${e.message}`);
    return;
  }
  assert.fail(`${what}: no error, expected SQLSTATE ${code}`);
}

async function main() {
  const client = new pg.Client({
    host: '127.0.0.1', port, user: 'root', database: 'quorumdb', connectionTimeoutMillis: 10000, types,
  });
  await client.connect();
  try {
    await client.query('DROP TABLE IF EXISTS node_types');
    await client.query(
      'CREATE TABLE node_types (id INTEGER PRIMARY KEY, c_bool BOOLEAN, c_int2 SMALLINT, c_int4 INTEGER, ' +
      'c_int8 BIGINT, c_float4 REAL, c_float8 DOUBLE PRECISION, c_numeric NUMERIC(12,3), c_text TEXT, ' +
      'c_varchar VARCHAR(20), c_bytea BYTEA, c_date DATE, c_timestamp TIMESTAMP)');
    const marks = COLUMNS.map((_, i) => `$${i + 1}`).join(', ');
    for (const row of ROWS) {
      await client.query(`INSERT INTO node_types (${COLUMNS.join(', ')}) VALUES (${marks})`, row);
    }
    const select = `SELECT ${COLUMNS.join(', ')} FROM node_types ORDER BY id`;
    checkRows('text results', (await client.query({ text: select, rowMode: 'array' })).rows);
    const bin = await client.query({ text: select, rowMode: 'array', binary: true, queryMode: 'extended' });
    // pg asks for binary results but cannot decode them (pg-protocol reads
    // every DataRow value as a UTF-8 string), so only the described format
    // and the NULLs are checked here; asyncpg, psycopg 3 and pgjdbc check
    // binary values.
    assert.ok(bin.fields.every((f) => f.format === 'binary'), 'binary result format: ' + bin.fields.map((f) => f.format));
    assert.ok(bin.rows[2].slice(1).every((v) => v === null), 'binary NULLs');
    checkRows('text results, extended', (await client.query({ text: select, rowMode: 'array', queryMode: 'extended' })).rows);
    // Simple-protocol results (no parameters) are text too.
    checkRows('simple query', (await client.query({ text: select, rowMode: 'array', queryMode: 'simple' })).rows);
    const byParams = await client.query({
      text: 'SELECT id FROM node_types WHERE c_int8 = $1 AND c_bytea = $2 AND c_date = $3',
      values: [ROWS[0][4], ROWS[0][10], ROWS[0][11]], rowMode: 'array',
    });
    assert.deepStrictEqual(byParams.rows, [[1]], 'select by params');

    await client.query('DROP TABLE IF EXISTS node_tx');
    await client.query('CREATE TABLE node_tx (id INTEGER PRIMARY KEY, v TEXT)');
    await client.query('BEGIN');
    await client.query('INSERT INTO node_tx VALUES ($1, $2)', [1, 'committed']);
    await client.query('COMMIT');
    await client.query('BEGIN');
    await client.query('INSERT INTO node_tx VALUES ($1, $2)', [2, 'rolled back']);
    await client.query('ROLLBACK');
    const tx = await client.query({ text: 'SELECT id, v FROM node_tx ORDER BY id', rowMode: 'array' });
    assert.deepStrictEqual(tx.rows, [[1, 'committed']], 'commit/rollback');
    await expectSqlstate(client.query('INSERT INTO node_tx VALUES ($1, $2)', [1, 'duplicate']), '23505',
      'duplicate key');
    // Inside a block the error fails the block (25P02) until ROLLBACK.
    await client.query('BEGIN');
    await expectSqlstate(client.query('INSERT INTO node_tx VALUES ($1, $2)', [1, 'dup']), '23505', 'in block');
    await expectSqlstate(client.query('SELECT 1'), '25P02', 'failed block');
    await client.query('ROLLBACK');

    for (let i = 0; i < 10; i++) {
      const r = await client.query({
        name: 'node_reused', text: 'SELECT c_int4, c_text FROM node_types WHERE id = $1',
        values: [1 + (i % 2)], rowMode: 'array',
      });
      assert.deepStrictEqual(r.rows, [[ROWS[i % 2][3], ROWS[i % 2][8]]], `prepared #${i}`);
    }
    for (let i = 0; i < 10; i++) {
      await client.query({ name: 'node_ins', text: 'INSERT INTO node_tx VALUES ($1, $2)', values: [100 + i, `r${i}`] });
    }
    const n = await client.query({ text: 'SELECT count(*) FROM node_tx', rowMode: 'array' });
    assert.strictEqual(String(n.rows[0][0]), '11', 'prepared inserts');
  } finally {
    await client.end();
  }
}

main().then(
  () => console.log('PASS node-postgres (pg ' + require('pg/package.json').version + ', text; binary described only)'),
  (e) => {
    console.error(e && e.stack ? e.stack : e);
    console.log('FAIL node-postgres: ' + (e && e.message ? e.message : e));
    process.exit(1);
  });
