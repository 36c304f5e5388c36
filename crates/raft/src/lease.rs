//! Leader leases: a linearizable read index without a quorum round.
//!
//! Confirming leadership the plain way (openraft's `ensure_linearizable`)
//! sends a heartbeat to every voter and waits for a quorum, for every read
//! round. A lease lets the leader skip that while recent heartbeats already
//! prove no one else can lead.
//!
//! **Why it is safe.** openraft 0.9 followers keep a lease of their own: a
//! follower that accepted an AppendEntries from the leader (a heartbeat
//! too) refuses to vote for anyone for `election_timeout_max` after
//! receiving it, and does not campaign itself before that window plus an
//! election timeout. The network layer records, per follower, when the last
//! AppendEntries it accepted was *sent* ([`LeaderLease::acked`]). If a quorum
//! of every voter configuration (the leader counts for itself) accepted one
//! sent after `now - duration`, with `duration` below `election_timeout_min`,
//! no other node can have been elected yet, so this node's commit index is a
//! valid read index: as long as it still holds the vote it held when the
//! index was read, and that index was committed in its own term (its blank
//! entry is committed, so every entry of earlier leaders is covered).
//! Clocks: only each machine's monotonic clock is used, and `duration` is
//! 3/4 of the follower's window, which leaves room for drift. Every node is
//! assumed to run with the same election timeouts (they are not
//! configurable per node from the command line).
//!
//! **The leader's own vote.** Unlike its followers, a leader does grant a
//! higher-term vote once it has led for longer than the window (openraft
//! does not refresh its own vote's timestamp). That is why the vote and the
//! commit index must be read together, *before* the lease is checked (see
//! `RaftCommitter::lease_read_index`): if the leader had voted for someone
//! else by then, the vote read is no longer its own; if not, any new quorum
//! needs one of the acknowledging followers, which would have answered our
//! AppendEntries with HigherVote.
//!
//! **Restarts.** openraft stamps the vote it loads at startup with the start
//! time, so a restarted follower already refuses votes for a window after it
//! starts. A node also waits `duration` after it starts before it answers any
//! vote request ([`LeaderLease::quiet_until`]), so this does not depend on
//! that detail of openraft.
//!
//! What it does not do: serve reads on followers (they still ask the leader
//! for its index, one gRPC per batch of reads), or survive a leader restart
//! (a restarted leader has no acks and falls back to a quorum round until
//! the next heartbeats come back).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::types::{NodeId, Vote};

pub struct LeaderLease {
    id: NodeId,
    duration: Duration,
    started: Instant,
    acks: Mutex<Acks>,
    /// Read indexes served from the lease.
    pub lease_reads: AtomicU64,
    /// Read indexes that needed a quorum round.
    pub quorum_reads: AtomicU64,
}

/// When each follower last accepted an AppendEntries of `vote`, by send time.
#[derive(Default)]
struct Acks {
    vote: Option<Vote>,
    sent: HashMap<NodeId, Instant>,
}

impl LeaderLease {
    /// A lease for node `id` that trusts an acknowledgement for `duration`
    /// after it was sent; `duration` must stay below the followers'
    /// `election_timeout_min` (see [`LeaderLease::duration_for`]).
    pub fn new(id: NodeId, duration: Duration) -> Self {
        Self {
            id,
            duration,
            started: Instant::now(),
            acks: Mutex::default(),
            lease_reads: AtomicU64::new(0),
            quorum_reads: AtomicU64::new(0),
        }
    }

    /// The lease duration for an election timeout range starting at
    /// `election_timeout_min`: three quarters of it.
    pub fn duration_for(election_timeout_min: Duration) -> Duration {
        election_timeout_min * 3 / 4
    }

    /// Records that `target` accepted an AppendEntries carrying `vote` that
    /// was sent at `sent`. Acks of a newer vote replace what was recorded;
    /// acks of an older one are ignored.
    pub fn acked(&self, target: NodeId, vote: &Vote, sent: Instant) {
        let mut acks = self.acks.lock().unwrap_or_else(|e| e.into_inner());
        match acks.vote.as_ref().and_then(|recorded| vote.partial_cmp(recorded)) {
            // A late answer to an older leadership: it must not wipe the
            // acknowledgements of the current one.
            Some(std::cmp::Ordering::Less) => return,
            Some(std::cmp::Ordering::Equal) => {}
            _ => {
                acks.vote = Some(*vote);
                acks.sent.clear();
            }
        }
        let at = acks.sent.entry(target).or_insert(sent);
        *at = (*at).max(sent);
    }

    /// True if, at `now`, this node holds a lease for `vote`: in every
    /// configuration of `voters` (one set, or two while membership is
    /// joint), a majority is this node or accepted an AppendEntries of
    /// `vote` sent less than the lease duration ago.
    pub fn holds(&self, vote: &Vote, voters: &[BTreeSet<NodeId>], now: Instant) -> bool {
        if voters.is_empty() {
            return false;
        }
        let acks = self.acks.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = |node: &NodeId| {
            *node == self.id
                || (acks.vote.as_ref() == Some(vote)
                    && acks
                        .sent
                        .get(node)
                        .is_some_and(|sent| now.saturating_duration_since(*sent) < self.duration))
        };
        voters
            .iter()
            .all(|config| 2 * config.iter().filter(|n| fresh(n)).count() > config.len())
    }

    /// Until when this node must not grant votes after starting (see the
    /// module docs).
    pub fn quiet_until(&self) -> Instant {
        self.started + self.duration
    }

    pub fn record(&self, from_lease: bool) {
        let counter = if from_lease {
            &self.lease_reads
        } else {
            &self.quorum_reads
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use openraft::Vote;

    use super::*;

    fn leader_vote(term: u64, node: NodeId) -> Vote<NodeId> {
        let mut v = Vote::new(term, node);
        v.commit();
        v
    }

    fn set(ids: &[NodeId]) -> BTreeSet<NodeId> {
        ids.iter().copied().collect()
    }

    #[test]
    fn a_quorum_of_fresh_acks_of_the_same_vote_holds_the_lease() {
        let lease = LeaderLease::new(1, Duration::from_millis(750));
        let vote = leader_vote(3, 1);
        let t0 = Instant::now();
        let voters = [set(&[1, 2, 3])];
        assert!(!lease.holds(&vote, &voters, t0), "no acks yet");
        lease.acked(2, &vote, t0);
        assert!(lease.holds(&vote, &voters, t0 + Duration::from_millis(700)));
        assert!(
            !lease.holds(&vote, &voters, t0 + Duration::from_millis(750)),
            "expired: the lease counts from when the request was sent"
        );
        // A newer vote (say, after a re-election) does not inherit the acks.
        assert!(!lease.holds(&leader_vote(4, 1), &voters, t0));
        // Five voters need two acks besides the leader.
        let five = [set(&[1, 2, 3, 4, 5])];
        assert!(!lease.holds(&vote, &five, t0));
        lease.acked(5, &vote, t0);
        assert!(lease.holds(&vote, &five, t0));
    }

    #[test]
    fn acks_of_a_newer_vote_replace_the_record_and_older_ones_are_ignored() {
        let lease = LeaderLease::new(1, Duration::from_millis(750));
        let (old, new) = (leader_vote(3, 1), leader_vote(4, 1));
        let t0 = Instant::now();
        lease.acked(2, &old, t0);
        lease.acked(3, &new, t0);
        let voters = [set(&[1, 2, 3])];
        assert!(lease.holds(&new, &voters, t0));
        assert!(!lease.holds(&old, &voters, t0));
        // A late answer to the old leadership changes nothing.
        lease.acked(2, &old, t0);
        assert!(lease.holds(&new, &voters, t0));
        assert!(!lease.holds(&old, &voters, t0));
        // An older send time never moves an ack back.
        lease.acked(3, &new, t0 - Duration::from_secs(5));
        assert!(lease.holds(&new, &voters, t0 + Duration::from_millis(10)));
    }

    #[test]
    fn a_joint_membership_needs_a_quorum_in_both_configurations() {
        let lease = LeaderLease::new(1, Duration::from_millis(750));
        let vote = leader_vote(2, 1);
        let t0 = Instant::now();
        lease.acked(2, &vote, t0);
        let joint = [set(&[1, 2, 3]), set(&[1, 4, 5])];
        assert!(!lease.holds(&vote, &joint, t0), "new config has no ack");
        lease.acked(4, &vote, t0);
        assert!(lease.holds(&vote, &joint, t0));
        assert!(!lease.holds(&vote, &[], t0), "no voters, no lease");
        // A leader that is not a voter of a configuration gets no free vote there.
        let without_leader = [set(&[2, 3, 5])];
        assert!(!lease.holds(&vote, &without_leader, t0), "one ack of three");
    }
}
