//! The verdict every checker returns, and the [`Checker`] trait.
//!
//! A [`Verdict`] is `valid` (no anomaly), `invalid` (at least one anomaly
//! that the workload's model forbids) or `unknown` (the checker could not
//! decide: a search budget ran out, or the history holds nothing to check).
//! Every entry in `anomalies` carries an explanation in words; an `unknown`
//! verdict carries at least one entry saying why it is unknown (as Elle does
//! with `cycle-search-timeout`).
//!
//! Invariant: `valid == Valid` iff `anomalies` is empty.
//!
//! Deliberately not here: rendering reports, or deciding which anomalies a
//! model forbids (each checker only reports what its model forbids).

use serde::{Deserialize, Serialize};

use crate::history::{History, HistoryError};

/// The three possible answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Validity {
    Valid,
    Invalid,
    Unknown,
}

/// One finding: its class (`G1c`, `lost`, `wrong-total`...) and what happened, in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anomaly {
    pub kind: String,
    pub explanation: String,
}

impl Anomaly {
    pub fn new(kind: impl Into<String>, explanation: impl Into<String>) -> Anomaly {
        Anomaly {
            kind: kind.into(),
            explanation: explanation.into(),
        }
    }
}

/// A checker's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub valid: Validity,
    pub anomalies: Vec<Anomaly>,
}

impl Verdict {
    /// No anomalies.
    pub fn valid() -> Verdict {
        Verdict {
            valid: Validity::Valid,
            anomalies: Vec::new(),
        }
    }

    /// Invalid if there are any anomalies, valid otherwise.
    pub fn from_anomalies(anomalies: Vec<Anomaly>) -> Verdict {
        let valid = if anomalies.is_empty() {
            Validity::Valid
        } else {
            Validity::Invalid
        };
        Verdict { valid, anomalies }
    }

    /// Could not decide; `kind` and `why` say why.
    pub fn unknown(kind: &str, why: impl Into<String>) -> Verdict {
        Verdict {
            valid: Validity::Unknown,
            anomalies: vec![Anomaly::new(kind, why)],
        }
    }

    /// Combines two verdicts on disjoint parts of a history: invalid beats
    /// unknown beats valid; anomalies are concatenated.
    pub fn merge(mut self, other: Verdict) -> Verdict {
        use Validity::*;
        self.valid = match (self.valid, other.valid) {
            (Invalid, _) | (_, Invalid) => Invalid,
            (Unknown, _) | (_, Unknown) => Unknown,
            (Valid, Valid) => Valid,
        };
        self.anomalies.extend(other.anomalies);
        self
    }

    /// The distinct anomaly kinds, in order of first appearance.
    pub fn kinds(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for a in &self.anomalies {
            if !out.contains(&a.kind.as_str()) {
                out.push(&a.kind);
            }
        }
        out
    }

    /// A human-readable report: the verdict, then every anomaly.
    pub fn explain(&self) -> String {
        let mut out = format!("{:?}\n", self.valid).to_lowercase();
        for a in &self.anomalies {
            out.push_str(&format!("{}:\n", a.kind));
            for line in a.explanation.lines() {
                out.push_str("  ");
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

/// A workload checker. `Err` means the history does not have the shape the
/// workload requires (wrong `f`, malformed value); it is never a verdict.
pub trait Checker {
    /// The workload name (`bank`, `set`, `register`, `list-append`).
    fn name(&self) -> &'static str;
    fn check(&self, history: &History) -> Result<Verdict, HistoryError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_and_serde() {
        let v = Verdict::valid().merge(Verdict::unknown("timeout", "budget spent"));
        assert_eq!(v.valid, Validity::Unknown);
        let v = v.merge(Verdict::from_anomalies(vec![Anomaly::new("G0", "a cycle")]));
        assert_eq!(v.valid, Validity::Invalid);
        assert_eq!(v.kinds(), ["timeout", "G0"]);
        let text = serde_json::to_string(&v).unwrap_or_default();
        assert!(
            text.starts_with(r#"{"valid":"invalid","anomalies":[{"kind":"timeout""#),
            "{text}"
        );
        let back: Verdict = serde_json::from_str(&text).expect("round trip");
        assert_eq!(back, v);
        assert!(v.explain().starts_with("invalid\ntimeout:\n  budget spent\n"));
        assert_eq!(Verdict::from_anomalies(vec![]), Verdict::valid());
    }
}
