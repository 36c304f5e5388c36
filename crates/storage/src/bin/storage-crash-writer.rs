//! Test tool for the crash test (`tests/crash.rs`): commits transactions in a
//! loop to the sled data directory given as the only argument and prints
//! `ack N VERSION` after each commit is acknowledged (i.e. durable).
//!
//! Transaction N writes `c/N/a`, `c/N/b`, `c/N/c` and `last`, all with value
//! N, so a partially applied commit is easy to spot. It resumes after the
//! highest N found in the store. It runs until killed.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use quorumdb_storage::{KvStore, SledEngine, TxnOptions};

fn main() -> ExitCode {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: storage-crash-writer DATA_DIR");
        return ExitCode::from(2);
    };
    match run(&dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("storage-crash-writer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(dir: &str) -> Result<(), Box<dyn std::error::Error>> {
    let store = KvStore::local(Arc::new(SledEngine::open(dir)?))?;
    let mut n = {
        let mut txn = store.begin(TxnOptions::default())?;
        match txn.get(b"last")? {
            Some(raw) => String::from_utf8(raw)?.parse::<u64>()? + 1,
            None => 1,
        }
    };
    let mut stdout = std::io::stdout().lock();
    loop {
        let mut txn = store.begin(TxnOptions::default())?;
        let value = n.to_string().into_bytes();
        for part in ["a", "b", "c"] {
            txn.set(format!("c/{n:010}/{part}").into_bytes(), value.clone())?;
        }
        txn.set(b"last".to_vec(), value)?;
        let version = txn.commit()?.ok_or("commit wrote nothing")?;
        writeln!(stdout, "ack {n} {version}")?;
        stdout.flush()?;
        n += 1;
    }
}
