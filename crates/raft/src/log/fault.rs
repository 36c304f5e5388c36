//! The `ack-before-sync` fault switch of the Raft log (test builds only; see
//! `quorumdb_storage::fault` for how switches are built and turned on).
//!
//! What it simulates: a disk whose volatile write cache acknowledges writes
//! at once and reaches stable storage only about once a second, losing
//! everything since the last flush at power failure. Killing a process
//! (`kill -9`) loses nothing of what it wrote to the OS page cache, so merely
//! skipping `fdatasync` would be invisible to the chaos suite. Instead, with
//! the switch on:
//!
//! - [`acknowledge_early`]: [`Log::append_async`] reports an append durable
//!   as soon as it is written, without waiting for the group sync;
//! - a helper thread records, once a second, the log's last index as the
//!   *synced mark* (metadata key [`MARK`], itself written durably): "the
//!   disk" holds the log up to the mark;
//! - [`after_open`]: opening the log throws away every entry above the mark,
//!   as the lost cache would have, and logs it at ERROR level;
//! - [`on_truncate`] lowers the mark when entries below it are truncated,
//!   so rewritten entries are not taken for synced ones.
//!
//! Together with a nemesis that kills every node at once this loses
//! acknowledged, committed writes, which the chaos suite's `set` checker
//! must report as lost.
//!
//! Invariant: without the cargo feature `fault-injection` every function here
//! is an inline no-op, and with the feature but without the switch too.
//!
//! Deliberately not simulated: torn or reordered sector writes (the torn-tail
//! recovery has its own tests), and the loss of anything else on the disk
//! (the vote and the state machine stay as they were).

use super::error::LogError;
use super::store::{Done, Log};

/// Metadata key of the synced mark (decimal index, or empty: nothing yet).
pub const MARK: &str = "fault/ack-before-sync/synced";

#[cfg(feature = "fault-injection")]
fn on() -> bool {
    quorumdb_storage::fault::enabled(quorumdb_storage::fault::Switch::AckBeforeSync)
}

/// Called by `append_async` after the write: with the switch on, runs
/// `done(Ok)` now and returns `None`; otherwise hands `done` back.
#[inline(always)]
pub(super) fn acknowledge_early(done: Done) -> Option<Done> {
    #[cfg(feature = "fault-injection")]
    if on() {
        done(Ok(()));
        return None;
    }
    Some(done)
}

/// Called at the end of [`Log::open`]: with the switch on, drops the entries
/// above the synced mark and starts the thread that advances it.
#[inline(always)]
pub(super) fn after_open(log: &Log) -> Result<(), LogError> {
    #[cfg(feature = "fault-injection")]
    if on() {
        return imp::after_open(log);
    }
    let _ = log;
    Ok(())
}

/// Called by `truncate_from(index)` before it truncates: with the switch on,
/// lowers the synced mark below `index`.
#[inline(always)]
pub(super) fn on_truncate(log: &Log, index: u64) -> Result<(), LogError> {
    #[cfg(feature = "fault-injection")]
    if on() {
        return imp::on_truncate(log, index);
    }
    let _ = (log, index);
    Ok(())
}

#[cfg(feature = "fault-injection")]
mod imp {
    use std::time::Duration;

    use super::{Log, LogError, MARK};

    /// How often the simulated disk cache reaches stable storage.
    const FLUSH_EVERY: Duration = Duration::from_secs(1);

    /// The synced mark: `None` if never recorded (a log written without
    /// the switch: nothing to drop), `Some(None)` if the log was empty.
    fn read_mark(log: &Log) -> Result<Option<Option<u64>>, LogError> {
        let Some(raw) = log.read_meta(MARK)? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&raw);
        if text.is_empty() {
            return Ok(Some(None));
        }
        text.parse::<u64>()
            .map(|i| Some(Some(i)))
            .map_err(|_| LogError::InvalidArgument(format!("unreadable {MARK} value {text:?}")))
    }

    fn mark_value(last: Option<u64>) -> Vec<u8> {
        last.map(|i| i.to_string()).unwrap_or_default().into_bytes()
    }

    pub(super) fn after_open(log: &Log) -> Result<(), LogError> {
        if let (Some(mark), Some(last)) = (read_mark(log)?, log.last_index()) {
            let from = mark.map_or(0, |m| m + 1).max(log.first_index().unwrap_or(0));
            if from <= last {
                tracing::error!(
                    dir = %log.dir().display(),
                    lost_from = from,
                    lost_through = last,
                    "FAULT INJECTION ack-before-sync: dropping log entries that were acknowledged \
                     but never reached the simulated disk"
                );
                log.truncate_from(from)?;
            }
        }
        log.save_meta(MARK, &mark_value(log.last_index()))?;
        let watch = log.watch();
        std::thread::Builder::new()
            .name("raft-log-fault-mark".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(FLUSH_EVERY);
                    // None: the log is closed.
                    let Some(result) = watch.save_meta_at_last_index(MARK, mark_value) else {
                        return;
                    };
                    if let Err(e) = result {
                        tracing::error!("fault injection: cannot save the synced mark: {e}");
                        return;
                    }
                }
            })
            .map_err(|e| LogError::io("spawn fault-mark thread for", log.dir(), e))?;
        Ok(())
    }

    pub(super) fn on_truncate(log: &Log, index: u64) -> Result<(), LogError> {
        if let Some(Some(mark)) = read_mark(log)?
            && mark >= index
        {
            log.save_meta(MARK, &mark_value(index.checked_sub(1)))?;
        }
        Ok(())
    }
}
