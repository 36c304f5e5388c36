//! Test-only fault switches: ways to break QuorumDB on purpose, so that the
//! chaos suite (`jepsen/`) can prove it notices.
//!
//! A switch exists only in a binary built with the cargo feature
//! `fault-injection` (off by default; no normal workspace member enables
//! it), and is then turned on at run time by the environment variable
//! [`ENV_VAR`] (`QUORUMDB_FAULT_INJECTION=skip-validation`, a comma list
//! for several). Both are needed:
//!
//! - without the feature, [`enabled`] is a `const fn` that returns `false`,
//!   so every hook (`if fault::enabled(..) { .. }`) compiles to nothing, and
//!   [`activate`] refuses any switch: `quorumdb start` with the variable set
//!   exits with a one-line error instead of silently running a normal node;
//! - with the feature but without the variable, a node is a normal node.
//!
//! The switches ([`Switch`]):
//!
//! - `skip-validation`: commits are never checked for write-write or
//!   read-write conflicts at apply (`mvcc`), so conflicting transactions
//!   both commit: lost updates, write skew.
//! - `stale-reads`: a transaction reads at the node's local applied version
//!   instead of the linearizable read index (`quorumdb-raft`'s committer),
//!   so a node cut off from the leader serves old data.
//! - `ack-before-sync`: the Raft log acknowledges appends at once and only
//!   "reaches the disk" once a second; whatever was written after the last
//!   such point is thrown away when the log is opened again, as a lost disk
//!   cache would be at power failure (`quorumdb-raft`'s `log::fault`).
//!
//! Invariants: the set of active switches is fixed before the node starts
//! ([`activate`] is called once, by `quorumdb start`) and never changes
//! afterwards; every hook is a one-line call into this module (or the raft
//! log's), so the normal code paths stay readable and the hooks are easy
//! to find (`grep fault::`).
//!
//! Deliberately not here: anything a normal build could switch on (no
//! config file key, no flag, no SQL), and faults the harness can inject from
//! outside (kills, pauses, partitions: those are the nemesis' job).

use std::fmt;

/// The environment variable that turns switches on.
pub const ENV_VAR: &str = "QUORUMDB_FAULT_INJECTION";

/// Whether this build has the `fault-injection` feature.
pub const COMPILED_IN: bool = cfg!(feature = "fault-injection");

/// One way to break the system on purpose. See the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Switch {
    SkipValidation,
    StaleReads,
    AckBeforeSync,
}

impl Switch {
    /// Every switch, in a fixed order.
    pub const ALL: [Switch; 3] = [Switch::SkipValidation, Switch::StaleReads, Switch::AckBeforeSync];

    /// The name used in [`ENV_VAR`], logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Switch::SkipValidation => "skip-validation",
            Switch::StaleReads => "stale-reads",
            Switch::AckBeforeSync => "ack-before-sync",
        }
    }

    /// What the switch breaks, in words (for the start-up error log).
    pub fn effect(self) -> &'static str {
        match self {
            Switch::SkipValidation => "conflicting transactions both commit (no conflict checks at apply)",
            Switch::StaleReads => {
                "transactions read the local applied version, not the linearizable read index"
            }
            Switch::AckBeforeSync => {
                "the Raft log acknowledges appends before they are durable; a crash loses up to a second of them"
            }
        }
    }

    pub fn parse(name: &str) -> Option<Switch> {
        Switch::ALL.into_iter().find(|s| s.name() == name)
    }

    #[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
    fn bit(self) -> u8 {
        match self {
            Switch::SkipValidation => 1,
            Switch::StaleReads => 2,
            Switch::AckBeforeSync => 4,
        }
    }
}

impl fmt::Display for Switch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(feature = "fault-injection")]
static ACTIVE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Whether `switch` is on. Always `false` (and `const`) without the feature.
#[cfg(feature = "fault-injection")]
#[inline]
pub fn enabled(switch: Switch) -> bool {
    ACTIVE.load(std::sync::atomic::Ordering::Relaxed) & switch.bit() != 0
}

/// Whether `switch` is on. Always `false` (and `const`) without the feature.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub const fn enabled(_switch: Switch) -> bool {
    false
}

/// The switches that are on (empty without the feature).
pub fn active() -> Vec<Switch> {
    Switch::ALL.into_iter().filter(|&s| enabled(s)).collect()
}

/// Parses a comma-separated list of switch names (blank: none).
pub fn parse_list(spec: &str) -> Result<Vec<Switch>, String> {
    let mut out = Vec::new();
    for name in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some(s) = Switch::parse(name) else {
            let known: Vec<&str> = Switch::ALL.iter().map(|s| s.name()).collect();
            return Err(format!(
                "{ENV_VAR}: unknown fault-injection switch {name:?} (known: {})",
                known.join(", ")
            ));
        };
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

/// Turns on the switches named in `spec` (a comma list; blank: none) and
/// returns them. Call once, before the node starts. Without the feature any
/// switch is refused with a one-line error.
pub fn activate(spec: &str) -> Result<Vec<Switch>, String> {
    let switches = parse_list(spec)?;
    if switches.is_empty() {
        return Ok(switches);
    }
    #[cfg(feature = "fault-injection")]
    {
        let bits = switches.iter().fold(0u8, |b, s| b | s.bit());
        ACTIVE.store(bits, std::sync::atomic::Ordering::Relaxed);
        Ok(switches)
    }
    #[cfg(not(feature = "fault-injection"))]
    Err(format!(
        "{ENV_VAR} is set ({spec:?}) but this quorumdb binary was built without the \
         fault-injection feature; unset it (fault switches exist only in test builds)"
    ))
}

/// Reads [`ENV_VAR`] and [`activate`]s what it names (unset: nothing).
pub fn activate_from_env() -> Result<Vec<Switch>, String> {
    match std::env::var(ENV_VAR) {
        Ok(spec) => activate(&spec),
        Err(std::env::VarError::NotPresent) => Ok(Vec::new()),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("{ENV_VAR} is not valid UTF-8")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_lists_parse() {
        for s in Switch::ALL {
            assert_eq!(Switch::parse(s.name()), Some(s));
        }
        assert_eq!(
            parse_list(" stale-reads, skip-validation,stale-reads "),
            Ok(vec![Switch::StaleReads, Switch::SkipValidation])
        );
        assert_eq!(parse_list(""), Ok(vec![]));
        let err = parse_list("skip-validaton").unwrap_err();
        assert!(err.contains("unknown fault-injection switch") && err.contains("skip-validation"));
    }

    #[test]
    fn a_blank_spec_turns_nothing_on() {
        assert_eq!(activate("  "), Ok(vec![]));
    }

    #[cfg(not(feature = "fault-injection"))]
    #[test]
    fn without_the_feature_every_switch_is_refused_and_off() {
        let err = activate("skip-validation").unwrap_err();
        assert!(err.contains("built without the fault-injection feature"), "{err}");
        assert!(Switch::ALL.iter().all(|&s| !enabled(s)));
        assert!(active().is_empty());
    }
}
