//! Waiting until the local state machine has applied a version.
//!
//! A gateway answers a commit (within a bound), and starts a read, only
//! once its own store has applied the version in question (see [`crate::committer`]). On a
//! follower that means waiting for the entry to arrive and be applied.
//! openraft's `Raft::wait` would do, but it wakes every waiter on every
//! change of the Raft metrics (several per log entry, whether or not
//! anything was applied) and clones the metrics each time; with a
//! connection's thread blocked per waiter, those wake-ups were a visible
//! share of a follower's CPU. Here a waiter sleeps until the state machine reports a
//! version at or above the one it waits for, and is woken exactly once.
//!
//! Invariant (no lost wake-up): the state machine publishes a new applied
//! version in the store *before* calling [`AppliedWaiters::applied`], and a
//! waiter checks the store's applied version under the same lock it
//! registers under; so either the waiter sees the new version, or the
//! notification sees the waiter.
//!
//! Not here: timeouts (the caller bounds the wait) and the version itself
//! (the store's [`Mvcc::applied`] is the one source of truth).

use std::collections::BTreeMap;
use std::sync::Mutex;

use quorumdb_storage::{Mvcc, Version};
use tokio::sync::oneshot;

#[derive(Default)]
pub struct AppliedWaiters {
    waiting: Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
    /// By the version each waits for.
    by_version: BTreeMap<Version, Vec<oneshot::Sender<()>>>,
    /// How many senders `by_version` holds.
    count: usize,
    /// Sweep out abandoned waiters (timed out, dropped) once `count`
    /// exceeds this; after a sweep it is twice the waiters left (at least
    /// [`SWEEP_ABOVE`]), so live waiters are not swept over and over.
    sweep_above: usize,
}

/// The first sweep threshold.
const SWEEP_ABOVE: usize = 1024;

impl AppliedWaiters {
    /// Wakes everyone waiting for `applied` or below. Call after the store
    /// has published `applied`.
    pub fn applied(&self, applied: Version) {
        let ready = {
            let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            if waiting
                .by_version
                .first_key_value()
                .is_none_or(|(v, _)| *v > applied)
            {
                return;
            }
            let later = match applied.checked_add(1) {
                Some(next) => waiting.by_version.split_off(&next),
                None => BTreeMap::new(),
            };
            let ready = std::mem::replace(&mut waiting.by_version, later);
            waiting.count -= ready.values().map(Vec::len).sum::<usize>();
            ready
        };
        for waiter in ready.into_values().flatten() {
            let _ = waiter.send(());
        }
    }

    /// Returns once `mvcc` has applied `version`.
    pub async fn wait(&self, mvcc: &Mvcc, version: Version) {
        let woken = {
            let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            if mvcc.applied() >= version {
                return;
            }
            if waiting.count > waiting.sweep_above.max(SWEEP_ABOVE) {
                waiting.by_version.retain(|_, senders| {
                    senders.retain(|s| !s.is_closed());
                    !senders.is_empty()
                });
                waiting.count = waiting.by_version.values().map(Vec::len).sum();
                // Mostly live waiters: sweeping again soon would be wasted.
                waiting.sweep_above = (2 * waiting.count).max(SWEEP_ABOVE);
            }
            let (wake, woken) = oneshot::channel();
            waiting.by_version.entry(version).or_default().push(wake);
            waiting.count += 1;
            woken
        };
        // The sender is only dropped unsent if this struct is.
        let _ = woken.await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use quorumdb_storage::{Commit, Entry, Isolation, MemoryEngine};

    use super::*;

    fn apply(mvcc: &Mvcc, waiters: &AppliedWaiters, version: Version) {
        let commit = Commit {
            read_version: mvcc.applied(),
            isolation: Isolation::Snapshot,
            writes: vec![(b"k".to_vec(), Some(version.to_be_bytes().to_vec()))],
            read_keys: vec![],
            read_ranges: vec![],
        };
        mvcc.apply_entry(version, Entry::Commits(&[commit]), &[]).unwrap();
        waiters.applied(version);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiter_wakes_once_its_version_is_applied_and_not_before() {
        let mvcc = Mvcc::open_checkpointed(Arc::new(MemoryEngine::new())).unwrap();
        let waiters = Arc::new(AppliedWaiters::default());
        apply(&mvcc, &waiters, 1);
        // Already applied: no wait.
        tokio::time::timeout(Duration::from_secs(5), waiters.wait(&mvcc, 1))
            .await
            .expect("version 1 is applied");
        let (m, w) = (mvcc.clone(), waiters.clone());
        let mut three = tokio::spawn(async move { w.wait(&m, 3).await });
        let (m, w) = (mvcc.clone(), waiters.clone());
        let mut five = tokio::spawn(async move { w.wait(&m, 5).await });
        apply(&mvcc, &waiters, 2);
        let early = tokio::time::timeout(Duration::from_millis(50), &mut three).await;
        assert!(early.is_err(), "woken at version 2 while waiting for 3");
        apply(&mvcc, &waiters, 4);
        tokio::time::timeout(Duration::from_secs(5), &mut three)
            .await
            .expect("woken by a version above the one it waits for")
            .unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(50), &mut five)
                .await
                .is_err()
        );
        apply(&mvcc, &waiters, 5);
        tokio::time::timeout(Duration::from_secs(5), five)
            .await
            .unwrap()
            .unwrap();
        let waiting = waiters.waiting.lock().unwrap();
        assert!(waiting.by_version.is_empty());
        assert_eq!(waiting.count, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn racing_applies_never_strand_a_waiter() {
        let mvcc = Mvcc::open_checkpointed(Arc::new(MemoryEngine::new())).unwrap();
        let waiters = Arc::new(AppliedWaiters::default());
        let (m, w) = (mvcc.clone(), waiters.clone());
        let applier = std::thread::spawn(move || {
            for v in 1..=2_000 {
                apply(&m, &w, v);
            }
        });
        for v in (1..=2_000).step_by(7) {
            tokio::time::timeout(Duration::from_secs(10), waiters.wait(&mvcc, v))
                .await
                .unwrap_or_else(|_| panic!("stranded waiting for {v}"));
            assert!(mvcc.applied() >= v);
        }
        applier.join().unwrap();
    }

    #[tokio::test]
    async fn abandoned_waiters_are_swept() {
        let mvcc = Mvcc::open_checkpointed(Arc::new(MemoryEngine::new())).unwrap();
        let waiters = AppliedWaiters::default();
        for _ in 0..3 * SWEEP_ABOVE {
            let gave_up = tokio::time::timeout(Duration::from_millis(0), waiters.wait(&mvcc, 10)).await;
            assert!(gave_up.is_err());
        }
        let waiting = waiters.waiting.lock().unwrap();
        let left: usize = waiting.by_version.values().map(Vec::len).sum();
        assert_eq!(left, waiting.count);
        assert!(left <= SWEEP_ABOVE + 1, "{left} abandoned waiters kept");
    }
}
