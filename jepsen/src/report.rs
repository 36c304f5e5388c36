//! Reports of a run: the plain-text summary (`results.txt`) and a
//! hand-written SVG of throughput and latency over time with the fault
//! windows shaded (`latency.svg`).
//!
//! The picture has two panels sharing the time axis (seconds since the run
//! started): completions per second by outcome (ok, fail, info), and every
//! completed operation's latency as a point (log scale, coloured by
//! outcome). Grey bands are the nemesis' faulty windows, labelled with the
//! fault; overlapping windows shade darker where they overlap and get their
//! labels on alternating rows. A fault-injection run says so in the title
//! and in the first lines of the text summary, with the checkers that
//! caught it.

use std::fmt::Write as _;

use crate::history::{History, OpType};
use crate::runner::RunResult;

/// The human-readable summary of a run.
pub fn text(r: &RunResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} x {} on {} nodes, seed {}, {:.0} s: {}",
        r.workload,
        r.nemesis,
        r.nodes,
        r.seed,
        r.time_limit_s,
        if r.passed { "PASS" } else { "FAIL" }
    );
    if let Some(f) = &r.fault_injection {
        let _ = writeln!(
            out,
            "FAULT INJECTION: every node ran the test-only switch {f} (broken on purpose); \
             the checkers must call this run invalid"
        );
        if r.caught_by.is_empty() {
            let _ = writeln!(out, "NOT CAUGHT: no checker found an anomaly");
        } else {
            let _ = writeln!(out, "caught by: {}", r.caught_by.join("; "));
        }
    }
    let _ = writeln!(
        out,
        "ops: {} invoked, {} ok, {} fail, {} info",
        r.ops.invoked, r.ops.ok, r.ops.fail, r.ops.info
    );
    let _ = writeln!(
        out,
        "proxy connections: {} attributed to a node, {} from elsewhere",
        r.proxy_connections.0, r.proxy_connections.1
    );
    let _ = writeln!(out, "fault windows:");
    for w in &r.windows {
        let _ = writeln!(
            out,
            "  {:7.2}s - {:7.2}s {}: {}",
            w.start, w.end, w.fault, w.detail
        );
    }
    for e in &r.errors {
        let _ = writeln!(out, "harness error: {e}");
    }
    for c in &r.results {
        let _ = write!(out, "checker {}: {}", c.checker, c.verdict.explain());
    }
    out
}

const W: f64 = 1000.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP1: f64 = 30.0;
const H1: f64 = 170.0;
const TOP2: f64 = 240.0;
const H2: f64 = 220.0;
const HEIGHT: f64 = 500.0;

fn colour(t: OpType) -> &'static str {
    match t {
        OpType::Ok => "#2a9d3a",
        OpType::Fail => "#d62728",
        OpType::Info => "#ff9f1c",
        OpType::Invoke => "#888888",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The throughput/latency picture.
pub fn svg(r: &RunResult, h: &History) -> String {
    // (completion time s, latency ms, type)
    let mut points: Vec<(f64, f64, OpType)> = Vec::new();
    for pair in h.pairs() {
        let Some(c) = pair.completion else { continue };
        let (Some(t0), Some(t1)) = (h.op(pair.invoke).time, h.op(c).time) else {
            continue;
        };
        points.push((
            t1 as f64 / 1e9,
            (t1.saturating_sub(t0)) as f64 / 1e6,
            h.op(c).op_type,
        ));
    }
    let t_max = points
        .iter()
        .map(|p| p.0)
        .fold(r.time_limit_s.max(1.0), f64::max)
        .ceil();
    let x = |t: f64| LEFT + (t / t_max) * (W - LEFT - RIGHT);
    let secs = t_max as usize + 1;
    let mut buckets = vec![[0usize; 3]; secs];
    for p in &points {
        let i = (p.0 as usize).min(secs - 1);
        let k = match p.2 {
            OpType::Ok => 0,
            OpType::Fail => 1,
            _ => 2,
        };
        buckets[i][k] += 1;
    }
    let peak = buckets
        .iter()
        .flat_map(|b| b.iter().copied())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let lat_min = 0.1f64;
    let lat_max = points.iter().map(|p| p.1).fold(10.0f64, f64::max);
    let (l0, l1) = (lat_min.log10(), lat_max.log10().ceil());
    let y2 = |ms: f64| TOP2 + H2 - ((ms.max(lat_min).log10() - l0) / (l1 - l0)) * H2;
    let y1 = |n: f64| TOP1 + H1 - (n / peak) * H1;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{HEIGHT}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{HEIGHT}" fill="white"/>"#);
    let fault = r
        .fault_injection
        .as_ref()
        .map(|f| format!(" — FAULT INJECTION {f}"))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="16" font-size="13">{} x {} — {} nodes, seed {} — {}{}</text>"#,
        esc(&r.workload),
        esc(&r.nemesis),
        r.nodes,
        r.seed,
        if r.valid { "valid" } else { "NOT valid" },
        esc(&fault)
    );
    for (i, w) in r.windows.iter().enumerate() {
        let (a, b) = (x(w.start), x(w.end));
        // Overlapping windows get their labels on separate rows.
        let row = r.windows[..i].iter().filter(|o| o.end > w.start).count() % 2;
        for (top, hh) in [(TOP1, H1), (TOP2, H2)] {
            let _ = writeln!(
                s,
                r##"<rect x="{a:.1}" y="{top}" width="{:.1}" height="{hh}" fill="#999" fill-opacity="0.25"/>"##,
                (b - a).max(1.0)
            );
        }
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{}" fill="#555" font-size="9">{}</text>"##,
            a + 2.0,
            TOP2 - 4.0 - 9.0 * row as f64,
            esc(&w.fault)
        );
    }
    // Axes and grid.
    for (top, hh) in [(TOP1, H1), (TOP2, H2)] {
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT}" y="{top}" width="{}" height="{hh}" fill="none" stroke="#333"/>"##,
            W - LEFT - RIGHT
        );
    }
    let step = if t_max > 120.0 {
        30
    } else if t_max > 40.0 {
        10
    } else {
        5
    };
    let mut t = 0;
    while t as f64 <= t_max {
        let xx = x(t as f64);
        let _ = writeln!(
            s,
            r##"<text x="{xx:.1}" y="{}" text-anchor="middle">{t}s</text>"##,
            TOP2 + H2 + 14.0
        );
        let _ = writeln!(
            s,
            r##"<line x1="{xx:.1}" y1="{TOP1}" x2="{xx:.1}" y2="{}" stroke="#ddd"/>"##,
            TOP2 + H2
        );
        t += step;
    }
    let _ = writeln!(
        s,
        r##"<text x="4" y="{}" >{peak:.0}/s</text><text x="4" y="{}">0</text>"##,
        TOP1 + 10.0,
        TOP1 + H1
    );
    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="{}">throughput (completions per second)</text>"##,
        TOP1 - 3.0
    );
    let mut e = l0.floor() as i32;
    while f64::from(e) <= l1 {
        let ms = 10f64.powi(e);
        let yy = y2(ms);
        let _ = writeln!(
            s,
            r##"<text x="4" y="{:.1}">{}</text><line x1="{LEFT}" y1="{yy:.1}" x2="{}" y2="{yy:.1}" stroke="#eee"/>"##,
            yy + 4.0,
            if ms < 1.0 {
                format!("{ms}ms")
            } else {
                format!("{ms:.0}ms")
            },
            W - RIGHT
        );
        e += 1;
    }
    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="{}">latency per operation (log scale)</text>"##,
        TOP1 + H1 + 13.0
    );
    // Throughput lines.
    for (k, t) in [(0, OpType::Ok), (1, OpType::Fail), (2, OpType::Info)] {
        let pts: Vec<String> = buckets
            .iter()
            .enumerate()
            .map(|(i, b)| format!("{:.1},{:.1}", x(i as f64 + 0.5), y1(b[k] as f64)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="1.5"/>"#,
            pts.join(" "),
            colour(t)
        );
    }
    // Latency points (at most ~20k, thinned evenly).
    let every = (points.len() / 20_000).max(1);
    for p in points.iter().step_by(every) {
        let _ = writeln!(
            s,
            r#"<circle cx="{:.1}" cy="{:.1}" r="1.3" fill="{}" fill-opacity="0.6"/>"#,
            x(p.0),
            y2(p.1),
            colour(p.2)
        );
    }
    // Legend.
    for (i, (t, name)) in [(OpType::Ok, "ok"), (OpType::Fail, "fail"), (OpType::Info, "info")]
        .into_iter()
        .enumerate()
    {
        let lx = W - RIGHT - 200.0 + i as f64 * 60.0;
        let _ = writeln!(
            s,
            r#"<rect x="{lx}" y="6" width="10" height="10" fill="{}"/><text x="{}" y="15">{name}</text>"#,
            colour(t),
            lx + 14.0
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{}" y="6" width="10" height="10" fill="#999" fill-opacity="0.4"/><text x="{}" y="15">fault</text>"##,
        W - RIGHT - 20.0 - 10.0,
        W - RIGHT - 16.0
    );
    s.push_str("</svg>\n");
    s
}
