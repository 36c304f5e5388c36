//! TLS on the SQL port: a self-signed certificate made with the `openssl`
//! command, then `psql` with `sslmode=require` (the connection is really
//! TLS: psql's `\conninfo` says so, and the same client is refused by a
//! server without TLS), SCRAM with channel binding over TLS, and clear
//! errors for unusable certificate/key files.
//!
//! Skipped (with a message) when /usr/bin/psql or the openssl command is
//! absent.

mod pgwire_util;

use std::path::{Path, PathBuf};
use std::process::Output;

use pgwire_util::*;
use quorumdb_server::pgwire::{AuthMode, PgConfig, TlsConfig, TlsError};
use quorumdb_sql::Session;

fn have_tools() -> bool {
    let openssl = std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    openssl && Path::new("/usr/bin/psql").exists()
}

/// A self-signed certificate for localhost and its key, in `dir`.
fn self_signed(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

/// `psql` with a connection string and extra arguments.
async fn psql(conninfo: &str, args: &[&str], password: Option<&str>) -> Output {
    let mut cmd = tokio::process::Command::new("/usr/bin/psql");
    cmd.arg("-X")
        .arg(conninfo)
        .args(args)
        .env("PGCONNECT_TIMEOUT", "10")
        .env_remove("PGSERVICE")
        .env_remove("PGSSLMODE")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    match password {
        Some(p) => cmd.env("PGPASSWORD", p),
        None => cmd.env_remove("PGPASSWORD"),
    };
    tokio::time::timeout(TIMEOUT, cmd.output())
        .await
        .expect("psql timed out")
        .expect("psql output")
}

fn conninfo(server: &TestServer, extra: &str) -> String {
    format!(
        "host=127.0.0.1 port={} user=root dbname=qdb {extra}",
        server.port()
    )
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_connects_over_tls_and_plain_servers_refuse_sslmode_require() {
    if !have_tools() {
        eprintln!("psql or openssl not installed; skipping");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = self_signed(dir.path(), "server");
    let tls = TlsConfig::from_pem_files(&cert, &key).expect("load certificate");
    let server = start(PgConfig {
        tls: Some(tls),
        ..PgConfig::default()
    })
    .await;

    let out = psql(
        &conninfo(&server, "sslmode=require"),
        &["-A", "-t", "-c", "SELECT 1", "-c", "\\conninfo"],
        None,
    )
    .await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert_eq!(stdout.lines().next(), Some("1"), "{stdout}");
    assert!(stdout.contains("SSL connection (protocol: TLSv1.3"), "{stdout}");
    // The certificate verifies against itself as the root (sslmode=verify-full).
    let out = psql(
        &conninfo(
            &server,
            &format!(
                "sslmode=verify-full host=localhost sslrootcert={}",
                cert.display()
            ),
        ),
        &["-A", "-t", "-c", "SELECT 2"],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "2");
    // A client that does not ask for TLS still gets plain text.
    let out = psql(
        &conninfo(&server, "sslmode=disable"),
        &["-A", "-t", "-c", "\\conninfo"],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stdout).contains("SSL connection"),
        "{}",
        text(&out.stdout)
    );

    // Without TLS configured, SSLRequest is refused and sslmode=require fails.
    let plain = start_default().await;
    let out = psql(&conninfo(&plain, "sslmode=require"), &["-c", "SELECT 1"], None).await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("server does not support SSL, but SSL was required"),
        "{}",
        text(&out.stderr)
    );
    // sslmode=prefer falls back to plain text.
    let out = psql(
        &conninfo(&plain, "sslmode=prefer"),
        &["-A", "-t", "-c", "SELECT 3"],
        None,
    )
    .await;
    assert_eq!(text(&out.stdout).trim(), "3", "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_with_channel_binding_over_tls() {
    if !have_tools() {
        eprintln!("psql or openssl not installed; skipping");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = self_signed(dir.path(), "server");
    let store = memory_store();
    Session::new(store.clone())
        .execute("CREATE USER alice PASSWORD 'tls-pw'")
        .expect("user");
    let server = start_on(
        store,
        PgConfig {
            auth: AuthMode::PasswordEverywhere,
            tls: Some(TlsConfig::from_pem_files(&cert, &key).expect("load")),
            ..PgConfig::default()
        },
    )
    .await;
    let alice = |extra: &str| {
        format!(
            "host=127.0.0.1 port={} user=alice dbname=qdb {extra}",
            server.port()
        )
    };
    // channel_binding=require: only SCRAM-SHA-256-PLUS over TLS will do.
    let out = psql(
        &alice("sslmode=require channel_binding=require"),
        &["-A", "-t", "-c", "SELECT current_user"],
        Some("tls-pw"),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "alice");
    let out = psql(&alice("sslmode=require"), &["-c", "SELECT 1"], Some("wrong")).await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("password authentication failed"),
        "{}",
        text(&out.stderr)
    );
    // Plain SCRAM still works for a client without TLS.
    let out = psql(
        &alice("sslmode=disable"),
        &["-A", "-t", "-c", "SELECT 4"],
        Some("tls-pw"),
    )
    .await;
    assert_eq!(text(&out.stdout).trim(), "4", "{}", text(&out.stderr));
}

#[test]
fn unusable_certificate_files_are_clear_errors() {
    if !have_tools() {
        eprintln!("psql or openssl not installed; skipping");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = self_signed(dir.path(), "one");
    let (_, other_key) = self_signed(dir.path(), "two");
    let missing = dir.path().join("missing.pem");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").expect("write");

    let err = TlsConfig::from_pem_files(&missing, &key).expect_err("missing cert");
    assert!(matches!(err, TlsError::Read { .. }), "{err}");
    assert!(err.to_string().contains("missing.pem"), "{err}");
    let err = TlsConfig::from_pem_files(&garbage, &key).expect_err("garbage cert");
    assert!(matches!(err, TlsError::Certificate { .. }), "{err}");
    let err = TlsConfig::from_pem_files(&cert, &garbage).expect_err("garbage key");
    assert!(matches!(err, TlsError::Key { .. }), "{err}");
    // The key files swapped: a key and a certificate that do not belong together.
    let err = TlsConfig::from_pem_files(&cert, &other_key).expect_err("mismatched key");
    assert!(matches!(err, TlsError::Pair { .. }), "{err}");
    for e in [
        TlsConfig::from_pem_files(&missing, &key).expect_err("missing"),
        TlsConfig::from_pem_files(&cert, &other_key).expect_err("pair"),
    ] {
        assert_eq!(e.to_string().lines().count(), 1, "{e}");
    }
}
