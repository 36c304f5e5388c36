//! Window functions: the bound form of `f(...) OVER (...)` calls and the
//! operator that evaluates them.
//!
//! The binder collects each distinct window call of a SELECT into a
//! [`WindowCall`] (like aggregates) and plans one [`crate::plan::Plan::Window`]
//! node above grouping/HAVING and below the final projection, DISTINCT,
//! ORDER BY and LIMIT. Its output is its input row followed by one column
//! per call.
//!
//! Invariants:
//! - [`WindowOp`] materialises its whole input (like Sort), sorts it once
//!   per distinct (PARTITION BY, ORDER BY) and emits rows in the order of
//!   the last call's window; a query wanting an order says ORDER BY.
//! - Frames are resolved per row into a half-open range of partition
//!   positions. Only forms whose bounds are row offsets or peer-group
//!   edges, peer-group counts or (RANGE) numeric distances from the
//!   current row's single ORDER BY key exist here ([`Frame`]); anything
//!   else is refused by the binder (0A000), never approximated.
//! - Every loop over rows checks the statement interrupt; nothing recurses
//!   per row.
//!
//! RANGE offsets are numbers over numeric keys and intervals over dates and
//! timestamps (a bound is the key plus or minus the offset, months on the
//! calendar).
//!
//! Deliberately not done: DISTINCT/ORDER BY inside a windowed aggregate,
//! FILTER on the other window functions, IGNORE NULLS, RANGE offsets over
//! other keys, EXCLUDE. Aggregates over a frame whose start moves
//! are recomputed per row (O(rows × frame)); frames anchored at the
//! partition start are accumulated incrementally.

use std::cmp::Ordering;

use crate::error::{Result, SqlError, codes};
use crate::exec::{Acc, ExecCtx, Op, Operator, cmp_sort_keys};
use crate::expr::Expr;
use crate::plan::{AggCall, AggFunc, SortKey};
use crate::types::{Row, Value};

/// A window function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WinFunc {
    RowNumber,
    Rank,
    DenseRank,
    PercentRank,
    CumeDist,
    Ntile,
    Lag,
    Lead,
    FirstValue,
    LastValue,
    NthValue,
    /// An ordinary aggregate computed over the frame.
    Agg(AggFunc),
}

impl WinFunc {
    /// The window-only function called `name`, with its allowed argument
    /// counts.
    pub fn by_name(name: &str) -> Option<(WinFunc, usize, usize)> {
        Some(match name {
            "row_number" => (WinFunc::RowNumber, 0, 0),
            "rank" => (WinFunc::Rank, 0, 0),
            "dense_rank" => (WinFunc::DenseRank, 0, 0),
            "percent_rank" => (WinFunc::PercentRank, 0, 0),
            "cume_dist" => (WinFunc::CumeDist, 0, 0),
            "ntile" => (WinFunc::Ntile, 1, 1),
            "lag" => (WinFunc::Lag, 1, 3),
            "lead" => (WinFunc::Lead, 1, 3),
            "first_value" => (WinFunc::FirstValue, 1, 1),
            "last_value" => (WinFunc::LastValue, 1, 1),
            "nth_value" => (WinFunc::NthValue, 2, 2),
            _ => return None,
        })
    }

    pub fn name(self) -> String {
        match self {
            WinFunc::Agg(a) => format!("{a:?}").to_lowercase(),
            f => {
                let s = format!("{f:?}");
                let mut out = String::new();
                for (i, c) in s.chars().enumerate() {
                    if c.is_uppercase() && i > 0 {
                        out.push('_');
                    }
                    out.extend(c.to_lowercase());
                }
                out
            }
        }
    }
}

/// One end of a frame. Offsets are non-negative constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameBound {
    UnboundedPreceding,
    Preceding(u64),
    CurrentRow,
    Following(u64),
    UnboundedFollowing,
}

/// How a frame's offsets count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameUnits {
    /// Offsets count rows; CURRENT ROW is the row itself.
    Rows,
    /// No offsets here; CURRENT ROW is the edge of the row's peer group.
    Range,
    /// Offsets count peer groups; CURRENT ROW is the edge of the row's
    /// peer group.
    Groups,
}

/// A frame clause. In RANGE mode an `n PRECEDING`/`n FOLLOWING` bound's
/// offset is a value (`start_value`/`end_value`: a number, or an interval
/// over a date or timestamp key; the bound's own count is then unused): the frame edge is where the single
/// ORDER BY key passes the current row's key minus/plus it.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub units: FrameUnits,
    pub start: FrameBound,
    pub end: FrameBound,
    pub start_value: Option<Value>,
    pub end_value: Option<Value>,
}

/// Where the current row sits in its partition: its position, the
/// partition's length, and its peer groups (half-open ranges of
/// positions) with the index of the row's own.
struct Place<'a> {
    i: usize,
    len: usize,
    groups: &'a [(usize, usize)],
    g: usize,
    /// The partition's values of the first ORDER BY key, and that key
    /// (for RANGE offsets; empty/None without ORDER BY).
    keys: &'a [Value],
    order: Option<&'a SortKey>,
    /// How many of `keys` are NULL.
    nulls: usize,
}

impl Frame {
    /// RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW.
    pub const DEFAULT: Frame = Frame {
        units: FrameUnits::Range,
        start: FrameBound::UnboundedPreceding,
        end: FrameBound::CurrentRow,
        start_value: None,
        end_value: None,
    };

    /// The frame of the row at `p`, as a half-open range of partition
    /// positions (empty when end <= start).
    fn range(&self, p: &Place) -> (usize, usize) {
        let (i, len) = (p.i, p.len);
        let off = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let group = |k: usize| p.groups.get(k).copied();
        let (gs, ge) = group(p.g).unwrap_or((i, i + 1));
        let rows = self.units == FrameUnits::Rows;
        let groups = self.units == FrameUnits::Groups;
        let by_value = |v: &Option<Value>, following: bool, start: bool| match v {
            Some(v) => range_offset_position(p, (gs, ge), v, following, start),
            None => i,
        };
        let range_offsets = self.units == FrameUnits::Range;
        let start = match self.start {
            FrameBound::UnboundedPreceding => 0,
            FrameBound::Preceding(_) if range_offsets => by_value(&self.start_value, false, true),
            FrameBound::Following(_) if range_offsets => by_value(&self.start_value, true, true),
            FrameBound::Preceding(n) if groups => group(p.g.saturating_sub(off(n))).map_or(0, |g| g.0),
            FrameBound::Preceding(n) => i.saturating_sub(off(n)),
            FrameBound::CurrentRow if rows => i,
            FrameBound::CurrentRow => gs,
            FrameBound::Following(n) if groups => group(p.g.saturating_add(off(n))).map_or(len, |g| g.0),
            FrameBound::Following(n) => i.saturating_add(off(n)).min(len),
            FrameBound::UnboundedFollowing => len,
        };
        let end = match self.end {
            FrameBound::UnboundedPreceding => 0,
            FrameBound::Preceding(_) if range_offsets => by_value(&self.end_value, false, false),
            FrameBound::Following(_) if range_offsets => by_value(&self.end_value, true, false),
            FrameBound::Preceding(n) if groups => match p.g.checked_sub(off(n)) {
                Some(k) => group(k).map_or(0, |g| g.1),
                None => 0,
            },
            FrameBound::Preceding(n) => (i + 1).saturating_sub(off(n)),
            FrameBound::CurrentRow if rows => i + 1,
            FrameBound::CurrentRow => ge,
            FrameBound::Following(n) if groups => group(p.g.saturating_add(off(n))).map_or(len, |g| g.1),
            FrameBound::Following(n) => i.saturating_add(off(n)).saturating_add(1).min(len),
            FrameBound::UnboundedFollowing => len,
        };
        (start, end.max(start))
    }

    fn describe(&self) -> String {
        let b = |x: FrameBound, v: &Option<Value>| {
            let n = |n: u64| match v {
                Some(v @ Value::Interval(_)) => format!("'{}'", v.to_text().unwrap_or_default()),
                Some(v) => v.to_text().unwrap_or_default(),
                None => n.to_string(),
            };
            match x {
                FrameBound::UnboundedPreceding => "UNBOUNDED PRECEDING".to_string(),
                FrameBound::Preceding(k) => format!("{} PRECEDING", n(k)),
                FrameBound::CurrentRow => "CURRENT ROW".to_string(),
                FrameBound::Following(k) => format!("{} FOLLOWING", n(k)),
                FrameBound::UnboundedFollowing => "UNBOUNDED FOLLOWING".to_string(),
            }
        };
        format!(
            "{} BETWEEN {} AND {}",
            match self.units {
                FrameUnits::Rows => "ROWS",
                FrameUnits::Range => "RANGE",
                FrameUnits::Groups => "GROUPS",
            },
            b(self.start, &self.start_value),
            b(self.end, &self.end_value)
        )
    }
}

/// RANGE with an offset: the frame start (the first position whose key
/// is not before `key ∓ offset` in window order) or end (the position
/// after the last key not beyond it) for the row at `p`. NULL keys are
/// only ever in range of each other: a NULL current row's offset bounds
/// are its peer group `peers`. A bound that overflows lies beyond every
/// key (numbers past their type's range; for times, a result before year
/// 1 or after 9999, which a non-negative offset only reaches on the side
/// it moves to).
fn range_offset_position(
    p: &Place,
    peers: (usize, usize),
    offset: &Value,
    following: bool,
    start: bool,
) -> usize {
    use crate::expr::{BinOp, binary};
    let (Some(order), Some(cur)) = (p.order, p.keys.get(p.i)) else {
        return if start { peers.0 } else { peers.1 };
    };
    if cur.is_null() {
        return if start { peers.0 } else { peers.1 };
    }
    let (lo, hi) = if order.nulls_first {
        (p.nulls, p.len)
    } else {
        (0, p.len.saturating_sub(p.nulls))
    };
    // In value terms the bound is above the key when adding.
    let add = following != order.desc;
    let bound = binary(if add { BinOp::Add } else { BinOp::Sub }, cur, offset);
    // An infinite key moved by an infinite offset towards the other
    // infinity (inf - inf) is NaN; PostgreSQL counts every row in range
    // then, as for a bound past every key.
    let nan = |v: &Value| matches!(v, Value::Float(f) if f.is_nan());
    let bound = match bound {
        Ok(b) if nan(&b) && !nan(cur) => Err(()),
        Ok(b) => Ok(b),
        Err(_) => Err(()),
    };
    match bound {
        // Past every key: after them in window order when the bound is
        // above them and the order ascends (or below and descends).
        Err(()) => {
            if add != order.desc {
                hi
            } else {
                lo
            }
        }
        Ok(bound) => {
            let in_order = |k: &Value| {
                let o = k.sql_cmp(&bound).ok().flatten().unwrap_or(Ordering::Equal);
                if order.desc { o.reverse() } else { o }
            };
            let keys = &p.keys[lo..hi];
            lo + if start {
                keys.partition_point(|k| in_order(k) == Ordering::Less)
            } else {
                keys.partition_point(|k| in_order(k) != Ordering::Greater)
            }
        }
    }
}

/// One window function call. Expressions are over the Window node's input.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowCall {
    pub func: WinFunc,
    pub args: Vec<Expr>,
    /// An aggregate's `FILTER (WHERE ...)`: rows where it is not true are
    /// left out of every frame.
    pub filter: Option<Expr>,
    pub partition_by: Vec<Expr>,
    pub order_by: Vec<SortKey>,
    pub frame: Frame,
}

impl WindowCall {
    /// The call as EXPLAIN shows it.
    pub fn explain(&self) -> String {
        use crate::plan::expr_text;
        let args: Vec<String> = self.args.iter().map(expr_text).collect();
        let mut over = Vec::new();
        if !self.partition_by.is_empty() {
            let p: Vec<String> = self.partition_by.iter().map(expr_text).collect();
            over.push(format!("PARTITION BY {}", p.join(", ")));
        }
        if !self.order_by.is_empty() {
            let o: Vec<String> = self
                .order_by
                .iter()
                .map(|k| {
                    // NULLS only where it differs from the direction's default.
                    let nulls = match (k.desc, k.nulls_first) {
                        (false, true) => " NULLS FIRST",
                        (true, false) => " NULLS LAST",
                        _ => "",
                    };
                    format!(
                        "{}{}{nulls}",
                        expr_text(&k.expr),
                        if k.desc { " DESC" } else { "" }
                    )
                })
                .collect();
            over.push(format!("ORDER BY {}", o.join(", ")));
        }
        if self.frame != Frame::DEFAULT {
            over.push(self.frame.describe());
        }
        let args = if self.func == WinFunc::Agg(AggFunc::CountStar) {
            "*".to_string()
        } else {
            args.join(", ")
        };
        let name = match self.func {
            WinFunc::Agg(AggFunc::CountStar) => "count".to_string(),
            f => f.name(),
        };
        let filter = match &self.filter {
            Some(f) => format!(" FILTER (WHERE {})", expr_text(f)),
            None => String::new(),
        };
        format!("{name}({args}){filter} OVER ({})", over.join(" "))
    }
}

/// Evaluates the window calls over the materialised input.
pub struct WindowOp<'p> {
    pub input: Op<'p>,
    pub calls: &'p [WindowCall],
    pub output: Option<std::vec::IntoIter<Row>>,
}

impl Operator for WindowOp<'_> {
    fn next(&mut self, ctx: &mut ExecCtx) -> Result<Option<Row>> {
        if self.output.is_none() {
            let mut rows = Vec::new();
            while let Some(row) = self.input.next(ctx)? {
                ctx.check()?;
                rows.push(row);
            }
            let mut results: Vec<Vec<Value>> = Vec::with_capacity(self.calls.len());
            let mut order: Vec<usize> = (0..rows.len()).collect();
            // Calls over the same window share its sort: (first call, sort).
            let mut sorts: Vec<(usize, Sorted)> = Vec::new();
            for (k, call) in self.calls.iter().enumerate() {
                let same = |(j, _): &(usize, Sorted)| {
                    let other = &self.calls[*j];
                    other.partition_by == call.partition_by && other.order_by == call.order_by
                };
                let s = match sorts.iter().position(same) {
                    Some(at) => &sorts[at].1,
                    None => {
                        sorts.push((k, Sorted::new(call, &rows, ctx)?));
                        &sorts[sorts.len() - 1].1
                    }
                };
                results.push(evaluate(call, s, &rows, ctx)?);
                order.clone_from(&s.order);
            }
            let mut out = Vec::with_capacity(rows.len());
            let mut rows: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
            for i in order {
                ctx.check()?;
                let mut row = rows[i].take().unwrap_or_default();
                row.extend(results.iter().map(|r| r[i].clone()));
                out.push(row);
            }
            self.output = Some(out.into_iter());
        }
        Ok(self.output.as_mut().and_then(Iterator::next))
    }
}

/// The input sorted for one window: row indexes in window order, cut into
/// partitions, each cut into peer groups.
struct Sorted {
    order: Vec<usize>,
    /// Half-open ranges of `order`.
    partitions: Vec<(usize, usize)>,
    /// For each position of `order`: its peer group's half-open range.
    peers: Vec<(usize, usize)>,
    /// For each position of `order`: its first ORDER BY key's value
    /// (empty without ORDER BY).
    keys: Vec<Value>,
}

impl Sorted {
    fn new(call: &WindowCall, rows: &[Row], ctx: &mut ExecCtx) -> Result<Sorted> {
        let np = call.partition_by.len();
        let mut keys: Vec<SortKey> = call
            .partition_by
            .iter()
            .map(|e| SortKey {
                expr: e.clone(),
                desc: false,
                nulls_first: false,
            })
            .collect();
        keys.extend(call.order_by.iter().cloned());
        let mut keyed: Vec<(Vec<Value>, usize)> = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            ctx.check()?;
            let k = keys
                .iter()
                .map(|k| k.expr.eval(row, ctx))
                .collect::<Result<Vec<_>>>()?;
            keyed.push((k, i));
        }
        keyed.sort_by(|(a, _), (b, _)| cmp_sort_keys(a, b, &keys));
        let mut partitions = Vec::new();
        let mut peers = vec![(0, 0); keyed.len()];
        let mut p_start = 0;
        let mut g_start = 0;
        for i in 0..=keyed.len() {
            ctx.check()?;
            let new_partition = i == keyed.len()
                || (i > 0
                    && cmp_sort_keys(&keyed[i - 1].0[..np], &keyed[i].0[..np], &keys[..np])
                        != Ordering::Equal);
            let new_group = new_partition
                || (i > 0
                    && cmp_sort_keys(&keyed[i - 1].0[np..], &keyed[i].0[np..], &keys[np..])
                        != Ordering::Equal);
            if i > 0 && new_group {
                for p in &mut peers[g_start..i] {
                    *p = (g_start - p_start, i - p_start);
                }
                g_start = i;
            }
            if i > 0 && new_partition {
                partitions.push((p_start, i));
                p_start = i;
            }
        }
        let first_keys = if call.order_by.is_empty() {
            vec![]
        } else {
            keyed.iter().map(|(k, _)| k[np].clone()).collect()
        };
        Ok(Sorted {
            order: keyed.into_iter().map(|(_, i)| i).collect(),
            partitions,
            peers,
            keys: first_keys,
        })
    }
}

/// One call's value for every input row (indexed like the input).
fn evaluate(call: &WindowCall, s: &Sorted, rows: &[Row], ctx: &mut ExecCtx) -> Result<Vec<Value>> {
    let mut out = vec![Value::Null; rows.len()];
    // Rows the call's FILTER keeps, in window order (all without one).
    let mut kept: Vec<bool> = Vec::new();
    if let Some(filter) = &call.filter {
        for &r in &s.order {
            ctx.check()?;
            kept.push(filter.eval(&rows[r], ctx)?.is_true());
        }
    }
    // Argument values in window order, evaluated once, and only for rows
    // the FILTER keeps (as PostgreSQL: `sum(10 / x) FILTER (WHERE x <> 0)`
    // never divides by zero).
    let mut args: Vec<Vec<Value>> = Vec::with_capacity(s.order.len());
    for (pos, &r) in s.order.iter().enumerate() {
        ctx.check()?;
        if !kept.get(pos).copied().unwrap_or(true) {
            args.push(vec![]);
            continue;
        }
        args.push(
            call.args
                .iter()
                .map(|e| e.eval(&rows[r], ctx))
                .collect::<Result<Vec<_>>>()?,
        );
    }
    let keeps = |pos: usize| kept.get(pos).copied().unwrap_or(true);
    let arg = |pos: usize, k: usize| args[pos].get(k).cloned().unwrap_or(Value::Null);
    for &(ps, pe) in &s.partitions {
        let len = pe - ps;
        // The partition's peer groups, in order.
        let mut groups: Vec<(usize, usize)> = Vec::new();
        for pos in ps..pe {
            if groups.last() != Some(&s.peers[pos]) {
                groups.push(s.peers[pos]);
            }
        }
        let keys = s.keys.get(ps..pe).unwrap_or_default();
        let nulls = keys.iter().filter(|k| k.is_null()).count();
        let mut acc: Option<(Acc, usize, usize)> = None;
        let mut ntile: Option<Option<i64>> = None;
        // Peer groups so far, this one included.
        let mut dense = 0;
        for i in 0..len {
            ctx.check()?;
            let pos = ps + i;
            let peers = s.peers[pos];
            if peers.0 == i {
                dense += 1;
            }
            let place = Place {
                i,
                len,
                groups: &groups,
                g: usize::try_from(dense - 1).unwrap_or(0),
                keys,
                order: call.order_by.first(),
                nulls,
            };
            let v = match call.func {
                WinFunc::RowNumber => Value::Int(i as i64 + 1),
                WinFunc::Rank => Value::Int(peers.0 as i64 + 1),
                WinFunc::DenseRank => Value::Int(dense),
                WinFunc::PercentRank => Value::Float(if len > 1 {
                    peers.0 as f64 / (len - 1) as f64
                } else {
                    0.0
                }),
                WinFunc::CumeDist => Value::Float(peers.1 as f64 / len as f64),
                WinFunc::Ntile => {
                    let n = match ntile {
                        Some(n) => n,
                        None => {
                            let n = match arg(pos, 0) {
                                Value::Null => None,
                                Value::Int(n) if n > 0 => Some(n),
                                Value::Int(_) => {
                                    return Err(SqlError::new(
                                        "22014",
                                        "argument of ntile must be greater than zero",
                                    ));
                                }
                                _ => return Err(SqlError::mismatch("argument of ntile must be an integer")),
                            };
                            ntile = Some(n);
                            n
                        }
                    };
                    match n {
                        None => Value::Null,
                        Some(n) => Value::Int(ntile_bucket(i as i64, len as i64, n)),
                    }
                }
                WinFunc::Lag | WinFunc::Lead => {
                    let off = match call.args.get(1) {
                        None => Some(1),
                        Some(_) => match arg(pos, 1) {
                            Value::Null => None,
                            Value::Int(n) => Some(n),
                            _ => return Err(SqlError::mismatch("offset of lag/lead must be an integer")),
                        },
                    };
                    match off {
                        None => Value::Null,
                        Some(off) => {
                            let off = if call.func == WinFunc::Lag {
                                off.checked_neg()
                            } else {
                                Some(off)
                            };
                            let target = off.and_then(|o| (i as i64).checked_add(o));
                            match target {
                                Some(t) if t >= 0 && t < len as i64 => arg(ps + t as usize, 0),
                                _ => arg(pos, 2),
                            }
                        }
                    }
                }
                WinFunc::FirstValue | WinFunc::LastValue | WinFunc::NthValue => {
                    let (fs, fe) = call.frame.range(&place);
                    match call.func {
                        _ if fs >= fe && call.func != WinFunc::NthValue => Value::Null,
                        WinFunc::FirstValue => arg(ps + fs, 0),
                        WinFunc::LastValue => arg(ps + fe - 1, 0),
                        _ => match arg(pos, 1) {
                            Value::Null => Value::Null,
                            Value::Int(n) if n > 0 => {
                                let n = usize::try_from(n - 1).unwrap_or(usize::MAX);
                                match fs.checked_add(n) {
                                    Some(t) if t < fe => arg(ps + t, 0),
                                    _ => Value::Null,
                                }
                            }
                            Value::Int(_) => {
                                return Err(SqlError::new(
                                    "22016",
                                    "argument of nth_value must be greater than zero",
                                ));
                            }
                            _ => return Err(SqlError::mismatch("argument of nth_value must be an integer")),
                        },
                    }
                }
                WinFunc::Agg(func) => {
                    let (fs, fe) = call.frame.range(&place);
                    let (mut a, from) = match acc.take() {
                        Some((a, s0, e0)) if s0 == fs && e0 <= fe => (a, e0),
                        _ => {
                            let c = AggCall {
                                func,
                                args: vec![],
                                distinct: false,
                                filter: None,
                            };
                            (Acc::new(&c), fs)
                        }
                    };
                    for j in from..fe {
                        ctx.check()?;
                        if keeps(ps + j) {
                            a.add(args[ps + j].clone())?;
                        }
                    }
                    let v = a.finish();
                    acc = Some((a, fs, fe));
                    v
                }
            };
            out[s.order[pos]] = v;
        }
    }
    Ok(out)
}

/// PostgreSQL's ntile: `len` rows into `n` buckets, the first
/// `len % n` buckets one row larger.
fn ntile_bucket(i: i64, len: i64, n: i64) -> i64 {
    let per = len / n;
    let rem = len % n;
    let big = rem * (per + 1);
    if i < big {
        i / (per + 1) + 1
    } else {
        rem + (i - big) / per.max(1) + 1
    }
}

/// The error for a window function where none may be: `clause` names
/// the place (as the binder tracks it).
pub fn not_allowed(clause: Option<&str>) -> SqlError {
    match clause {
        Some("aggregate") => SqlError::new(
            codes::GROUPING_ERROR,
            "aggregate function calls cannot contain window function calls",
        ),
        Some("window") => SqlError::new(WINDOWING_ERROR, "window function calls cannot be nested"),
        Some(c) => SqlError::new(
            WINDOWING_ERROR,
            format!("window functions are not allowed in {c}"),
        ),
        None => SqlError::new(WINDOWING_ERROR, "window functions are not allowed here"),
    }
}

/// SQLSTATE 42P20.
pub const WINDOWING_ERROR: &str = "42P20";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntile_matches_postgres() {
        // 5 rows into 3 buckets: 1 1 2 2 3; 2 rows into 4: 1 2.
        let b: Vec<i64> = (0..5).map(|i| ntile_bucket(i, 5, 3)).collect();
        assert_eq!(b, vec![1, 1, 2, 2, 3]);
        let b: Vec<i64> = (0..2).map(|i| ntile_bucket(i, 2, 4)).collect();
        assert_eq!(b, vec![1, 2]);
        let b: Vec<i64> = (0..6).map(|i| ntile_bucket(i, 6, 3)).collect();
        assert_eq!(b, vec![1, 1, 2, 2, 3, 3]);
    }

    #[test]
    fn frame_ranges() {
        let frame = |units, start, end| Frame {
            units,
            start,
            end,
            start_value: None,
            end_value: None,
        };
        // Four rows, each its own peer group, or peers [0, 3) and [3, 4).
        let single = [(0, 1), (1, 2), (2, 3), (3, 4)];
        let two = [(0, 3), (3, 4)];
        let place = |i, g, groups| Place {
            i,
            len: 4,
            groups,
            g,
            keys: &[],
            order: None,
            nulls: 0,
        };
        let rows = |s, e| frame(FrameUnits::Rows, s, e);
        let f = rows(FrameBound::Preceding(1), FrameBound::Following(1));
        assert_eq!(f.range(&place(0, 0, &single)), (0, 2));
        assert_eq!(f.range(&place(3, 3, &single)), (2, 4));
        let f = rows(FrameBound::Following(2), FrameBound::Following(3));
        assert_eq!(f.range(&place(3, 3, &single)), (4, 4));
        let f = rows(FrameBound::Preceding(3), FrameBound::Preceding(2));
        assert_eq!(f.range(&place(1, 1, &single)), (0, 0));
        assert_eq!(Frame::DEFAULT.range(&place(1, 0, &two)), (0, 3));
        let f = frame(
            FrameUnits::Groups,
            FrameBound::Preceding(1),
            FrameBound::CurrentRow,
        );
        assert_eq!(f.range(&place(3, 1, &two)), (0, 4));
        assert_eq!(f.range(&place(1, 0, &two)), (0, 3));
        let f = frame(
            FrameUnits::Groups,
            FrameBound::Following(1),
            FrameBound::Following(5),
        );
        assert_eq!(f.range(&place(1, 0, &two)), (3, 4));
        assert_eq!(f.range(&place(3, 1, &two)), (4, 4));
        let f = frame(
            FrameUnits::Groups,
            FrameBound::Preceding(2),
            FrameBound::Preceding(1),
        );
        assert_eq!(f.range(&place(0, 0, &two)), (0, 0));
        assert_eq!(WinFunc::DenseRank.name(), "dense_rank");
    }
}
