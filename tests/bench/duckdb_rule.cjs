// Runs tests/bench/rule.sql in DuckDB (the @duckdb/node-api package).
//
//   node duckdb_rule.cjs NODE_DIR SQL_FILE NDJSON_FILE OUT_FILE THREADS
//
// NODE_DIR is where the package is installed (its node_modules).  The
// SQL file's statements run in order; the last one is the query, whose
// rows are written to OUT_FILE as NDJSON by DuckDB's COPY.
'use strict';
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

async function main() {
  const [nodeDir, sqlFile, input, out, threads] = process.argv.slice(2);
  if (!threads) {
    console.error('usage: node duckdb_rule.cjs NODE_DIR SQL_FILE ' +
      'NDJSON_FILE OUT_FILE THREADS');
    process.exit(2);
  }
  const req = createRequire(path.join(path.resolve(nodeDir), 'index.js'));
  const { DuckDBInstance } = req('@duckdb/node-api');
  const quote = (s) => s.replace(/'/g, "''");
  const text = fs.readFileSync(sqlFile, 'utf8')
    .split('\n').filter((l) => !/^\s*--/.test(l)).join('\n')
    .replace(/\$\{FILE\}/g, quote(path.resolve(input)));
  const stmts = text.split(';').map((s) => s.trim()).filter((s) => s);
  const query = stmts.pop();
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  await conn.run(`SET threads = ${Number(threads)}`);
  await conn.run("SET TimeZone = 'UTC'");
  for (const s of stmts)
    await conn.run(s);
  await conn.run(`COPY (${query}) TO '${quote(path.resolve(out))}' ` +
    '(FORMAT JSON)');
}

main().catch((e) => {
  console.error(`duckdb_rule: ${e.message || e}`);
  process.exit(1);
});
