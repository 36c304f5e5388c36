//! Users in the catalog over the wire: `CREATE/ALTER/DROP USER` through
//! SQL, then logging in as them with tokio-postgres (SCRAM-SHA-256 when
//! passwords are required everywhere, trust on loopback by default), and
//! `current_user`.
//!
//! Each test starts its own in-process server on 127.0.0.1:0.

mod pgwire_util;

use pgwire_util::*;
use quorumdb_server::pgwire::{AuthMode, PgConfig};
use quorumdb_sql::Session;
use tokio_postgres::{NoTls, SimpleQueryMessage};

/// A server that requires passwords everywhere, with root's password set
/// through the SQL engine on the store before the server starts.
async fn password_server() -> TestServer {
    let store = memory_store();
    Session::new(store.clone())
        .execute("ALTER USER root WITH PASSWORD 'rootpw'")
        .expect("root password");
    start_on(
        store,
        PgConfig {
            auth: AuthMode::PasswordEverywhere,
            ..PgConfig::default()
        },
    )
    .await
}

async fn login(
    server: &TestServer,
    user: &str,
    password: Option<&str>,
) -> Result<tokio_postgres::Client, String> {
    let mut cfg = config(server, user);
    if let Some(p) = password {
        cfg.password(p);
    }
    match tokio::time::timeout(TIMEOUT, cfg.connect(NoTls)).await {
        Err(_) => panic!("login as {user} timed out"),
        Ok(Ok((client, conn))) => {
            tokio::spawn(conn);
            Ok(client)
        }
        Ok(Err(e)) => Err(sqlstate(&e)),
    }
}

async fn single_value(c: &tokio_postgres::Client, sql: &str) -> Option<String> {
    let msgs = c.simple_query(sql).await.expect(sql);
    msgs.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(r) => Some(r.get(0).map(str::to_owned)),
        _ => None,
    })?
}

async fn error_code(c: &tokio_postgres::Client, sql: &str) -> String {
    let e = c
        .simple_query(sql)
        .await
        .err()
        .unwrap_or_else(|| panic!("{sql} succeeded"));
    sqlstate(&e)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_created_in_sql_log_in_with_scram() {
    let server = password_server().await;
    // The server asks root for a password (tokio-postgres gives up without
    // one), and a wrong one is 28P01.
    assert!(login(&server, "root", None).await.is_err());
    assert_eq!(
        login(&server, "root", Some("nope")).await.err().as_deref(),
        Some("28P01")
    );
    let root = login(&server, "root", Some("rootpw")).await.expect("root login");
    assert_eq!(
        single_value(&root, "SELECT current_user").await.as_deref(),
        Some("root")
    );

    root.batch_execute("CREATE USER alice WITH PASSWORD 's3cret'")
        .await
        .expect("create user");
    assert_eq!(
        error_code(&root, "CREATE USER alice PASSWORD 'again'").await,
        "42710"
    );
    assert_eq!(error_code(&root, "DROP USER nobody").await, "42704");
    assert_eq!(error_code(&root, "ALTER USER nobody PASSWORD 'x'").await, "42704");

    // The right password, a wrong one, an unknown user.
    let alice = login(&server, "alice", Some("s3cret"))
        .await
        .expect("alice login");
    assert_eq!(
        single_value(&alice, "SELECT current_user").await.as_deref(),
        Some("alice")
    );
    assert_eq!(
        single_value(&alice, "SELECT session_user").await.as_deref(),
        Some("alice")
    );
    assert_eq!(
        login(&server, "alice", Some("S3cret")).await.err().as_deref(),
        Some("28P01")
    );
    assert_eq!(
        login(&server, "mallory", Some("x")).await.err().as_deref(),
        Some("28000")
    );
    // Not a superuser: may change its own password, not manage users.
    assert_eq!(error_code(&alice, "CREATE USER eve").await, "42501");
    assert_eq!(
        error_code(&alice, "ALTER USER root PASSWORD 'mine'").await,
        "42501"
    );
    alice
        .batch_execute("ALTER USER alice PASSWORD 'n3w'")
        .await
        .expect("own password");
    assert_eq!(
        login(&server, "alice", Some("s3cret")).await.err().as_deref(),
        Some("28P01")
    );
    login(&server, "alice", Some("n3w")).await.expect("new password");

    // Through the extended protocol, with the password as a parameter.
    root.execute("CREATE USER bob PASSWORD 'b0b'", &[])
        .await
        .expect("extended create");
    login(&server, "bob", Some("b0b")).await.expect("bob login");
    // A user without a password cannot log in where one is required.
    root.batch_execute("ALTER USER bob PASSWORD NULL")
        .await
        .expect("clear");
    assert_eq!(
        login(&server, "bob", Some("b0b")).await.err().as_deref(),
        Some("28P01")
    );
    // NOLOGIN: 28000.
    root.batch_execute("ALTER USER bob WITH NOLOGIN PASSWORD 'b0b'")
        .await
        .expect("nologin");
    assert_eq!(
        login(&server, "bob", Some("b0b")).await.err().as_deref(),
        Some("28000")
    );

    // A dropped user cannot connect any more.
    root.batch_execute("DROP USER alice").await.expect("drop");
    assert_eq!(
        login(&server, "alice", Some("n3w")).await.err().as_deref(),
        Some("28000")
    );
    // A user created in a transaction that rolled back does not exist.
    root.batch_execute("BEGIN; CREATE USER ghost PASSWORD 'boo'; ROLLBACK")
        .await
        .expect("rolled back");
    assert_eq!(
        login(&server, "ghost", Some("boo")).await.err().as_deref(),
        Some("28000")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_is_trusted_for_existing_users_only() {
    let server = start_default().await;
    let root = connect(&server).await;
    root.batch_execute("CREATE USER carol").await.expect("create");
    // Any existing user, without a password, on loopback.
    let carol = login(&server, "carol", None).await.expect("carol");
    assert_eq!(
        single_value(&carol, "SELECT current_user").await.as_deref(),
        Some("carol")
    );
    assert_eq!(login(&server, "dave", None).await.err().as_deref(), Some("28000"));
    root.batch_execute("DROP USER carol").await.expect("drop");
    assert_eq!(
        login(&server, "carol", None).await.err().as_deref(),
        Some("28000")
    );
    // The open session of a dropped user carries on (as in PostgreSQL).
    assert_eq!(single_value(&carol, "SELECT 1").await.as_deref(), Some("1"));
}
