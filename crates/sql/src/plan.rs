//! Query plans: a tree of relational operators over bound expressions.
//!
//! Each node produces rows of a fixed width; expressions inside a node refer
//! to its input's columns by position (for joins: left columns, then right
//! columns). The binder builds the tree, the optimizer rewrites it (access
//! paths, join order, folding), the executor runs it. `explain` renders it
//! for EXPLAIN.

use std::ops::Bound;
use std::sync::Arc;

use crate::catalog::{Index, Table};
use crate::expr::Expr;
use crate::types::Value;
use crate::window::WindowCall;

/// How a scan reaches its rows.
#[derive(Clone, Debug)]
pub enum Access {
    /// Every row, in primary-key order.
    Full,
    /// Primary-key ranges (points for `=`/IN).
    PrimaryKey(Vec<KeyRangeDesc>),
    /// Secondary-index ranges, then a row look-up by primary key.
    Index(Index, Vec<KeyRangeDesc>),
}

/// A key range together with how it was derived (for EXPLAIN).
#[derive(Clone, Debug)]
pub struct KeyRangeDesc {
    pub start: Bound<Vec<u8>>,
    pub end: Bound<Vec<u8>>,
    pub shown: RangeShown,
    /// The range holds exactly one possible key, `start`: every primary-key
    /// column is fixed by `=`. Read with a point get (one seek, the key
    /// alone in the read set) instead of a scan.
    pub exact: bool,
}

/// The constants a key range was built from, rendered only by EXPLAIN:
/// the values of its leading `=` columns, then the bounds (value,
/// inclusive) on the next column, if it has any.
#[derive(Clone, Debug)]
pub struct RangeShown {
    pub prefix: Vec<Value>,
    pub lower: Option<(Value, bool)>,
    pub upper: Option<(Value, bool)>,
}

impl std::fmt::Display for RangeShown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let prefix: Vec<String> = self
            .prefix
            .iter()
            .map(|v| v.to_text().unwrap_or_default())
            .collect();
        if self.lower.is_none() && self.upper.is_none() {
            return write!(f, "= {prefix:?}");
        }
        let show = |x: &Option<(Value, bool)>, open: &str, closed: &str| match x {
            None => String::new(),
            Some((v, inclusive)) => format!(
                "{} {}",
                if *inclusive { closed } else { open },
                v.to_text().unwrap_or_default()
            ),
        };
        if !self.prefix.is_empty() {
            write!(f, "= {prefix:?} and ")?;
        }
        let bounds = format!(
            "{} {}",
            show(&self.lower, ">", ">="),
            show(&self.upper, "<", "<=")
        );
        f.write_str(bounds.trim())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOpKind {
    Union,
    Intersect,
    Except,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggFunc {
    Count,
    CountStar,
    Sum,
    Avg,
    Min,
    Max,
    BoolAnd,
    BoolOr,
    StringAgg,
    /// SQLite's total(): sum as a float, 0.0 for no rows.
    Total,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AggCall {
    pub func: AggFunc,
    pub args: Vec<Expr>,
    pub distinct: bool,
    /// `FILTER (WHERE ...)`: only rows where it is true are aggregated.
    pub filter: Option<Expr>,
}

impl AggCall {
    /// The call as EXPLAIN shows it.
    pub fn explain(&self) -> String {
        match &self.filter {
            Some(f) => format!("{:?} filter {}", self.func, expr_text(f)),
            None => format!("{:?}", self.func),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    pub expr: Expr,
    pub desc: bool,
    pub nulls_first: bool,
}

#[derive(Clone, Debug)]
pub enum Plan {
    /// Literal rows (also the one empty row of a FROM-less SELECT).
    Values {
        rows: Vec<Vec<Expr>>,
        width: usize,
    },
    /// A table scan; `filter` is checked on every row it yields. With
    /// `with_rowid`, rows of tables without a primary key carry the hidden
    /// row id as an extra last column.
    Scan {
        table: Arc<Table>,
        access: Access,
        filter: Option<Expr>,
        with_rowid: bool,
        reverse: bool,
    },
    Filter {
        input: Box<Plan>,
        predicate: Expr,
    },
    Project {
        input: Box<Plan>,
        exprs: Vec<Expr>,
    },
    NestedLoopJoin {
        left: Box<Plan>,
        right: Box<Plan>,
        kind: JoinKind,
        on: Option<Expr>,
    },
    /// Equi-join: builds a hash table over `right`, probes with `left`.
    HashJoin {
        left: Box<Plan>,
        right: Box<Plan>,
        kind: JoinKind,
        left_keys: Vec<Expr>,
        right_keys: Vec<Expr>,
        residual: Option<Expr>,
    },
    /// Output: group-by values, then aggregate results.
    Aggregate {
        input: Box<Plan>,
        group_by: Vec<Expr>,
        aggs: Vec<AggCall>,
    },
    Sort {
        input: Box<Plan>,
        keys: Vec<SortKey>,
    },
    Limit {
        input: Box<Plan>,
        limit: Option<u64>,
        offset: u64,
    },
    Distinct {
        input: Box<Plan>,
    },
    /// DISTINCT ON: the first row of each set of rows equal on the `keys`
    /// columns, in input order (the binder sorts below it).
    DistinctOn {
        input: Box<Plan>,
        keys: Vec<usize>,
    },
    SetOp {
        kind: SetOpKind,
        all: bool,
        left: Box<Plan>,
        right: Box<Plan>,
    },
    /// WITH RECURSIVE: `init` once, then `step` over and over, each time
    /// reading the rows the previous round added as [`Plan::WorkTable`]
    /// `id`, until a round adds none. Without `all`, rows already produced
    /// are dropped (UNION).
    RecursiveUnion {
        id: usize,
        all: bool,
        init: Box<Plan>,
        step: Box<Plan>,
    },
    /// The working table of the enclosing [`Plan::RecursiveUnion`] `id`.
    WorkTable {
        id: usize,
        width: usize,
    },
    /// generate_series(start, stop[, step]).
    Series {
        args: Vec<Expr>,
    },
    /// Window functions (see [`crate::window`]). Output: the input row,
    /// then one value per call.
    Window {
        input: Box<Plan>,
        calls: Vec<WindowCall>,
    },
}

impl Plan {
    #[recursive::recursive]
    pub fn width(&self) -> usize {
        match self {
            Plan::Values { width, .. } => *width,
            Plan::Scan {
                table, with_rowid, ..
            } => table.columns.len() + usize::from(*with_rowid && table.primary_key.is_empty()),
            Plan::Filter { input, .. }
            | Plan::Sort { input, .. }
            | Plan::Limit { input, .. }
            | Plan::Distinct { input }
            | Plan::DistinctOn { input, .. } => input.width(),
            Plan::Project { exprs, .. } => exprs.len(),
            Plan::NestedLoopJoin { left, right, .. } | Plan::HashJoin { left, right, .. } => {
                left.width() + right.width()
            }
            Plan::Aggregate { group_by, aggs, .. } => group_by.len() + aggs.len(),
            Plan::SetOp { left, .. } => left.width(),
            Plan::Series { .. } => 1,
            Plan::RecursiveUnion { init, .. } => init.width(),
            Plan::WorkTable { width, .. } => *width,
            Plan::Window { input, calls } => input.width() + calls.len(),
        }
    }

    pub fn filter(self, predicate: Expr) -> Plan {
        if predicate == Expr::Literal(Value::Bool(true)) {
            return self;
        }
        Plan::Filter {
            input: Box::new(self),
            predicate,
        }
    }

    /// Renders the plan tree, one node per line.
    pub fn explain(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.explain_into(0, &mut out);
        out
    }

    #[recursive::recursive]
    fn explain_into(&self, depth: usize, out: &mut Vec<String>) {
        let pad = "  ".repeat(depth);
        let line = match self {
            Plan::Values { rows, .. } => format!("Values ({} rows)", rows.len()),
            Plan::Scan {
                table,
                access,
                filter,
                reverse,
                ..
            } => {
                let how = match access {
                    Access::Full => "full scan".to_string(),
                    Access::PrimaryKey(r) => format!("primary key {}", ranges_text(r)),
                    Access::Index(i, r) => format!("index {} {}", i.name, ranges_text(r)),
                };
                let rev = if *reverse { " reverse" } else { "" };
                let f = filter
                    .as_ref()
                    .map(|f| format!(" filter: {}", expr_text(f)))
                    .unwrap_or_default();
                format!("Scan {} ({how}{rev}){f}", table.name)
            }
            Plan::Filter { predicate, .. } => format!("Filter {}", expr_text(predicate)),
            Plan::Project { exprs, .. } => {
                format!(
                    "Project {}",
                    exprs.iter().map(expr_text).collect::<Vec<_>>().join(", ")
                )
            }
            Plan::NestedLoopJoin { kind, on, .. } => format!(
                "NestedLoopJoin {kind:?}{}",
                on.as_ref()
                    .map(|o| format!(" on {}", expr_text(o)))
                    .unwrap_or_default()
            ),
            Plan::HashJoin {
                kind,
                left_keys,
                right_keys,
                ..
            } => format!(
                "HashJoin {kind:?} on [{}] = [{}]",
                left_keys.iter().map(expr_text).collect::<Vec<_>>().join(", "),
                right_keys.iter().map(expr_text).collect::<Vec<_>>().join(", ")
            ),
            Plan::Aggregate { group_by, aggs, .. } => format!(
                "Aggregate group by [{}] aggs [{}]",
                group_by.iter().map(expr_text).collect::<Vec<_>>().join(", "),
                aggs.iter().map(AggCall::explain).collect::<Vec<_>>().join(", ")
            ),
            Plan::Sort { keys, .. } => format!(
                "Sort {}",
                keys.iter()
                    .map(|k| format!("{}{}", expr_text(&k.expr), if k.desc { " DESC" } else { "" }))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Plan::Limit { limit, offset, .. } => format!("Limit {limit:?} offset {offset}"),
            Plan::Distinct { .. } => "Distinct".into(),
            Plan::DistinctOn { keys, .. } => format!(
                "Distinct on {}",
                keys.iter()
                    .map(|k| format!("#{k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Plan::SetOp { kind, all, .. } => format!("{kind:?}{}", if *all { " ALL" } else { "" }),
            Plan::Series { .. } => "FunctionScan generate_series".into(),
            Plan::RecursiveUnion { id, all, .. } => {
                format!(
                    "Recursive union{} (work table {id})",
                    if *all { " ALL" } else { "" }
                )
            }
            Plan::WorkTable { id, .. } => format!("Work table {id}"),
            Plan::Window { calls, .. } => format!(
                "Window {}",
                calls
                    .iter()
                    .map(WindowCall::explain)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        out.push(format!("{pad}{line}"));
        for child in self.inputs() {
            child.explain_into(depth + 1, out);
        }
    }

    pub fn inputs(&self) -> Vec<&Plan> {
        match self {
            Plan::Values { .. } | Plan::Scan { .. } | Plan::Series { .. } | Plan::WorkTable { .. } => vec![],
            Plan::RecursiveUnion { init, step, .. } => vec![init, step],
            Plan::Filter { input, .. }
            | Plan::Project { input, .. }
            | Plan::Aggregate { input, .. }
            | Plan::Sort { input, .. }
            | Plan::Limit { input, .. }
            | Plan::Distinct { input }
            | Plan::DistinctOn { input, .. }
            | Plan::Window { input, .. } => vec![input],
            Plan::NestedLoopJoin { left, right, .. }
            | Plan::HashJoin { left, right, .. }
            | Plan::SetOp { left, right, .. } => vec![left, right],
        }
    }
}

fn ranges_text(r: &[KeyRangeDesc]) -> String {
    r.iter()
        .map(|r| r.shown.to_string())
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// A compact rendering of an expression for EXPLAIN (`#i` = input column i).
#[recursive::recursive]
pub fn expr_text(e: &Expr) -> String {
    let list = |v: &[Expr]| v.iter().map(expr_text).collect::<Vec<_>>().join(", ");
    let not = |n: &bool| if *n { "NOT " } else { "" };
    match e {
        Expr::Literal(v) => match v {
            Value::Text(s) => format!("'{s}'"),
            v => v.to_text().unwrap_or_else(|| "NULL".into()),
        },
        Expr::Column(i) => format!("#{i}"),
        Expr::Outer { depth, index } => format!("outer{depth}.#{index}"),
        Expr::Binary(op, l, r) => format!("({} {} {})", expr_text(l), op.symbol(), expr_text(r)),
        Expr::Unary(crate::expr::UnOp::Neg, e) => format!("-{}", expr_text(e)),
        Expr::Unary(crate::expr::UnOp::Not, e) => format!("NOT {}", expr_text(e)),
        Expr::IsNull(e, n) => format!("{} IS {}NULL", expr_text(e), not(n)),
        Expr::IsDistinct(a, b, n) => format!("{} IS {}DISTINCT FROM {}", expr_text(a), not(n), expr_text(b)),
        Expr::InList {
            expr,
            list: l,
            negated,
        } => format!("{} {}IN ({})", expr_text(expr), not(negated), list(l)),
        Expr::Between {
            expr,
            low,
            high,
            negated,
        } => {
            format!(
                "{} {}BETWEEN {} AND {}",
                expr_text(expr),
                not(negated),
                expr_text(low),
                expr_text(high)
            )
        }
        Expr::Cast(e, t) => format!("CAST({} AS {})", expr_text(e), t.name()),
        Expr::Like {
            expr,
            pattern,
            negated,
            case_insensitive,
        } => format!(
            "{} {}{} {}",
            expr_text(expr),
            not(negated),
            if *case_insensitive { "ILIKE" } else { "LIKE" },
            expr_text(pattern)
        ),
        Expr::Case { .. } => "CASE ...".into(),
        Expr::Func(f, a) => format!("{}({})", f.name(), list(a)),
        Expr::Sequence { func, seq, args } => {
            let mut parts: Vec<String> = seq.iter().map(|s| format!("'{}'", s.name)).collect();
            parts.extend(args.iter().map(expr_text));
            format!("{}({})", func.name(), parts.join(", "))
        }
        Expr::ScalarSubquery(_) => "(subquery)".into(),
        Expr::Exists { negated, .. } => format!("{}EXISTS (subquery)", not(negated)),
        Expr::InSubquery { expr, negated, .. } => {
            format!("{} {}IN (subquery)", expr_text(expr), not(negated))
        }
        Expr::Agg(k) => format!("agg{k}"),
        Expr::Window(k) => format!("window{k}"),
    }
}
