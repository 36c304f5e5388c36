//! Shared helpers for QuorumDB benchmarks.
