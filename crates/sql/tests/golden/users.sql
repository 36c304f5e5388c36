-- Users in the catalog: CREATE/ALTER/DROP USER and ROLE.
CREATE USER alice WITH PASSWORD 'wonderland';
CREATE USER bob PASSWORD 'builder';
CREATE ROLE carol LOGIN PASSWORD 'c4rol';
CREATE ROLE "Dave" WITH SUPERUSER LOGIN;
CREATE ROLE readers;
-- Duplicates: 42710, also against root which always exists.
CREATE USER alice PASSWORD 'again';
CREATE USER ROOT;
-- Unknown users on ALTER and DROP: 42704.
ALTER USER nobody WITH PASSWORD 'x';
ALTER ROLE nobody PASSWORD NULL;
DROP USER nobody;
DROP USER IF EXISTS nobody;
DROP ROLE IF EXISTS nobody, readers;
DROP ROLE readers;
-- Passwords and options.
ALTER USER alice WITH PASSWORD 'looking-glass';
ALTER USER alice PASSWORD NULL;
ALTER USER bob NOLOGIN;
ALTER ROLE bob WITH LOGIN PASSWORD 'builder2';
ALTER USER root WITH PASSWORD 'toor';
ALTER USER root NOSUPERUSER;
ALTER USER alice PASSWORD 'md5a3556571e93b0d20722ba62be61e8c2d';
ALTER USER alice PASSWORD 'SCRAM-SHA-256$4096:bad';
CREATE USER eve CREATEDB;
CREATE USER eve VALID UNTIL '2030-01-01';
ALTER USER alice RENAME TO alicia;
-- root and the current user cannot be dropped.
DROP USER root;
-- A transaction that creates a user and rolls back leaves nothing.
BEGIN;
CREATE USER temp PASSWORD 'x';
ROLLBACK;
DROP USER temp;
-- Only superusers manage users; anyone may change their own password.
\user bob
CREATE USER mallory;
ALTER USER alice PASSWORD 'hacked';
ALTER USER bob PASSWORD 'mine';
ALTER USER bob SUPERUSER;
DROP USER alice;
\user Dave
CREATE USER frank PASSWORD 'f';
DROP USER root;
DROP USER "Dave";
DROP USER frank, carol;
DROP USER frank;
\user root
DROP USER alice, bob, "Dave";
CREATE USER alice;
