//! Checkpointed stores across crashes: whatever subset of the writes since
//! the last sync a crash keeps, the store reopens at its checkpoint and,
//! with the entries above it applied again, ends exactly where a store that
//! never crashed ends.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::engine::{KvPair, MemoryEngine, ScanIter, WriteOp};

/// An engine that remembers what is durable: `sync` makes everything so far
/// durable. A crash keeps the durable state plus a random subset of the
/// units written since (an atomic batch is one unit, a relaxed batch one
/// unit per operation). [`CrashEngine::crash_at`] takes that image just
/// before the given write or sync call (so also inside a checkpoint);
/// [`CrashEngine::crash`] returns it, or takes it now.
#[derive(Default)]
struct CrashEngine {
    live: MemoryEngine,
    disk: Mutex<Disk>,
}

#[derive(Default)]
struct Disk {
    durable: BTreeMap<Vec<u8>, Vec<u8>>,
    pending: Vec<Vec<WriteOp>>,
    calls: usize,
    crash_at: Option<(usize, u64)>,
    image: Option<BTreeMap<Vec<u8>, Vec<u8>>>,
}

fn apply_ops(map: &mut BTreeMap<Vec<u8>, Vec<u8>>, ops: &[WriteOp]) {
    for op in ops {
        match op {
            WriteOp::Put(k, v) => {
                map.insert(k.clone(), v.clone());
            }
            WriteOp::Delete(k) => {
                map.remove(k);
            }
        }
    }
}

impl Disk {
    fn image(&self, rng: &mut StdRng) -> BTreeMap<Vec<u8>, Vec<u8>> {
        let mut kept = self.durable.clone();
        for unit in &self.pending {
            if rng.random_bool(0.5) {
                apply_ops(&mut kept, unit);
            }
        }
        kept
    }

    /// Counts a write or sync call, crashing first if it is the chosen one.
    fn call(&mut self) {
        if let Some((at, seed)) = self.crash_at
            && at == self.calls
        {
            self.image = Some(self.image(&mut StdRng::seed_from_u64(seed)));
        }
        self.calls += 1;
    }
}

impl CrashEngine {
    fn crash_at(&self, call: usize, seed: u64) {
        self.disk.lock().unwrap().crash_at = Some((call, seed));
    }

    fn crash(&self, rng: &mut StdRng) -> CrashEngine {
        let disk = self.disk.lock().unwrap();
        let kept = disk.image.clone().unwrap_or_else(|| disk.image(rng));
        let live = MemoryEngine::new();
        let mut batch = WriteBatch::new();
        for (k, v) in &kept {
            batch.put(k.clone(), v.clone());
        }
        live.write(batch).unwrap();
        CrashEngine {
            live,
            disk: Mutex::new(Disk {
                durable: kept,
                ..Disk::default()
            }),
        }
    }
}

impl Engine for CrashEngine {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.live.get(key)
    }

    fn scan(&self, range: KeyRange) -> ScanIter {
        self.live.scan(range)
    }

    fn write(&self, batch: WriteBatch) -> Result<()> {
        let mut disk = self.disk.lock().unwrap();
        disk.call();
        disk.pending.push(batch.ops.clone());
        self.live.write(batch)
    }

    fn write_relaxed(&self, batch: WriteBatch) -> Result<()> {
        let mut disk = self.disk.lock().unwrap();
        disk.call();
        for op in &batch.ops {
            disk.pending.push(vec![op.clone()]);
        }
        self.live.write(batch)
    }

    fn sync(&self) -> Result<()> {
        let mut disk = self.disk.lock().unwrap();
        disk.call();
        let pending = std::mem::take(&mut disk.pending);
        for unit in &pending {
            apply_ops(&mut disk.durable, unit);
        }
        Ok(())
    }
}

/// A log entry as the Raft state machine would hand it over.
#[derive(Clone, Debug)]
enum LogEntry {
    Commits(Vec<Commit>),
    Gc(Version),
    Empty,
}

/// A random log of `n` entries over a few keys; commits read at a version
/// up to four entries back, so some conflict. The meta value of an entry is
/// its version, as Raft's last-applied log id would be.
fn random_log(rng: &mut StdRng, n: u64) -> Vec<LogEntry> {
    let key = |rng: &mut StdRng| format!("k{}", rng.random_range(0..6)).into_bytes();
    (1..=n)
        .map(|version| match rng.random_range(0..20) {
            0 => LogEntry::Empty,
            1 => LogEntry::Gc(version.saturating_sub(rng.random_range(2..6))),
            _ => LogEntry::Commits(
                (0..rng.random_range(1..4))
                    .map(|_| {
                        let writes = (0..rng.random_range(1..3))
                            .map(|_| {
                                let value = rng.random_bool(0.8).then(|| format!("v{version}").into_bytes());
                                (key(rng), value)
                            })
                            .collect::<BTreeMap<_, _>>()
                            .into_iter()
                            .collect();
                        Commit {
                            read_version: (version - 1).saturating_sub(rng.random_range(0..4)),
                            isolation: Isolation::Serializable,
                            writes,
                            read_keys: vec![key(rng)],
                            read_ranges: vec![],
                        }
                    })
                    .collect(),
            ),
        })
        .collect()
}

/// What was decided for each commit of an entry: committed or not (which
/// key a conflict names is not part of the decision).
fn apply(mvcc: &Mvcc, version: Version, entry: &LogEntry) -> Vec<bool> {
    let meta = version.to_be_bytes();
    let meta: &[(&str, &[u8])] = &[("last", &meta)];
    let entry = match entry {
        LogEntry::Commits(commits) => Entry::Commits(commits),
        LogEntry::Gc(horizon) => Entry::Gc { horizon: *horizon },
        LogEntry::Empty => Entry::Empty,
    };
    match mvcc.apply_entry(version, entry, meta).unwrap() {
        EntryOutcome::Commits(outcomes) => outcomes.iter().map(|o| *o == ApplyOutcome::Committed).collect(),
        EntryOutcome::Done => vec![],
    }
}

/// Everything a reader can see at the applied version, and the metadata.
fn visible(mvcc: &Mvcc) -> (Vec<KvPair>, Option<Vec<u8>>) {
    let rows = mvcc
        .snapshot(mvcc.applied())
        .unwrap()
        .scan(&(Bound::Unbounded, Bound::Unbounded), ScanOrder::Forward)
        .map(|r| r.unwrap())
        .collect();
    (rows, mvcc.meta("last").unwrap())
}

#[test]
fn a_crash_loses_nothing_that_replaying_the_log_does_not_restore() {
    for seed in 0..300 {
        let mut rng = StdRng::seed_from_u64(seed);
        let log = random_log(&mut rng, 60);

        let reference = Mvcc::open(Arc::new(MemoryEngine::new())).unwrap();
        let expected: Vec<Vec<bool>> = log
            .iter()
            .enumerate()
            .map(|(i, e)| apply(&reference, i as u64 + 1, e))
            .collect();

        // Crash at a random write or sync call, or after the last entry.
        let engine = Arc::new(CrashEngine::default());
        engine.crash_at(rng.random_range(0..log.len() * 2), seed);
        let store = Mvcc::open_checkpointed(engine.clone()).unwrap();
        for (i, entry) in log.iter().enumerate() {
            assert_eq!(apply(&store, i as u64 + 1, entry), expected[i], "seed {seed}");
            if rng.random_range(0..8) == 0 {
                store.sync().unwrap();
            }
        }
        drop(store);

        let reopened = Mvcc::open_checkpointed(Arc::new(engine.crash(&mut rng))).unwrap();
        let start = reopened.applied() as usize;
        for (i, entry) in log.iter().enumerate().skip(start) {
            assert_eq!(
                apply(&reopened, i as u64 + 1, entry),
                expected[i],
                "seed {seed}: entry {} decided differently after the crash",
                i + 1
            );
        }
        assert_eq!(visible(&reopened), visible(&reference), "seed {seed}");
        assert_eq!(reopened.horizon(), reference.horizon(), "seed {seed}");
        reopened.verify().unwrap();
    }
}

#[test]
fn a_store_opens_where_it_was_checkpointed_and_refuses_atomic_applies() {
    let engine = Arc::new(CrashEngine::default());
    let store = Mvcc::open_checkpointed(engine.clone()).unwrap();
    assert_eq!(store.checkpointed(), 0);
    store.apply(1, &commit_of("a", "1", 0)).unwrap();
    store.sync().unwrap();
    store.apply(2, &commit_of("a", "2", 1)).unwrap();
    assert_eq!(store.checkpointed(), 1);
    drop(store);

    // Nothing of version 2 reached the disk: the store opens at 1.
    let mut rng = StdRng::seed_from_u64(0);
    let crashed = engine.crash(&mut rng);
    crashed.disk.lock().unwrap().pending.clear();
    let store = Mvcc::open_checkpointed(Arc::new(crashed)).unwrap();
    assert_eq!(store.applied(), 1);
    assert_eq!(store.snapshot(1).unwrap().get(b"a").unwrap(), Some(b"1".to_vec()));

    // A checkpointed store is not opened as an atomic one.
    assert!(matches!(Mvcc::open(engine), Err(Error::Decode { .. })));
}

#[test]
fn a_state_transfer_installs_with_a_checkpoint() {
    let source = Mvcc::open(Arc::new(MemoryEngine::new())).unwrap();
    source.apply(1, &commit_of("a", "1", 0)).unwrap();
    source.apply(2, &commit_of("b", "2", 1)).unwrap();
    let mut bytes = Vec::new();
    source.export(&mut bytes).unwrap();

    let engine = Arc::new(CrashEngine::default());
    let target = Mvcc::open_checkpointed(engine.clone()).unwrap();
    target.apply(1, &commit_of("z", "old", 0)).unwrap();
    target.import(&mut std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(target.checkpointed(), 2);
    drop(target);

    let reopened = Mvcc::open_checkpointed(Arc::new(engine.crash(&mut StdRng::seed_from_u64(1)))).unwrap();
    assert_eq!(reopened.applied(), 2);
    assert_eq!(reopened.snapshot(2).unwrap().get(b"z").unwrap(), None);
    assert_eq!(
        reopened.snapshot(2).unwrap().get(b"b").unwrap(),
        Some(b"2".to_vec())
    );
}

#[test]
fn applies_write_data_only_and_checkpoints_carry_the_metadata() {
    let engine = Arc::new(MemoryEngine::new());
    let store = Mvcc::open_checkpointed(engine.clone()).unwrap();
    store.apply_entry(1, Entry::Empty, &[("last", b"1")]).unwrap();
    assert_eq!(store.meta("last").unwrap().as_deref(), Some(&b"1"[..]));
    // Neither the metadata nor the applied version is written per entry.
    assert_eq!(engine.get(&keys::meta_key("last")).unwrap(), None);
    assert_ne!(engine.get(keys::APPLIED).unwrap(), Some(keys::encode_u64(1)));
    store.sync().unwrap();
    store.apply_entry(2, Entry::Empty, &[("last", b"2")]).unwrap();
    assert_eq!(
        store.header().unwrap().meta,
        vec![("last".to_owned(), b"2".to_vec())]
    );
    drop(store);

    // Reopened at the checkpoint: version 1 with its metadata.
    let reopened = Mvcc::open_checkpointed(engine).unwrap();
    assert_eq!(reopened.applied(), 1);
    assert_eq!(reopened.meta("last").unwrap().as_deref(), Some(&b"1"[..]));
}

fn commit_of(key: &str, value: &str, read_version: Version) -> Commit {
    Commit {
        read_version,
        isolation: Isolation::Serializable,
        writes: vec![(key.as_bytes().to_vec(), Some(value.as_bytes().to_vec()))],
        read_keys: vec![],
        read_ranges: vec![],
    }
}
