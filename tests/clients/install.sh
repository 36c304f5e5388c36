#!/usr/bin/env bash
# Installs the client drivers that crates/server/tests/clients.rs runs:
# psycopg 3, psycopg2, asyncpg and SQLAlchemy (pip), node-postgres (npm,
# pinned in node/package.json) and pgjdbc (Debian's libpostgresql-jdbc-java).
# Idempotent and quiet: each step is skipped when already satisfied.
set -euo pipefail
cd "$(dirname "$0")"

PY="${PYTHON:-python3}"
if ! "$PY" -c 'import psycopg, psycopg2, asyncpg, sqlalchemy' >/dev/null 2>&1; then
  echo "== installing Python drivers (psycopg, psycopg2-binary, asyncpg, sqlalchemy)"
  pkgs=('psycopg[binary]' psycopg2-binary asyncpg sqlalchemy)
  opts=(-q --disable-pip-version-check --root-user-action=ignore)
  if ! "$PY" -m pip --version >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq python3-pip >/dev/null
  fi
  # A Debian-managed Python refuses plain pip installs (PEP 668).
  "$PY" -m pip install "${opts[@]}" "${pkgs[@]}" 2>/dev/null ||
    "$PY" -m pip install "${opts[@]}" --break-system-packages "${pkgs[@]}"
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "== installing nodejs and npm"
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -f node/node_modules/pg/package.json ]; then
  echo "== installing node-postgres (npm install in tests/clients/node)"
  (cd node && npm install --silent --no-audit --no-fund >/dev/null)
fi

if [ ! -f /usr/share/java/postgresql.jar ] || ! command -v javac >/dev/null 2>&1; then
  echo "== installing pgjdbc (libpostgresql-jdbc-java) and a JDK"
  apt-get update -qq
  pkgs=(libpostgresql-jdbc-java)
  command -v javac >/dev/null 2>&1 || pkgs+=(default-jdk-headless)
  apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi
