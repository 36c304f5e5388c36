//! The test-only `skip-validation` switch (cargo feature `fault-injection`;
//! see `src/fault.rs`): with it on, commits that conflict both commit, the
//! lost update the chaos suite's bank checker must then notice. Without the
//! switch the same commits conflict, as always.
//!
//! Only built with the feature (the switch is a process-wide setting, so it
//! lives in a test binary of its own).

#![cfg(feature = "fault-injection")]

use std::sync::Arc;

use quorumdb_storage::fault::{self, Switch};
use quorumdb_storage::{ApplyOutcome, Commit, ConflictKind, Isolation, MemoryEngine, Mvcc};

fn transfer(read_version: u64, key: &str, value: &str) -> Commit {
    Commit {
        read_version,
        isolation: Isolation::Serializable,
        writes: vec![(key.as_bytes().to_vec(), Some(value.as_bytes().to_vec()))],
        read_keys: vec![key.as_bytes().to_vec()],
        read_ranges: vec![],
    }
}

#[test]
fn conflicting_commits_both_commit_only_with_the_switch() -> Result<(), Box<dyn std::error::Error>> {
    // Two transactions read balance 100 at version 1 and both write it.
    let mvcc = Mvcc::open(Arc::new(MemoryEngine::new()))?;
    mvcc.apply(1, &transfer(0, "balance", "100"))?;
    assert!(!fault::enabled(Switch::SkipValidation));
    assert_eq!(
        mvcc.apply(2, &transfer(1, "balance", "90"))?,
        ApplyOutcome::Committed
    );
    assert!(matches!(
        mvcc.apply(3, &transfer(1, "balance", "80"))?,
        ApplyOutcome::Conflict {
            kind: ConflictKind::WriteWrite,
            ..
        }
    ));

    fault::activate("skip-validation")?;
    assert!(fault::enabled(Switch::SkipValidation));
    assert_eq!(
        mvcc.apply(4, &transfer(1, "balance", "70"))?,
        ApplyOutcome::Committed
    );
    let snapshot = mvcc.snapshot(4)?;
    assert_eq!(
        snapshot.get(b"balance")?,
        Some(b"70".to_vec()),
        "the lost update happened"
    );
    Ok(())
}
