//! The pgwire endpoint driven by the real `psql` (15) as a child process:
//! command tags, multi-statement strings, errors with SQLSTATE and
//! position, warnings for unknown SET, the advertised server version,
//! `\d`-style catalog commands including `\du`, and `\password`.
//!
//! Skipped (with a message) when /usr/bin/psql is absent.

mod pgwire_util;

use std::process::Output;

use pgwire_util::*;

fn have_psql() -> bool {
    std::path::Path::new("/usr/bin/psql").exists()
}

/// Runs `psql -c` for each command in one session; returns the output.
async fn psql(server: &TestServer, args: &[&str]) -> Output {
    psql_with_stdin(server, args, "").await
}

/// Like [`psql`], with `input` on psql's standard input (COPY FROM STDIN).
async fn psql_with_stdin(server: &TestServer, args: &[&str], input: &str) -> Output {
    use tokio::io::AsyncWriteExt;
    let port = server.port().to_string();
    let mut cmd = tokio::process::Command::new("/usr/bin/psql");
    cmd.args(["-X", "-h", "127.0.0.1", "-p", &port, "-U", "root", "-d", "qdb"])
        .args(args)
        .env("PGCONNECT_TIMEOUT", "10")
        .env_remove("PGPASSWORD")
        .env_remove("PGSERVICE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("run psql");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).await.expect("psql stdin");
    }
    tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .expect("psql timed out")
        .expect("psql output")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_command_tags_and_results() {
    if !have_psql() {
        eprintln!("psql not installed; skipping");
        return;
    }
    let server = start_default().await;
    let out = psql(
        &server,
        &[
            "-c",
            "CREATE TABLE t (id INT PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'one'), (2, NULL); \
             UPDATE t SET v = 'uno' WHERE id = 1; DELETE FROM t WHERE id = 2",
            "-c",
            "BEGIN; INSERT INTO t VALUES (3, 'three'); COMMIT",
            "-c",
            "SELECT id, v FROM t ORDER BY id",
        ],
    )
    .await;
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        text(&out.stderr)
    );
    for tag in [
        "CREATE TABLE",
        "INSERT 0 2",
        "UPDATE 1",
        "DELETE 1",
        "BEGIN",
        "INSERT 0 1",
        "COMMIT",
        "(2 rows)",
    ] {
        assert!(stdout.contains(tag), "missing {tag:?} in:\n{stdout}");
    }
    assert!(stdout.contains("uno") && stdout.contains("three"), "{stdout}");

    // Unaligned, tuples-only output of NULL and values.
    let out = psql(&server, &["-A", "-t", "-c", "SELECT 1 AS a, NULL AS b, 'x' AS c"]).await;
    assert_eq!(text(&out.stdout).trim(), "1||x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_errors_warnings_and_version() {
    if !have_psql() {
        eprintln!("psql not installed; skipping");
        return;
    }
    let server = start_default().await;
    let out = psql(&server, &["-v", "VERBOSITY=verbose", "-c", "SELEC 1"]).await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("ERROR:  42601"), "{stderr}");
    assert!(stderr.contains("LINE 1: SELEC 1"), "{stderr}");

    let out = psql(&server, &["-v", "VERBOSITY=verbose", "-c", "SELECT * FROM nope"]).await;
    let stderr = text(&out.stderr);
    assert!(stderr.contains("42P01"), "{stderr}");
    // The position points at the missing table: psql draws the caret there.
    assert!(
        stderr.contains("LINE 1: SELECT * FROM nope\n                      ^"),
        "{stderr}"
    );

    let out = psql(&server, &["-c", "SET something_unknown = 'x'"]).await;
    assert!(out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("WARNING:") && stderr.contains("something_unknown"),
        "{stderr}"
    );
    assert!(text(&out.stdout).contains("SET"));

    let out = psql(
        &server,
        &[
            "-A",
            "-t",
            "-c",
            "SHOW server_version",
            "-c",
            "SELECT version()",
            "-c",
            "SELECT current_user",
        ],
    )
    .await;
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.first().is_some_and(|l| l.starts_with("15.0 (QuorumDB")),
        "{stdout}"
    );
    assert!(
        lines.get(1).is_some_and(|l| l.starts_with("PostgreSQL 15.0")),
        "{stdout}"
    );
    assert_eq!(lines.get(2).copied(), Some("root"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_describe_commands() {
    if !have_psql() {
        eprintln!("psql not installed; skipping");
        return;
    }
    let server = start_default().await;
    let c = connect(&server).await;
    c.batch_execute(
        "CREATE TABLE t1 (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, amount NUMERIC(10,2)); \
         CREATE TABLE t2 (k TEXT); CREATE INDEX t1_name ON t1 (name); \
         CREATE VIEW v1 AS SELECT id FROM t1",
    )
    .await
    .expect("setup");
    let out = psql(&server, &["-c", "\\dt"]).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("List of relations"), "{stdout}");
    assert!(stdout.contains(" public | t1   | table | root"), "{stdout}");
    assert!(stdout.contains("(2 rows)"), "{stdout}");

    // \dv lists the view alone, \d tables and views.
    let out = psql(&server, &["-c", "\\dv"]).await;
    let stdout = text(&out.stdout);
    assert!(stdout.contains(" public | v1   | view | root"), "{stdout}");
    assert!(stdout.contains("(1 row)"), "{stdout}");
    let out = psql(&server, &["-c", "\\d"]).await;
    let stdout = text(&out.stdout);
    assert!(stdout.contains("v1") && stdout.contains("(3 rows)"), "{stdout}");

    let out = psql(&server, &["-c", "\\d t1"]).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("Table \"public.t1\""), "{stdout}");
    assert!(stdout.contains("character varying(20)"), "{stdout}");
    assert!(stdout.contains("numeric(10,2)"), "{stdout}");
    assert!(stdout.contains("not null"), "{stdout}");
    assert!(stdout.contains("\"t1_pkey\" PRIMARY KEY, btree (id)"), "{stdout}");
    assert!(stdout.contains("\"t1_name\" btree (name)"), "{stdout}");

    let out = psql(&server, &["-c", "\\di"]).await;
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("t1_pkey") && stdout.contains("t1_name"),
        "{stdout}"
    );

    let out = psql(&server, &["-c", "\\d nope"]).await;
    assert!(
        text(&out.stderr).contains("Did not find any relation named \"nope\""),
        "{}",
        text(&out.stderr)
    );

    let out = psql(&server, &["-l"]).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("List of databases") && stdout.contains("qdb"),
        "{stdout}"
    );

    c.batch_execute("CREATE USER alice PASSWORD 'pw'; CREATE ROLE readers")
        .await
        .expect("users");
    let out = psql(&server, &["-c", "\\du"]).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("List of roles"), "{stdout}");
    let row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .map(|l| l.split('|').map(str::trim).collect::<Vec<_>>())
    };
    assert_eq!(row("alice"), Some(vec!["alice", "", "{}"]), "{stdout}");
    assert_eq!(
        row("readers"),
        Some(vec!["readers", "Cannot login", "{}"]),
        "{stdout}"
    );
    let root = row("root").unwrap_or_default();
    assert!(
        root.get(1).is_some_and(|a| a.starts_with("Superuser")),
        "{stdout}"
    );
    let out = psql(&server, &["-c", "\\du ali*"]).await;
    let stdout = text(&out.stdout);
    assert!(stdout.contains("alice") && !stdout.contains("root"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_copy_in_and_out() {
    if !have_psql() {
        eprintln!("psql not installed; skipping");
        return;
    }
    let server = start_default().await;
    let c = connect(&server).await;
    c.batch_execute("CREATE TABLE cp (id INT PRIMARY KEY, name TEXT, score DOUBLE PRECISION)")
        .await
        .expect("create");
    // Text format, with escapes, NULL and the old-style end marker.
    let out = psql_with_stdin(
        &server,
        &["-c", "COPY cp FROM STDIN"],
        "1\tone\t1.5\n2\ttab\\there\t\\N\n\\.\n",
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "COPY 2");
    // CSV with a header, quotes and an explicit column list.
    let out = psql_with_stdin(
        &server,
        &[
            "-c",
            "COPY cp (id, name) FROM STDIN WITH (FORMAT csv, HEADER true)",
        ],
        "id,name\n3,\"a, \"\"quoted\"\" name\"\n4,\n",
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "COPY 2");
    let out = psql(
        &server,
        &[
            "-c",
            "COPY (SELECT id, name, score FROM cp ORDER BY id) TO STDOUT WITH (FORMAT csv)",
        ],
    )
    .await;
    assert_eq!(
        text(&out.stdout),
        "1,one,1.5\n2,tab\there,\n3,\"a, \"\"quoted\"\" name\",\n4,,\n"
    );
    let out = psql(&server, &["-c", "COPY cp TO STDOUT"]).await;
    assert!(
        text(&out.stdout).starts_with("1\tone\t1.5\n2\ttab\\there\t\\N\n"),
        "{}",
        text(&out.stdout)
    );
    // A bad row fails the whole COPY (it is atomic).
    let out = psql_with_stdin(&server, &["-c", "COPY cp FROM STDIN"], "5\tfive\t1\n6\tsix\n").await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("missing data"),
        "{}",
        text(&out.stderr)
    );
    let out = psql_with_stdin(&server, &["-c", "COPY cp FROM STDIN"], "7\tx\tnot-a-number\n").await;
    assert!(!out.status.success());
    let n: i64 = c
        .query_one("SELECT count(*) FROM cp", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_password_sets_a_scram_verifier() {
    if !have_psql() {
        eprintln!("psql not installed; skipping");
        return;
    }
    let store = memory_store();
    let server = start_on(store.clone(), quorumdb_server::pgwire::PgConfig::default()).await;
    connect(&server)
        .await
        .batch_execute("CREATE USER alice")
        .await
        .expect("create");
    // psql reads the password from the terminal, or from stdin when it has
    // none: setsid takes the terminal away. libpq hashes the password
    // itself (after `SHOW password_encryption`) and sends only a verifier.
    let port = server.port().to_string();
    let mut child = tokio::process::Command::new("setsid")
        .args([
            "/usr/bin/psql",
            "-X",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "root",
            "-d",
            "qdb",
        ])
        .args(["-c", "\\password alice"])
        .env("PGCONNECT_TIMEOUT", "10")
        .env_remove("PGPASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run setsid psql");
    if let Some(mut stdin) = child.stdin.take() {
        use tokio::io::AsyncWriteExt;
        stdin.write_all(b"from-psql\nfrom-psql\n").await.expect("stdin");
    }
    let out = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .expect("psql timed out")
        .expect("psql output");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let alice = quorumdb_sql::users::lookup(&store, "alice")
        .expect("lookup")
        .expect("alice");
    let verifier = alice.password.expect("a password was set");
    assert!(verifier.matches("from-psql"));
    assert!(!verifier.matches("something else"));
}
