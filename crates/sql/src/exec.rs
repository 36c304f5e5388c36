//! The executor: plans run as a tree of pull-based (Volcano) operators.
//!
//! `build` turns a [`Plan`] into operators that borrow it; `next` pulls one
//! row at a time, so a LIMIT stops its input early. Only Sort, Aggregate,
//! Distinct/DISTINCT ON/set operations (their seen-sets), the build side
//! of a hash join, the inner side of a nested-loop join and a recursive
//! union (one round's rows, and its seen-set under UNION) hold rows in
//! memory.
//!
//! [`ExecCtx`] carries the transaction, the stack of enclosing rows for
//! correlated subqueries, the cache of uncorrelated subquery results
//! (each such subquery runs at most once per statement) and the working
//! tables of the WITH RECURSIVE rounds being run.
//!
//! Every loop that pulls rows checks the statement's [`Interrupt`] (one
//! relaxed atomic load), so a cancelled statement stops with 57014 within
//! a row of work, also inside joins and aggregates.

use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::rc::Rc;

use quorumdb_storage::{ScanOrder, Transaction, TxnScan};

use crate::error::{Result, SqlError, codes};
use crate::expr::{Expr, Subquery, in_values};
use crate::interrupt::Interrupt;
use crate::keys;
use crate::plan::{Access, AggCall, AggFunc, JoinKind, KeyRangeDesc, Plan, SetOpKind, SortKey};
use crate::types::{Row, Value};

/// Everything an operator needs while running.
pub struct ExecCtx<'t> {
    pub txn: &'t mut Transaction,
    outer: Vec<Row>,
    cache: HashMap<usize, Rc<Cached>>,
    /// The running statement's cancel flag ([`crate::interrupt::scope`]).
    interrupt: Option<Interrupt>,
    /// The working tables of the WITH RECURSIVE rounds being run, by id.
    work_tables: HashMap<usize, Rc<Vec<Row>>>,
}

enum Cached {
    Scalar(Value),
    Set { values: HashSet<Value>, has_null: bool },
    Exists(bool),
}

impl<'t> ExecCtx<'t> {
    pub fn new(txn: &'t mut Transaction) -> Self {
        Self {
            txn,
            outer: Vec::new(),
            cache: HashMap::new(),
            interrupt: crate::interrupt::current(),
            work_tables: HashMap::new(),
        }
    }

    /// `Err(57014)` once the running statement has been cancelled.
    #[inline]
    pub fn check(&self) -> Result<()> {
        match &self.interrupt {
            Some(i) => i.check(),
            None => Ok(()),
        }
    }

    pub fn outer_value(&self, depth: usize, index: usize) -> Result<Value> {
        self.outer
            .len()
            .checked_sub(depth + 1)
            .and_then(|i| self.outer.get(i))
            .and_then(|r| r.get(index))
            .cloned()
            .ok_or_else(|| SqlError::internal("outer reference out of range"))
    }

    /// Runs a subquery with `row` as its nearest enclosing row, handing each
    /// result row to `f` until it returns false.
    fn run_sub(
        &mut self,
        sub: &Subquery,
        row: &[Value],
        f: &mut dyn FnMut(Row) -> Result<bool>,
    ) -> Result<()> {
        self.outer.push(row.to_vec());
        let result = (|| {
            let mut op = build(&sub.plan)?;
            while let Some(r) = op.next(self)? {
                if !f(r)? {
                    break;
                }
            }
            Ok(())
        })();
        self.outer.pop();
        result
    }

    pub fn scalar_subquery(&mut self, sub: &Subquery, row: &[Value]) -> Result<Value> {
        if let Some(Cached::Scalar(v)) = self.cache.get(&sub.id).map(|c| &**c) {
            return Ok(v.clone());
        }
        let mut first: Option<Value> = None;
        let mut count = 0;
        self.run_sub(sub, row, &mut |r| {
            count += 1;
            if count > 1 {
                return Err(SqlError::new(
                    codes::CARDINALITY_VIOLATION,
                    "more than one row returned by a subquery used as an expression",
                ));
            }
            first = r.into_iter().next();
            Ok(true)
        })?;
        let v = first.unwrap_or(Value::Null);
        if !sub.correlated {
            self.cache.insert(sub.id, Rc::new(Cached::Scalar(v.clone())));
        }
        Ok(v)
    }

    pub fn exists(&mut self, sub: &Subquery, row: &[Value]) -> Result<bool> {
        if let Some(Cached::Exists(b)) = self.cache.get(&sub.id).map(|c| &**c) {
            return Ok(*b);
        }
        let mut found = false;
        self.run_sub(sub, row, &mut |_| {
            found = true;
            Ok(false)
        })?;
        if !sub.correlated {
            self.cache.insert(sub.id, Rc::new(Cached::Exists(found)));
        }
        Ok(found)
    }

    pub fn in_subquery(&mut self, v: &Value, sub: &Subquery, row: &[Value], negated: bool) -> Result<Value> {
        if !sub.correlated {
            let cached = match self.cache.get(&sub.id) {
                Some(c) => c.clone(),
                None => {
                    let mut values = HashSet::new();
                    let mut has_null = false;
                    self.run_sub(sub, row, &mut |r| {
                        let x = r.into_iter().next().unwrap_or(Value::Null);
                        if x.is_null() {
                            has_null = true;
                        } else {
                            values.insert(x);
                        }
                        Ok(true)
                    })?;
                    let c = Rc::new(Cached::Set { values, has_null });
                    self.cache.insert(sub.id, c.clone());
                    c
                }
            };
            if let Cached::Set { values, has_null } = &*cached {
                if v.is_null() {
                    return Ok(if values.is_empty() && !has_null {
                        Value::Bool(negated)
                    } else {
                        Value::Null
                    });
                }
                if values.contains(v) {
                    return Ok(Value::Bool(!negated));
                }
                return Ok(if *has_null {
                    Value::Null
                } else {
                    Value::Bool(negated)
                });
            }
        }
        let mut all = Vec::new();
        self.run_sub(sub, row, &mut |r| {
            all.push(r.into_iter().next().unwrap_or(Value::Null));
            Ok(true)
        })?;
        if v.is_null() && all.is_empty() {
            return Ok(Value::Bool(negated));
        }
        in_values(v, all.iter(), negated)
    }
}

/// A running operator.
pub trait Operator {
    fn next(&mut self, ctx: &mut ExecCtx) -> Result<Option<Row>>;
}

pub type Op<'p> = Box<dyn Operator + 'p>;

/// Runs a plan to completion.
pub fn collect(plan: &Plan, ctx: &mut ExecCtx) -> Result<Vec<Row>> {
    let mut op = build(plan)?;
    let mut rows = Vec::new();
    while let Some(r) = op.next(ctx)? {
        ctx.check()?;
        rows.push(r);
    }
    Ok(rows)
}

#[recursive::recursive]
pub fn build(plan: &Plan) -> Result<Op<'_>> {
    Ok(match plan {
        Plan::Values { rows, .. } => Box::new(ValuesOp { rows, pos: 0 }),
        Plan::Scan {
            table,
            access,
            filter,
            with_rowid,
            reverse,
        } => Box::new(ScanOp {
            table,
            access,
            filter: filter.as_ref(),
            with_rowid: *with_rowid,
            reverse: *reverse,
            range_pos: 0,
            ranges: None,
            current: None,
        }),
        Plan::Filter { input, predicate } => Box::new(FilterOp {
            input: build(input)?,
            predicate,
        }),
        Plan::Project { input, exprs } => Box::new(ProjectOp {
            input: build(input)?,
            exprs,
        }),
        Plan::NestedLoopJoin {
            left,
            right,
            kind,
            on,
        } => Box::new(JoinOp {
            left: build(left)?,
            right_plan: right,
            right_width: right.width(),
            left_width: left.width(),
            kind: *kind,
            on: on.as_ref(),
            keys: None,
            state: None,
        }),
        Plan::HashJoin {
            left,
            right,
            kind,
            left_keys,
            right_keys,
            residual,
        } => Box::new(JoinOp {
            left: build(left)?,
            right_plan: right,
            right_width: right.width(),
            left_width: left.width(),
            kind: *kind,
            on: residual.as_ref(),
            keys: Some((left_keys, right_keys)),
            state: None,
        }),
        Plan::Aggregate {
            input,
            group_by,
            aggs,
        } => Box::new(AggregateOp {
            input: build(input)?,
            group_by,
            aggs,
            output: None,
        }),
        Plan::Sort { input, keys } => Box::new(SortOp {
            input: build(input)?,
            keys,
            output: None,
        }),
        Plan::Limit { input, limit, offset } => Box::new(LimitOp {
            input: build(input)?,
            limit: *limit,
            offset: *offset,
            seen: 0,
        }),
        Plan::Distinct { input } => Box::new(DistinctOp {
            input: build(input)?,
            seen: HashSet::new(),
        }),
        Plan::DistinctOn { input, keys } => Box::new(DistinctOnOp {
            input: build(input)?,
            keys,
            seen: HashSet::new(),
        }),
        Plan::SetOp {
            kind,
            all,
            left,
            right,
        } => Box::new(SetOpOp {
            kind: *kind,
            all: *all,
            left: build(left)?,
            right: Some(build(right)?),
            counts: HashMap::new(),
            seen: HashSet::new(),
            on_right: false,
        }),
        Plan::Series { args } => Box::new(SeriesOp { args, state: None }),
        Plan::RecursiveUnion { id, all, init, step } => Box::new(RecursiveUnionOp {
            id: *id,
            all: *all,
            init: Some(build(init)?),
            step,
            seen: HashSet::new(),
            work: Vec::new(),
            pending: Vec::new().into_iter(),
        }),
        Plan::WorkTable { id, .. } => Box::new(WorkTableOp {
            id: *id,
            rows: None,
            pos: 0,
        }),
        Plan::Window { input, calls } => Box::new(crate::window::WindowOp {
            input: build(input)?,
            calls,
            output: None,
        }),
    })
}

struct ValuesOp<'p> {
    rows: &'p [Vec<Expr>],
    pos: usize,
}

impl Operator for ValuesOp<'_> {
    fn next(&mut self, ctx: &mut ExecCtx) -> Result<Option<Row>> {
        let Some(exprs) = self.rows.get(self.pos) else {
            return Ok(None);
        };
        self.pos += 1;
        exprs
            .iter()
            .map(|e| e.eval(&[], ctx))
            .collect::<Result<Row>>()
            .map(Some)
    }
}

struct ScanOp<'p> {
    table: &'p crate::catalog::Table,
    access: &'p Access,
    filter: Option<&'p Expr>,
    with_rowid: bool,
    reverse: bool,
    range_pos: usize,
    ranges: Option<Vec<Target>>,
    current: Option<TxnScan>,
}

/// What a [`ScanOp`] reads next: a range, or one exact primary key.
#[derive(Clone)]
enum Target {
    Range(quorumdb_storage::KeyRange),
    Key(Vec<u8>),
}

impl ScanOp<'_> {
    fn ranges(&self) -> Vec<Target> {
        let range = |r: &KeyRangeDesc| Target::Range((r.start.clone(), r.end.clone()));
        let target = |r: &KeyRangeDesc| match &r.start {
            Bound::Included(k) if r.exact => Target::Key(k.clone()),
            _ => range(r),
        };
        match self.access {
            Access::Full => {
                let p = keys::table_prefix(self.table.id);
                let end = quorumdb_storage::keycode::prefix_end(&p).map_or(Bound::Unbounded, Bound::Excluded);
                vec![Target::Range((Bound::Included(p), end))]
            }
            Access::PrimaryKey(r) => r.iter().map(target).collect(),
            Access::Index(_, r) => r.iter().map(range).collect(),
        }
    }

    fn decode(&self, value: &[u8]) -> Result<Row> {
        let mut row = keys::decode_row(value)?;
        if !self.with_rowid || !self.table.primary_key.is_empty() {
            row.truncate(self.table.columns.len());
        }
        Ok(row)
    }
}

impl Operator for ScanOp<'_> {
    fn next(&mut self, ctx: &mut ExecCtx) -> Result<Option<Row>> {
        loop {
            ctx.check()?;
            let (key, value) = match self.current.as_mut() {
                Some(scan) => match scan.next() {
                    Some(item) => item?,
                    None => {
                        self.current = None;
                        continue;
                    }
                },
                None => {
                    if self.ranges.is_none() {
                        self.ranges = Some(self.ranges());
                    }
                    let Some(target) = self.ranges.as_ref().and_then(|r| r.get(self.range_pos)).cloned()
                    else {
                        return Ok(None);
                    };
                    self.range_pos += 1;
                    match target {
                        Target::Key(key) => match ctx.txn.get(&key)? {
                            Some(value) => (key, value),
                            None => continue,
                        },
                        Target::Range(range) => {
                            let order = if self.reverse {
                                ScanOrder::Reverse
                            } else {
                                ScanOrder::Forward
                            };
                            self.current = Some(ctx.txn.scan(range, order));
                            continue;
                        }
                    }
                }
            };
            let row = match self.access {
                Access::Index(index, _) => {
                    let prefix_len = keys::index_prefix(index.id).len();
                    let pk = keys::decode_index_pk(&key, prefix_len, index.columns.len())?;
                    let Some(value) = ctx.txn.get(&keys::row_key(self.table.id, &pk))? else {
                        return Err(SqlError::internal(format!(
                            "index {} points at a missing row",
                            index.name
                        )));
                    };
                    self.decode(&value)?
                }
                _ => self.decode(&value)?,
            };
            if let Some(f) = self.filter
                && !f.eval(&row, ctx)?.is_true()
            {
                continue;
            }
            return Ok(Some(row));
        }
    }
}

struct FilterOp<'p> {
    input: Op<'p>,
    predicate: &'p Expr,
}

impl Operator for FilterOp<'_> {
    fn next(&mut self, ctx: &mut ExecCtx) -> Result<Option<Row>> {
        while let Some(row) = self.input.next(ctx)? {
            ctx.check()?;
            if self.predicate.eval(&row, ctx)?.is_true() {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }
}

struct ProjectOp<'p> {
    input: Op<'p>,
    exprs: &'p [Expr],
}

impl Operator for ProjectOp<'_> {
    fn next(&mut self, ctx: &mut ExecCtx) -> Result<Option<Row>> {
        let Some(row) = self.input.next(ctx)? else {
            return Ok(None);
        };
        self.exprs
            .iter()
            .map(|e| e.eval(&row, ctx))
            .collect::<Result<Row>>()
            .map(Some)
    }
}

/// Nested-loop and hash joins share this operator: the right side is
/// materialised (and hashed when there are equi-keys), the left streams.
struct JoinOp<'p> {
    left: Op<'p>,
    right_plan: &'p Plan,
    left_width: usize,
    right_width: usize,
    kind: JoinKind,
    on: Option<&'p Expr>,
    keys: Option<(&'p [Expr], &'p [Expr])>,
    state: Option<JoinState>,
}

struct JoinState {
    right: Vec<Row>,
    table: HashMap<Vec<Value>, Vec<usize>>,
    matched: Vec<bool>,
    pending: std::collections::VecDeque<Row>,
    left_done: bool,
    unmatched_pos: usize,
}

impl Operator for JoinOp<'_> {
    fn next(&mut self, ctx: &mut ExecCtx) -> Result<Option<Row>> {
        if self.state.is_none() {
            let right = collect(self.right_plan, ctx)?;
            let mut table: HashMap<Vec<Value>, Vec<usize>> = HashMap::new();
            if let Some((_, rk)) = self.keys {
                for (i, row) in right.iter().enumerate() {
                    ctx.check()?;
                    let k = rk.iter().map(|e| e.eval(row, ctx)).collect::<Result<Vec<_>>>()?;
                    if k.iter().any(Value::is_null) {
                        continue;
                    }
                    table.entry(k).or_default().push(i);
                }
            }
            let matched = vec![false; right.len()];
            self.state = Some(JoinState {
                right,
                table,
                matched,
                pending: Default::default(),
                left_done: false,
                unmatched_pos: 0,
            });
        }
        loop {
            ctx.check()?;
            let Some(state) = self.state.as_mut() else {
                return Ok(None);
            };
            if let Some(r) = state.pending.pop_front() {
                return Ok(Some(r));
            }
            if state.left_done {
                // RIGHT/FULL: right rows that never matched, null-extended.
                while state.unmatched_pos < state.right.len() {
                    ctx.check()?;
                    let i = state.unmatched_pos;
                    state.unmatched_pos += 1;
                    if !state.matched[i] {
                        let mut row = vec![Value::Null; self.left_width];
                        row.extend(state.right[i].iter().cloned());
                        return Ok(Some(row));
                    }
                }
                return Ok(None);
            }
            let Some(lrow) = self.left.next(ctx)? else {
                if let Some(s) = self.state.as_mut() {
                    s.left_done = true;
                    if !matches!(self.kind, JoinKind::Right | JoinKind::Full) {
                        s.unmatched_pos = s.right.len();
                    }
                }
                continue;
            };
            let candidates: Vec<usize> = match self.keys {
                Some((lk, _)) => {
                    let k = lk
                        .iter()
                        .map(|e| e.eval(&lrow, ctx))
                        .collect::<Result<Vec<_>>>()?;
                    let state = self
                        .state
                        .as_ref()
                        .ok_or_else(|| SqlError::internal("join state"))?;
                    if k.iter().any(Value::is_null) {
                        vec![]
                    } else {
                        state.table.get(&k).cloned().unwrap_or_default()
                    }
                }
                None => (0..self.state.as_ref().map_or(0, |s| s.right.len())).collect(),
            };
            let mut any = false;
            // One buffer for the candidate rows; cloned only on a match.
            let mut row = Vec::with_capacity(self.left_width + self.right_width);
            for i in candidates {
                ctx.check()?;
                row.clear();
                row.extend_from_slice(&lrow);
                if let Some(s) = self.state.as_ref() {
                    row.extend_from_slice(&s.right[i]);
                }
                if let Some(on) = self.on
                    && !on.eval(&row, ctx)?.is_true()
                {
                    continue;
                }
                any = true;
                if let Some(s) = self.state.as_mut() {
                    s.matched[i] = true;
                    s.pending.push_back(row.clone());
                }
            }
            if !any && matches!(self.kind, JoinKind::Left | JoinKind::Full) {
                let mut row = lrow;
                row.extend(std::iter::repeat_n(Value::Null, self.right_width));
                if let Some(s) = self.state.as_mut() {
                    s.pending.push_back(row);
                }
            }
        }
    }
}

/// One aggregate's running state.
pub(crate) struct Acc {
    call_func: AggFunc,
    distinct: Option<HashSet<Vec<Value>>>,
    count: i64,
    value: Value,
    sum_f: f64,
    text: Option<String>,
}

impl Acc {
    pub(crate) fn new(call: &AggCall) -> Acc {
        Acc {
            call_func: call.func,
            distinct: call.distinct.then(HashSet::new),
            count: 0,
            value: Value::Null,
            sum_f: 0.0,
            text: None,
        }
    }

    pub(crate) fn add(&mut self, args: Vec<Value>) -> Result<()> {
        use crate::expr::{BinOp, binary};
        if self.call_func == AggFunc::CountStar {
            self.count += 1;
            return Ok(());
        }
        let v = args.first().cloned().unwrap_or(Value::Null);
        if v.is_null() {
            return Ok(());
        }
        if let Some(seen) = self.distinct.as_mut()
            && !seen.insert(args.clone())
        {
            return Ok(());
        }
        self.count += 1;
        match self.call_func {
            AggFunc::Count | AggFunc::CountStar => {}
            AggFunc::Sum | AggFunc::Avg | AggFunc::Total => {
                self.value = if self.value.is_null() {
                    v.clone()
                } else {
                    binary(BinOp::Add, &self.value, &v)?
                };
                if let Value::Int(i) = v {
                    self.sum_f += i as f64;
                } else if let Value::Float(f) = v {
                    self.sum_f += f;
                } else if let Value::Numeric(d) = v {
                    self.sum_f += d.to_f64();
                }
            }
            AggFunc::Min => {
                if self.value.is_null() || v.sort_cmp(&self.value) == std::cmp::Ordering::Less {
                    self.value = v;
                }
            }
            AggFunc::Max => {
                if self.value.is_null() || v.sort_cmp(&self.value) == std::cmp::Ordering::Greater {
                    self.value = v;
                }
            }
            AggFunc::BoolAnd => {
                let b = v.is_true();
                self.value = Value::Bool(if self.value.is_null() {
                    b
                } else {
                    self.value.is_true() && b
                });
            }
            AggFunc::BoolOr => {
                let b = v.is_true();
                self.value = Value::Bool(self.value.is_true() || b);
            }
            AggFunc::StringAgg => {
                let sep = args.get(1).and_then(Value::to_text).unwrap_or_default();
                let s = v.to_text().unwrap_or_default();
                self.text = Some(match self.text.take() {
                    None => s,
                    Some(t) => format!("{t}{sep}{s}"),
                });
            }
        }
        Ok(())
    }

    /// The aggregate's value over the rows added so far.
    pub(crate) fn finish(&self) -> Value {
        match self.call_func {
            AggFunc::Count | AggFunc::CountStar => Value::Int(self.count),
            AggFunc::Avg => {
                use crate::numeric::Decimal;
                let n = Decimal::from_i64(self.count);
                match &self.value {
                    _ if self.count == 0 => Value::Null,
                    // PostgreSQL: avg of integers and numerics is numeric.
                    Value::Int(i) => Decimal::from_i64(*i).div(&n).map_or(Value::Null, Value::Numeric),
                    Value::Numeric(d) => d.div(&n).map_or(Value::Null, Value::Numeric),
                    Value::Float(f) => Value::Float(*f / self.count as f64),
                    Value::Interval(iv) => iv.div(self.count as f64).map_or(Value::Null, Value::Interval),
                    _ => Value::Float(self.sum_f / self.count as f64),
                }
            }
            AggFunc::Total => Value::Float(self.sum_f),
            AggFunc::StringAgg => self.text.clone().map_or(Value::Null, Value::Text),
            _ => self.value.clone(),
        }
    }
}

struct AggregateOp<'p> {
    input: Op<'p>,
    group_by: &'p [Expr],
    aggs: &'p [AggCall],
    output: Option<std::vec::IntoIter<Row>>,
}

impl Operator for AggregateOp<'_> {
    fn next(&mut self, ctx: &mut ExecCtx) -> Result<Option<Row>> {
        if self.output.is_none() {
            let mut index: HashMap<Vec<Value>, usize> = HashMap::new();
            let mut groups: Vec<(Vec<Value>, Vec<Acc>)> = Vec::new();
            while let Some(row) = self.input.next(ctx)? {
                ctx.check()?;
                let key = self
                    .group_by
                    .iter()
                    .map(|e| e.eval(&row, ctx))
                    .collect::<Result<Vec<_>>>()?;
                let gi = match index.get(&key) {
                    Some(i) => *i,
                    None => {
                        groups.push((key.clone(), self.aggs.iter().map(Acc::new).collect()));
                        index.insert(key, groups.len() - 1);
                        groups.len() - 1
                    }
                };
                for (call, acc) in self.aggs.iter().zip(groups[gi].1.iter_mut()) {
                    if let Some(filter) = &call.filter
                        && !filter.eval(&row, ctx)?.is_true()
                    {
                        continue;
                    }
                    let args = call
                        .args
                        .iter()
                        .map(|e| e.eval(&row, ctx))
                        .collect::<Result<Vec<_>>>()?;
                    acc.add(args)?;
                }
            }
            if groups.is_empty() && self.group_by.is_empty() {
                groups.push((vec![], self.aggs.iter().map(Acc::new).collect()));
            }
            let rows: Vec<Row> = groups
                .into_iter()
                .map(|(mut key, accs)| {
                    key.extend(accs.iter().map(Acc::finish));
                    key
                })
                .collect();
            self.output = Some(rows.into_iter());
        }
        Ok(self.output.as_mut().and_then(Iterator::next))
    }
}

/// Compares two rows' evaluated sort keys under `keys` (direction, NULLS
/// FIRST/LAST).
pub(crate) fn cmp_sort_keys(a: &[Value], b: &[Value], keys: &[SortKey]) -> std::cmp::Ordering {
    for (i, k) in keys.iter().enumerate() {
        let (x, y) = (&a[i], &b[i]);
        let ord = match (x.is_null(), y.is_null()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => {
                if k.nulls_first {
                    std::cmp::Ordering::Less
                } else {
                    std::cmp::Ordering::Greater
                }
            }
            (false, true) => {
                if k.nulls_first {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Less
                }
            }
            _ => {
                let o = x.sort_cmp(y);
                if k.desc { o.reverse() } else { o }
            }
        };
        if ord != std::cmp::Ordering::Equal {
            return ord;
        }
    }
    std::cmp::Ordering::Equal
}

struct SortOp<'p> {
    input: Op<'p>,
    keys: &'p [SortKey],
    output: Option<std::vec::IntoIter<Row>>,
}

impl Operator for SortOp<'_> {
    fn next(&mut self, ctx: &mut ExecCtx) -> Result<Option<Row>> {
        if self.output.is_none() {
            let mut rows: Vec<(Vec<Value>, Row)> = Vec::new();
            while let Some(row) = self.input.next(ctx)? {
                ctx.check()?;
                let k = self
                    .keys
                    .iter()
                    .map(|k| k.expr.eval(&row, ctx))
                    .collect::<Result<Vec<_>>>()?;
                rows.push((k, row));
            }
            let keys = self.keys;
            rows.sort_by(|(a, _), (b, _)| cmp_sort_keys(a, b, keys));
            self.output = Some(rows.into_iter().map(|(_, r)| r).collect::<Vec<_>>().into_iter());
        }
        Ok(self.output.as_mut().and_then(Iterator::next))
    }
}

struct LimitOp<'p> {
    input: Op<'p>,
    limit: Option<u64>,
    offset: u64,
    seen: u64,
}

impl Operator for LimitOp<'_> {
    fn next(&mut self, ctx: &mut ExecCtx) -> Result<Option<Row>> {
        while self.offset > 0 {
            if self.input.next(ctx)?.is_none() {
                return Ok(None);
            }
            self.offset -= 1;
        }
        if self.limit.is_some_and(|l| self.seen >= l) {
            return Ok(None);
        }
        self.seen += 1;
        self.input.next(ctx)
    }
}

struct DistinctOp<'p> {
    input: Op<'p>,
    seen: HashSet<Row>,
}

impl Operator for DistinctOp<'_> {
    fn next(&mut self, ctx: &mut ExecCtx) -> Result<Option<Row>> {
        while let Some(row) = self.input.next(ctx)? {
            ctx.check()?;
            if self.seen.insert(row.clone()) {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }
}

/// Keeps the first row of each set of rows equal on `keys` (NULLs equal,
/// as for DISTINCT).
struct DistinctOnOp<'p> {
    input: Op<'p>,
    keys: &'p [usize],
    seen: HashSet<Row>,
}

impl Operator for DistinctOnOp<'_> {
    fn next(&mut self, ctx: &mut ExecCtx) -> Result<Option<Row>> {
        while let Some(row) = self.input.next(ctx)? {
            ctx.check()?;
            let key: Row = self
                .keys
                .iter()
                .map(|&k| row.get(k).cloned().unwrap_or(Value::Null))
                .collect();
            if self.seen.insert(key) {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }
}

/// WITH RECURSIVE, evaluated as PostgreSQL does: the non-recursive term's
/// rows, then rounds of the recursive term, each reading the rows the
/// previous round produced (the working table) and producing the next,
/// until a round produces nothing. Each round is run to completion in one
/// call, with its working table installed in the context under `id` and
/// removed after, so two uses of one CTE never see each other's table.
/// Rounds are iterations, never recursion (no stack growth); every row
/// and every round checks the interrupt, so a query that recurses without
/// end runs until it is cancelled, as in PostgreSQL.
struct RecursiveUnionOp<'p> {
    id: usize,
    all: bool,
    init: Option<Op<'p>>,
    step: &'p Plan,
    /// Without `all`: every row produced so far.
    seen: HashSet<Row>,
    /// The rows the current round has produced (the next working table).
    work: Vec<Row>,
    /// Rows of the last round not yet returned.
    pending: std::vec::IntoIter<Row>,
}

impl RecursiveUnionOp<'_> {
    fn keep(&mut self, row: &Row) -> bool {
        self.all || self.seen.insert(row.clone())
    }

    /// Runs one round over `work`, returning the rows it keeps.
    fn round(&mut self, work: Vec<Row>, ctx: &mut ExecCtx) -> Result<Vec<Row>> {
        let previous = ctx.work_tables.insert(self.id, Rc::new(work));
        let result = (|| {
            let mut op = build(self.step)?;
            let mut out = Vec::new();
            while let Some(row) = op.next(ctx)? {
                ctx.check()?;
                if self.keep(&row) {
                    out.push(row);
                }
            }
            Ok(out)
        })();
        match previous {
            Some(p) => ctx.work_tables.insert(self.id, p),
            None => ctx.work_tables.remove(&self.id),
        };
        result
    }
}

impl Operator for RecursiveUnionOp<'_> {
    fn next(&mut self, ctx: &mut ExecCtx) -> Result<Option<Row>> {
        loop {
            ctx.check()?;
            if let Some(init) = self.init.as_mut() {
                match init.next(ctx)? {
                    Some(row) => {
                        if self.keep(&row) {
                            self.work.push(row.clone());
                            return Ok(Some(row));
                        }
                    }
                    None => self.init = None,
                }
                continue;
            }
            if let Some(row) = self.pending.next() {
                return Ok(Some(row));
            }
            if self.work.is_empty() {
                return Ok(None);
            }
            let work = std::mem::take(&mut self.work);
            let out = self.round(work, ctx)?;
            self.work = out.clone();
            self.pending = out.into_iter();
        }
    }
}

/// Reads the working table of a [`RecursiveUnionOp`] round.
struct WorkTableOp {
    id: usize,
    rows: Option<Rc<Vec<Row>>>,
    pos: usize,
}

impl Operator for WorkTableOp {
    fn next(&mut self, ctx: &mut ExecCtx) -> Result<Option<Row>> {
        if self.rows.is_none() {
            let rows =
                ctx.work_tables.get(&self.id).cloned().ok_or_else(|| {
                    SqlError::internal("recursive CTE working table read outside its query")
                })?;
            self.rows = Some(rows);
        }
        let row = self.rows.as_ref().and_then(|r| r.get(self.pos).cloned());
        self.pos += 1;
        Ok(row)
    }
}

struct SetOpOp<'p> {
    kind: SetOpKind,
    all: bool,
    left: Op<'p>,
    right: Option<Op<'p>>,
    counts: HashMap<Row, usize>,
    seen: HashSet<Row>,
    on_right: bool,
}

impl Operator for SetOpOp<'_> {
    fn next(&mut self, ctx: &mut ExecCtx) -> Result<Option<Row>> {
        match self.kind {
            SetOpKind::Union => loop {
                ctx.check()?;
                let row = if self.on_right {
                    match self.right.as_mut() {
                        Some(r) => r.next(ctx)?,
                        None => None,
                    }
                } else {
                    let r = self.left.next(ctx)?;
                    if r.is_none() {
                        self.on_right = true;
                        continue;
                    }
                    r
                };
                let Some(row) = row else { return Ok(None) };
                if self.all || self.seen.insert(row.clone()) {
                    return Ok(Some(row));
                }
            },
            SetOpKind::Intersect | SetOpKind::Except => {
                if let Some(mut right) = self.right.take() {
                    while let Some(row) = right.next(ctx)? {
                        ctx.check()?;
                        *self.counts.entry(row).or_default() += 1;
                    }
                }
                while let Some(row) = self.left.next(ctx)? {
                    ctx.check()?;
                    let c = self.counts.get(&row).copied().unwrap_or(0);
                    let emit = match (self.kind, self.all) {
                        (SetOpKind::Intersect, true) => {
                            if c > 0 {
                                self.counts.insert(row.clone(), c - 1);
                            }
                            c > 0
                        }
                        (SetOpKind::Intersect, false) => c > 0 && self.seen.insert(row.clone()),
                        (_, true) => {
                            if c > 0 {
                                self.counts.insert(row.clone(), c - 1);
                            }
                            c == 0
                        }
                        (_, false) => c == 0 && self.seen.insert(row.clone()),
                    };
                    if emit {
                        return Ok(Some(row));
                    }
                }
                Ok(None)
            }
        }
    }
}

struct SeriesOp<'p> {
    args: &'p [Expr],
    state: Option<(i64, i64, i64)>,
}

impl Operator for SeriesOp<'_> {
    fn next(&mut self, ctx: &mut ExecCtx) -> Result<Option<Row>> {
        if self.state.is_none() {
            let mut v = Vec::new();
            for a in self.args {
                match a.eval(&[], ctx)? {
                    Value::Int(i) => v.push(i),
                    Value::Null => return Ok(None),
                    _ => return Err(SqlError::unsupported("generate_series over non-integers")),
                }
            }
            let step = v.get(2).copied().unwrap_or(1);
            if step == 0 {
                return Err(SqlError::new(
                    codes::INVALID_PARAMETER_VALUE,
                    "step size cannot equal zero",
                ));
            }
            self.state = Some((
                v.first().copied().unwrap_or(0),
                v.get(1).copied().unwrap_or(0),
                step,
            ));
        }
        ctx.check()?;
        let Some((cur, stop, step)) = self.state.as_mut() else {
            return Ok(None);
        };
        if (*step > 0 && *cur > *stop) || (*step < 0 && *cur < *stop) {
            return Ok(None);
        }
        let v = *cur;
        match cur.checked_add(*step) {
            Some(n) => *cur = n,
            None => *stop = if *step > 0 { i64::MIN } else { i64::MAX },
        }
        Ok(Some(vec![Value::Int(v)]))
    }
}
