//! Node metrics and their Prometheus text rendering.
//!
//! Commit outcomes and latency are measured by [`MeteredCommitter`], a thin
//! wrapper around whichever committer the node uses; Raft state comes from
//! openraft's metrics at render time. Nothing here is on a per-row path: one
//! clock read and a few atomic adds per commit.
//!
//! A test build running a fault-injection switch (see
//! `quorumdb_storage::fault`) adds `quorumdb_fault_injection{switch="..."} 1`
//! per active switch; a normal node never renders that metric.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

use quorumdb_raft::node::RaftNode;
use quorumdb_storage::{Commit, Committer, Error, Result, Version};

/// Upper bounds (seconds) of the commit latency histogram buckets.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
pub struct Metrics {
    commits: AtomicU64,
    conflicts: AtomicU64,
    unknown: AtomicU64,
    canceled: AtomicU64,
    failed: AtomicU64,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_micros: AtomicU64,
    /// Open SQL connections (maintained by the SQL endpoint).
    pub connections: AtomicI64,
}

impl Metrics {
    fn observe(&self, seconds: f64) {
        for (bound, bucket) in BUCKETS.iter().zip(&self.latency_buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// Renders every metric in the Prometheus text format.
    pub fn render(&self, node: &RaftNode) -> String {
        let m = node.raft().metrics().borrow().clone();
        let applied = m.last_applied.map(|l| l.index).unwrap_or(0);
        let committed = node.committed_index();
        let stats = node.log_stats();
        let is_leader = m.current_leader == Some(node.id());
        let mut out = String::new();
        let mut gauge = |name: &str, help: &str, value: f64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        };
        gauge("quorumdb_node_id", "This node's id.", node.id() as f64);
        gauge("quorumdb_raft_term", "Current Raft term.", m.current_term as f64);
        gauge(
            "quorumdb_raft_leader_id",
            "The leader this node knows of (0: none).",
            m.current_leader.unwrap_or(0) as f64,
        );
        gauge(
            "quorumdb_raft_is_leader",
            "1 if this node leads.",
            f64::from(u8::from(is_leader)),
        );
        gauge(
            "quorumdb_raft_last_log_index",
            "Last index in the local log.",
            m.last_log_index.unwrap_or(0) as f64,
        );
        gauge(
            "quorumdb_raft_commit_index",
            "Highest index known committed.",
            committed as f64,
        );
        gauge(
            "quorumdb_raft_applied_index",
            "Highest index applied to the state machine.",
            applied as f64,
        );
        gauge(
            "quorumdb_raft_apply_lag",
            "Committed but not yet applied entries.",
            committed.saturating_sub(applied) as f64,
        );
        gauge(
            "quorumdb_raft_snapshot_index",
            "Index of the latest snapshot (0: none).",
            m.snapshot.map(|l| l.index).unwrap_or(0) as f64,
        );
        gauge(
            "quorumdb_raft_purged_index",
            "Highest purged log index (0: none).",
            m.purged.map(|l| l.index).unwrap_or(0) as f64,
        );
        gauge(
            "quorumdb_raft_voters",
            "Voters in the current membership.",
            m.membership_config.membership().voter_ids().count() as f64,
        );
        gauge(
            "quorumdb_raft_log_entries",
            "Entries in the local log.",
            m.last_log_index
                .unwrap_or(0)
                .saturating_sub(m.purged.map(|l| l.index).unwrap_or(0)) as f64,
        );
        gauge(
            "quorumdb_mvcc_checkpoint_index",
            "The state machine's last checkpoint: after a crash it restarts there and applies the later entries again.",
            node.mvcc().checkpointed() as f64,
        );
        gauge(
            "quorumdb_mvcc_gc_horizon",
            "Versions below this are garbage-collected.",
            node.mvcc().horizon() as f64,
        );
        gauge(
            "quorumdb_sql_connections",
            "Open SQL connections.",
            self.connections.load(Ordering::Relaxed) as f64,
        );
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        counter(
            "quorumdb_raft_log_syncs_total",
            "fdatasync calls of the Raft log (group commits).",
            stats.syncs,
        );
        counter(
            "quorumdb_raft_log_entries_written_total",
            "Entries written to the Raft log.",
            stats.entries,
        );
        let (lease_reads, quorum_reads) = node.read_index_counts();
        counter(
            "quorumdb_read_index_lease_total",
            "Read indexes this node served as leader from its leader lease (no network round).",
            lease_reads,
        );
        counter(
            "quorumdb_read_index_quorum_total",
            "Read indexes this node served as leader after a heartbeat round to a quorum.",
            quorum_reads,
        );
        self.render_commits(&mut out);
        let active = quorumdb_storage::fault::active();
        if !active.is_empty() {
            let name = "quorumdb_fault_injection";
            let _ = writeln!(
                out,
                "# HELP {name} Test-only fault switch deliberately breaking this node (1: on).\n# TYPE {name} gauge"
            );
            for switch in active {
                let _ = writeln!(out, "{name}{{switch=\"{switch}\"}} 1");
            }
        }
        out
    }

    /// The commit outcome counters and the latency histogram.
    fn render_commits(&self, out: &mut String) {
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        counter(
            "quorumdb_commits_total",
            "Transactions committed through this node.",
            self.commits.load(Ordering::Relaxed),
        );
        counter(
            "quorumdb_commit_conflicts_total",
            "Commits aborted by validation (40001).",
            self.conflicts.load(Ordering::Relaxed),
        );
        counter(
            "quorumdb_commit_unknown_total",
            "Commits whose outcome is unknown (40003).",
            self.unknown.load(Ordering::Relaxed),
        );
        counter(
            "quorumdb_commit_canceled_total",
            "Commits cancelled by their client before they were proposed (57014): nothing was committed.",
            self.canceled.load(Ordering::Relaxed),
        );
        counter(
            "quorumdb_commit_failed_total",
            "Commits refused before proposing (no quorum, shutting down, ...).",
            self.failed.load(Ordering::Relaxed),
        );
        let name = "quorumdb_commit_latency_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Commit latency seen by this gateway.\n# TYPE {name} histogram"
        );
        for (bound, bucket) in BUCKETS.iter().zip(&self.latency_buckets) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.latency_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// Counts commit outcomes and times commits on the way through.
pub struct MeteredCommitter {
    inner: Arc<dyn Committer>,
    metrics: Arc<Metrics>,
}

impl MeteredCommitter {
    pub fn new(inner: Arc<dyn Committer>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }
}

impl Committer for MeteredCommitter {
    fn read_version(&self) -> Result<Version> {
        self.inner.read_version()
    }

    fn provisional_version(&self) -> Option<Version> {
        self.inner.provisional_version()
    }

    fn commit(&self, commit: Commit) -> Result<Version> {
        let started = Instant::now();
        let result = self.inner.commit(commit);
        let counter = match &result {
            Ok(_) => {
                self.metrics.observe(started.elapsed().as_secs_f64());
                &self.metrics.commits
            }
            Err(Error::Conflict { .. } | Error::SnapshotTooOld { .. }) => &self.metrics.conflicts,
            Err(Error::OutcomeUnknown(_)) => &self.metrics.unknown,
            Err(Error::Canceled) => &self.metrics.canceled,
            Err(_) => &self.metrics.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Answers each commit with the next of its scripted results.
    struct Scripted(Mutex<Vec<Result<Version>>>);

    impl Committer for Scripted {
        fn read_version(&self) -> Result<Version> {
            Ok(1)
        }

        fn provisional_version(&self) -> Option<Version> {
            None
        }

        fn commit(&self, _commit: Commit) -> Result<Version> {
            self.0.lock().unwrap().remove(0)
        }
    }

    fn value(text: &str, name: &str) -> String {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"));
        line[name.len() + 1..].to_string()
    }

    #[test]
    fn each_commit_outcome_has_its_own_counter() {
        let outcomes = vec![
            Ok(2),
            Ok(3),
            Err(Error::Conflict {
                key: b"k".to_vec(),
                kind: quorumdb_storage::mvcc::ConflictKind::WriteWrite,
            }),
            Err(Error::OutcomeUnknown("leader changed".into())),
            Err(Error::Canceled),
            Err(Error::Canceled),
            Err(Error::Canceled),
            Err(Error::Unavailable("no quorum".into())),
        ];
        let n = outcomes.len();
        let metrics = Arc::new(Metrics::default());
        let committer = MeteredCommitter::new(Arc::new(Scripted(Mutex::new(outcomes))), metrics.clone());
        for _ in 0..n {
            let _ = committer.commit(Commit {
                read_version: 1,
                isolation: quorumdb_storage::mvcc::Isolation::Serializable,
                writes: vec![(b"k".to_vec(), Some(b"v".to_vec()))],
                read_keys: vec![],
                read_ranges: vec![],
            });
        }
        let mut text = String::new();
        metrics.render_commits(&mut text);
        for (name, expected) in [
            ("quorumdb_commits_total", "2"),
            ("quorumdb_commit_conflicts_total", "1"),
            ("quorumdb_commit_unknown_total", "1"),
            ("quorumdb_commit_canceled_total", "3"),
            ("quorumdb_commit_failed_total", "1"),
            ("quorumdb_commit_latency_seconds_count", "2"),
            ("quorumdb_commit_latency_seconds_bucket{le=\"+Inf\"}", "2"),
        ] {
            assert_eq!(value(&text, name), expected, "{name}");
        }
    }
}
