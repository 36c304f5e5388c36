//! Property test of the durable Raft log against a trivial model (a `Vec` of
//! entries plus the last purged id): random sequences of append, truncate,
//! purge and reopen, with tiny segments so that every sequence crosses many
//! segment boundaries.

use proptest::prelude::*;
use quorumdb_raft::log::{Log, LogEntry, LogOptions};

#[derive(Debug, Clone)]
enum Op {
    /// Append this many entries with these payload sizes.
    Append(Vec<usize>),
    /// Truncate from last_index - k (clamped to the live range).
    Truncate(u64),
    /// Purge through first_index + k (may go beyond the end).
    Purge(u64),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec(0usize..300, 1..6).prop_map(Op::Append),
        2 => (0u64..8).prop_map(Op::Truncate),
        1 => (0u64..12).prop_map(Op::Purge),
        1 => Just(Op::Reopen),
    ]
}

#[derive(Default)]
struct Model {
    entries: Vec<LogEntry>,
    last_purged: Option<(u64, u64)>,
    term: u64,
}

impl Model {
    fn next(&self) -> u64 {
        self.entries
            .last()
            .map(|e| e.index + 1)
            .or(self.last_purged.map(|(p, _)| p + 1))
            .unwrap_or(1)
    }
}

fn opts() -> LogOptions {
    LogOptions {
        segment_size: 1500,
        sync_delay: None,
    }
}

fn check(log: &Log, model: &Model) {
    assert_eq!(log.first_index(), model.entries.first().map(|e| e.index));
    assert_eq!(log.last_index(), model.entries.last().map(|e| e.index));
    assert_eq!(log.last_purged(), model.last_purged);
    assert_eq!(log.entries(0..u64::MAX).unwrap(), model.entries);
    let want_last = model
        .entries
        .last()
        .map(|e| (e.index, e.term))
        .or(model.last_purged);
    assert_eq!(log.last_log_id(), want_last);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn log_matches_model(ops in prop::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), opts()).unwrap();
        let mut model = Model { term: 1, ..Model::default() };
        for op in ops {
            match op {
                Op::Append(sizes) => {
                    model.term += 1;
                    let start = model.next();
                    let new: Vec<LogEntry> = sizes.iter().enumerate().map(|(k, &n)| {
                        let index = start + k as u64;
                        LogEntry { index, term: model.term, payload: vec![(index % 251) as u8; n] }
                    }).collect();
                    let borrowed: Vec<(u64, u64, &[u8])> =
                        new.iter().map(|e| (e.index, e.term, e.payload.as_slice())).collect();
                    log.append(&borrowed).unwrap();
                    model.entries.extend(new);
                }
                Op::Truncate(k) => {
                    let Some(last) = model.entries.last().map(|e| e.index) else { continue };
                    let first = model.entries[0].index;
                    let at = last.saturating_sub(k).max(first);
                    log.truncate_from(at).unwrap();
                    model.entries.retain(|e| e.index < at);
                }
                Op::Purge(k) => {
                    let base = model.entries.first().map(|e| e.index).unwrap_or_else(|| model.next());
                    let through = base + k;
                    let term = model.entries.iter().find(|e| e.index == through).map_or(model.term, |e| e.term);
                    log.purge_through(through, term).unwrap();
                    if model.last_purged.is_none_or(|(p, _)| through > p) {
                        model.entries.retain(|e| e.index > through);
                        model.last_purged = Some((through, term));
                    }
                }
                Op::Reopen => {
                    drop(log);
                    log = Log::open(dir.path(), opts()).unwrap();
                }
            }
            check(&log, &model);
        }
        drop(log);
        let log = Log::open(dir.path(), opts()).unwrap();
        check(&log, &model);
        prop_assert_eq!(log.stats().tail_cuts, 0);
    }
}
