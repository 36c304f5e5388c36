//! Plan optimisation: constant folding, predicate push-down, access-path
//! (index) selection and join ordering.
//!
//! Join planning works on a *group* of relations joined by inner/cross/comma
//! joins plus the conjuncts of WHERE and ON. Conjuncts on one relation are
//! pushed into it (for a table: into the scan, where they select an index).
//! The join order is greedy: start from the relation with the smallest
//! estimated size, then repeatedly add a relation connected to the joined
//! set by an equality (hash join on all such equalities), falling back to a
//! cross product only when nothing is connected. Every other conjunct is
//! applied as soon as all its columns are available. This keeps chains and
//! stars of equi-joins (select5.test joins up to 64 tables) linear.
//!
//! Limits: no statistics (estimates come from the access path only); outer
//! joins are not reordered; conjuncts with correlated subqueries run after
//! all joins, against the layout they were bound to.

use std::ops::Bound;
use std::sync::Arc;

use quorumdb_storage::keycode::{self, Direction};

use crate::catalog::{Index, Table};
use crate::exec::ExecCtx;
use crate::expr::{BinOp, Expr};
use crate::keys;
use crate::plan::{Access, JoinKind, KeyRangeDesc, Plan, RangeShown};
use crate::types::{DataType, Value};

/// Folds constant subexpressions. An error while folding leaves the
/// subexpression as it is, so it is raised only if it is evaluated.
#[recursive::recursive]
pub fn fold(e: Expr, ctx: &mut ExecCtx) -> Expr {
    let is_const = |e: &Expr| {
        !e.any(&|x| {
            matches!(
                x,
                Expr::Column(_)
                    | Expr::Outer { .. }
                    | Expr::Agg(_)
                    | Expr::Window(_)
                    | Expr::InSubquery { .. }
                    | Expr::Exists { .. }
                    | Expr::ScalarSubquery(_)
                    | Expr::Sequence { .. }
            ) || matches!(x, Expr::Func(f, _) if f.is_volatile())
        })
    };
    if matches!(e, Expr::Literal(_)) {
        return e;
    }
    if is_const(&e) {
        if let Ok(v) = e.eval(&[], ctx) {
            return Expr::Literal(v);
        }
        return e;
    }
    e.map_children(&mut |c| Ok(fold(c, ctx)))
        .unwrap_or(Expr::Literal(Value::Null))
}

/// A relation of a join group: its plan and its position in the group's
/// column layout.
pub struct Leaf {
    pub plan: Plan,
    pub start: usize,
    pub width: usize,
}

fn estimate(plan: &Plan) -> u64 {
    match plan {
        Plan::Scan { access, filter, .. } => match access {
            Access::PrimaryKey(r) => r.len() as u64 * 2,
            Access::Index(i, r) => r.len() as u64 * if i.unique { 2 } else { 20 },
            Access::Full => {
                if filter.is_some() {
                    500
                } else {
                    1000
                }
            }
        },
        Plan::Filter { input, .. } => estimate(input) / 2 + 1,
        Plan::Values { rows, .. } => rows.len() as u64,
        _ => 1000,
    }
}

fn cols(e: &Expr) -> Vec<usize> {
    let mut v = Vec::new();
    e.columns(&mut v);
    v
}

/// Pushes `pred` (in the leaf's own layout) into the leaf.
fn push_into(plan: Plan, pred: Expr) -> Plan {
    match plan {
        Plan::Scan {
            table,
            filter,
            with_rowid,
            reverse,
            ..
        } => {
            let filter = match filter {
                Some(f) => Expr::binary(BinOp::And, f, pred),
                None => pred,
            };
            let access = choose_access(&table, &filter);
            Plan::Scan {
                table,
                access,
                filter: Some(filter),
                with_rowid,
                reverse,
            }
        }
        p => p.filter(pred),
    }
}

/// Plans a join group. The output has the group's layout: the leaves'
/// columns in leaf order (`leaves[i].start` relative to `base`).
pub fn plan_join_group(leaves: Vec<Leaf>, conjuncts: Vec<Expr>, base: usize) -> Plan {
    let width: usize = leaves.iter().map(|l| l.width).sum();
    let mut late = Vec::new();
    let mut pending = Vec::new();
    let mut leaves: Vec<Option<Leaf>> = leaves.into_iter().map(Some).collect();
    for c in conjuncts {
        let cs = cols(&c);
        if c.has_correlated_subquery() || cs.is_empty() {
            late.push(c);
            continue;
        }
        let owner = leaves.iter().position(|l| {
            l.as_ref()
                .is_some_and(|l| cs.iter().all(|&i| i >= l.start && i < l.start + l.width))
        });
        match owner.and_then(|o| leaves[o].as_mut().map(|l| (o, l))) {
            Some((_, leaf)) => {
                let start = leaf.start;
                let pred = c.remap(&|i| i - start);
                let plan = std::mem::replace(
                    &mut leaf.plan,
                    Plan::Values {
                        rows: vec![],
                        width: 0,
                    },
                );
                leaf.plan = push_into(plan, pred);
            }
            None => pending.push(c),
        }
    }

    // Greedy join order.
    let first = (0..leaves.len())
        .min_by_key(|&i| leaves[i].as_ref().map_or(u64::MAX, |l| estimate(&l.plan)))
        .unwrap_or(0);
    let Some(first_leaf) = leaves.get_mut(first).and_then(Option::take) else {
        return Plan::Values {
            rows: vec![vec![]],
            width: 0,
        };
    };
    let mut layout: Vec<usize> = (first_leaf.start..first_leaf.start + first_leaf.width).collect();
    let mut current = first_leaf.plan;
    loop {
        let remaining: Vec<usize> = (0..leaves.len()).filter(|&i| leaves[i].is_some()).collect();
        if remaining.is_empty() {
            break;
        }
        let in_layout = |layout: &[usize], e: &Expr| cols(e).iter().all(|c| layout.contains(c));
        let in_leaf = |l: &Leaf, e: &Expr| {
            let cs = cols(e);
            !cs.is_empty() && cs.iter().all(|&c| c >= l.start && c < l.start + l.width)
        };
        let connects = |l: &Leaf, e: &Expr, layout: &[usize]| -> bool {
            if let Expr::Binary(BinOp::Eq, a, b) = e {
                (in_layout(layout, a) && !cols(a).is_empty() && in_leaf(l, b))
                    || (in_layout(layout, b) && !cols(b).is_empty() && in_leaf(l, a))
            } else {
                false
            }
        };
        let pick = remaining
            .iter()
            .copied()
            .filter(|&i| {
                leaves[i]
                    .as_ref()
                    .is_some_and(|l| pending.iter().any(|c| connects(l, c, &layout)))
            })
            .min_by_key(|&i| leaves[i].as_ref().map_or(u64::MAX, |l| estimate(&l.plan)))
            .or_else(|| {
                remaining
                    .iter()
                    .copied()
                    .min_by_key(|&i| leaves[i].as_ref().map_or(u64::MAX, |l| estimate(&l.plan)))
            });
        let Some(leaf) = pick.and_then(|i| leaves[i].take()) else {
            break;
        };
        let mut left_keys = Vec::new();
        let mut right_keys = Vec::new();
        let mut residual = Vec::new();
        let mut new_layout = layout.clone();
        new_layout.extend(leaf.start..leaf.start + leaf.width);
        let pos_in = |lay: &[usize], g: usize| lay.iter().position(|&x| x == g).unwrap_or(0);
        let leaf_start = leaf.start;
        let mut still = Vec::new();
        for c in pending.drain(..) {
            if connects(&leaf, &c, &layout) {
                if let Expr::Binary(BinOp::Eq, a, b) = c {
                    let (l, r) = if in_layout(&layout, &a) {
                        (*a, *b)
                    } else {
                        (*b, *a)
                    };
                    left_keys.push(l.remap(&|g| pos_in(&layout, g)));
                    right_keys.push(r.remap(&|g| g - leaf_start));
                }
            } else if in_layout(&new_layout, &c) {
                residual.push(c.remap(&|g| pos_in(&new_layout, g)));
            } else {
                still.push(c);
            }
        }
        pending = still;
        let residual = if residual.is_empty() {
            None
        } else {
            Some(Expr::and_all(residual))
        };
        current = if left_keys.is_empty() {
            Plan::NestedLoopJoin {
                left: Box::new(current),
                right: Box::new(leaf.plan),
                kind: JoinKind::Inner,
                on: residual,
            }
        } else {
            Plan::HashJoin {
                left: Box::new(current),
                right: Box::new(leaf.plan),
                kind: JoinKind::Inner,
                left_keys,
                right_keys,
                residual,
            }
        };
        layout = new_layout;
    }
    // Restore the group layout.
    let identity = layout.iter().enumerate().all(|(i, &g)| g == base + i);
    if !identity {
        let exprs = (base..base + width)
            .map(|g| Expr::Column(layout.iter().position(|&x| x == g).unwrap_or(0)))
            .collect();
        current = Plan::Project {
            input: Box::new(current),
            exprs,
        };
    }
    for c in pending {
        late.push(c);
    }
    if late.is_empty() {
        current
    } else {
        current.filter(Expr::and_all(
            late.into_iter().map(|c| c.remap(&|g| g - base)).collect(),
        ))
    }
}

/// A constant usable as a key bound for a column of type `ty`, if the
/// comparison semantics and the key order agree.
fn key_constant(e: &Expr, ty: DataType) -> Option<Value> {
    let Expr::Literal(v) = e else { return None };
    match (v, ty) {
        (Value::Int(_), t) if t.is_integer() => Some(v.clone()),
        (Value::Float(f), t) if t.is_integer() && f.fract() == 0.0 && f.abs() < 9.0e18 => {
            Some(Value::Int(*f as i64))
        }
        (Value::Int(i), t) if t.is_float() => Some(Value::Float(*i as f64)),
        (Value::Float(_), t) if t.is_float() => Some(v.clone()),
        (Value::Text(_), DataType::Text(_)) => Some(v.clone()),
        (Value::Bool(_), DataType::Bool) => Some(v.clone()),
        (Value::Date(_), DataType::Date)
        | (Value::Timestamp(_), DataType::Timestamp | DataType::TimestampTz) => Some(v.clone()),
        (Value::Bytes(_), DataType::Bytea) | (Value::Uuid(_), DataType::Uuid) => Some(v.clone()),
        (Value::Numeric(_), DataType::Numeric(_)) => Some(v.clone()),
        (Value::Int(i), DataType::Numeric(_)) => Some(Value::Numeric(crate::numeric::Decimal::from_i64(*i))),
        (Value::Numeric(d), t) if t.is_integer() && d.floor_ceil(false).ok() == Some(*d) => {
            d.to_i64().ok().map(Value::Int)
        }
        (Value::Numeric(d), t) if t.is_float() => Some(Value::Float(d.to_f64())),
        (
            Value::Text(_),
            DataType::Date | DataType::Timestamp | DataType::TimestampTz | DataType::Bytea | DataType::Uuid,
        ) => v.cast(ty).ok(),
        // An untyped string against a number (how drivers that send no
        // parameter types bind `$1`): the filter compares numerically, so
        // the key may use the number when that comparison is exact: an
        // integer of at most 2^53 in magnitude.
        (Value::Text(s), t) if t.is_integer() || t.is_float() => {
            let i = s
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|i| i.unsigned_abs() <= 1 << 53)?;
            key_constant(&Expr::Literal(Value::Int(i)), ty)
        }
        _ => None,
    }
}

#[derive(Default, Clone)]
struct ColumnBounds {
    eq: Option<Vec<Value>>,
    lower: Option<(Value, bool)>,
    upper: Option<(Value, bool)>,
}

/// Collects equality/IN/range constraints on column `col` from conjuncts.
fn bounds_for(conjuncts: &[Expr], col: usize, ty: DataType) -> ColumnBounds {
    let mut b = ColumnBounds::default();
    for c in conjuncts {
        match c {
            Expr::Binary(op, l, r) if op.is_comparison() && *op != BinOp::NotEq => {
                let (op, k) = match (&**l, &**r) {
                    (Expr::Column(i), k) if *i == col => (*op, k),
                    (k, Expr::Column(i)) if *i == col => (op.flip(), k),
                    _ => continue,
                };
                let Some(v) = key_constant(k, ty) else { continue };
                match op {
                    BinOp::Eq => b.eq = Some(vec![v]),
                    BinOp::Gt => b.lower = Some((v, false)),
                    BinOp::GtEq => b.lower = Some((v, true)),
                    BinOp::Lt => b.upper = Some((v, false)),
                    BinOp::LtEq => b.upper = Some((v, true)),
                    _ => {}
                }
            }
            Expr::InList {
                expr,
                list,
                negated: false,
            } if **expr == Expr::Column(col) => {
                let vals: Option<Vec<Value>> = list
                    .iter()
                    .filter(|e| !matches!(e, Expr::Literal(Value::Null)))
                    .map(|e| key_constant(e, ty))
                    .collect();
                if let Some(mut vals) = vals
                    && b.eq.is_none()
                {
                    vals.sort_by(|a, b| a.sort_cmp(b));
                    vals.dedup();
                    b.eq = Some(vals);
                }
            }
            Expr::Between {
                expr,
                low,
                high,
                negated: false,
            } if **expr == Expr::Column(col) => {
                if let Some(v) = key_constant(low, ty) {
                    b.lower = Some((v, true));
                }
                if let Some(v) = key_constant(high, ty) {
                    b.upper = Some((v, true));
                }
            }
            _ => {}
        }
    }
    b
}

/// Picks the access path for a scan of `table` filtered by `filter`.
pub fn choose_access(table: &Table, filter: &Expr) -> Access {
    let conjuncts = filter.clone().conjuncts();
    let mut best: Option<(u32, Access)> = None;
    type Candidate<'a> = (Option<&'a Index>, Vec<usize>, Vec<Direction>, bool);
    let mut candidates: Vec<Candidate> = Vec::new();
    if !table.primary_key.is_empty() {
        candidates.push((None, table.primary_key.clone(), vec![], true));
    }
    for idx in &table.indexes {
        candidates.push((Some(idx), idx.columns.clone(), idx.directions(), idx.unique));
    }
    for (index, columns, dirs, unique) in candidates {
        let mut prefixes: Vec<Vec<Value>> = vec![vec![]];
        let mut range: Option<ColumnBounds> = None;
        let mut eq_cols = 0;
        for &c in &columns {
            let ty = table.columns.get(c).map_or(DataType::Unknown, |c| c.ty);
            let b = bounds_for(&conjuncts, c, ty);
            if let Some(eq) = b.eq {
                if prefixes.len() * eq.len() > 2000 {
                    break;
                }
                prefixes = prefixes
                    .iter()
                    .flat_map(|p| {
                        eq.iter().map(move |v| {
                            let mut p = p.clone();
                            p.push(v.clone());
                            p
                        })
                    })
                    .collect();
                eq_cols += 1;
                continue;
            }
            if b.lower.is_some() || b.upper.is_some() {
                range = Some(b);
            }
            break;
        }
        if eq_cols == 0 && range.is_none() {
            continue;
        }
        let score = if eq_cols == columns.len() && unique {
            100
        } else {
            eq_cols as u32 * 10 + u32::from(range.is_some()) * 5 + u32::from(index.is_none())
        };
        let id_prefix = match index {
            Some(i) => keys::index_prefix(i.id),
            None => keys::table_prefix(table.id),
        };
        let mut ranges = Vec::new();
        for p in &prefixes {
            let mut k = id_prefix.clone();
            keys::append_values(&mut k, p, &dirs);
            match &range {
                None => {
                    let end = keycode::prefix_end(&k).map_or(Bound::Unbounded, Bound::Excluded);
                    ranges.push(KeyRangeDesc {
                        start: Bound::Included(k),
                        end,
                        shown: RangeShown {
                            prefix: p.clone(),
                            lower: None,
                            upper: None,
                        },
                        exact: index.is_none() && eq_cols == columns.len(),
                    });
                }
                Some(b) => {
                    let dir = dirs.get(p.len()).copied().unwrap_or(Direction::Asc);
                    let (lo, hi) = if dir == Direction::Desc {
                        (b.upper.clone(), b.lower.clone())
                    } else {
                        (b.lower.clone(), b.upper.clone())
                    };
                    let enc = |v: &Value| {
                        let mut x = k.clone();
                        keys::append_values(&mut x, std::slice::from_ref(v), &[dir]);
                        x
                    };
                    let after =
                        |x: Vec<u8>| keycode::prefix_end(&x).map_or(Bound::Unbounded, Bound::Included);
                    let start = match &lo {
                        None => Bound::Included(k.clone()),
                        Some((v, true)) => Bound::Included(enc(v)),
                        Some((v, false)) => after(enc(v)),
                    };
                    let end = match &hi {
                        None => keycode::prefix_end(&k).map_or(Bound::Unbounded, Bound::Excluded),
                        Some((v, true)) => {
                            keycode::prefix_end(&enc(v)).map_or(Bound::Unbounded, Bound::Excluded)
                        }
                        Some((v, false)) => Bound::Excluded(enc(v)),
                    };
                    // Ranges never include NULL keys: NULL sorts last (first
                    // when descending) and the filter re-checks every row.
                    ranges.push(KeyRangeDesc {
                        start,
                        end,
                        shown: RangeShown {
                            prefix: p.clone(),
                            lower: b.lower.clone(),
                            upper: b.upper.clone(),
                        },
                        exact: false,
                    });
                }
            }
        }
        let access = match index {
            Some(i) => Access::Index(i.clone(), ranges),
            None => Access::PrimaryKey(ranges),
        };
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, access));
        }
    }
    best.map_or(Access::Full, |(_, a)| a)
}

/// A full scan of a table, filtered later.
pub fn scan(table: Arc<Table>, with_rowid: bool) -> Plan {
    Plan::Scan {
        table,
        access: Access::Full,
        filter: None,
        with_rowid,
        reverse: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Column;

    fn table() -> Table {
        let col = |n: &str| Column {
            name: n.into(),
            ty: DataType::Int4,
            nullable: true,
            default: None,
        };
        Table {
            id: 1,
            name: "t".into(),
            columns: vec![col("a"), col("b"), col("c")],
            primary_key: vec![0],
            indexes: vec![Index {
                id: 2,
                name: "t_bc".into(),
                columns: vec![1, 2],
                desc: vec![false, true],
                unique: false,
            }],
            checks: vec![],
            foreign_keys: vec![],
            referenced_by: vec![],
        }
    }

    fn eq(col: usize, v: i64) -> Expr {
        Expr::binary(BinOp::Eq, Expr::Column(col), Expr::Literal(Value::Int(v)))
    }

    #[test]
    fn picks_primary_key_points_and_index_prefixes() {
        let t = table();
        assert!(matches!(choose_access(&t, &eq(0, 3)), Access::PrimaryKey(r) if r.len() == 1));
        let in_list = Expr::InList {
            expr: Box::new(Expr::Column(0)),
            list: vec![
                Expr::Literal(Value::Int(1)),
                Expr::Literal(Value::Int(2)),
                Expr::Literal(Value::Null),
            ],
            negated: false,
        };
        assert!(matches!(choose_access(&t, &in_list), Access::PrimaryKey(r) if r.len() == 2));
        let both = Expr::binary(
            BinOp::And,
            eq(1, 5),
            Expr::binary(BinOp::Gt, Expr::Column(2), Expr::Literal(Value::Int(1))),
        );
        assert!(matches!(choose_access(&t, &both), Access::Index(i, r) if i.name == "t_bc" && r.len() == 1));
        // A float that is not integral cannot bound an integer key.
        let frac = Expr::binary(BinOp::Eq, Expr::Column(0), Expr::Literal(Value::Float(1.5)));
        assert!(matches!(choose_access(&t, &frac), Access::Full));
        assert!(matches!(
            choose_access(&t, &Expr::Literal(Value::Bool(true))),
            Access::Full
        ));
    }

    #[test]
    fn joins_follow_equalities_with_hash_joins() {
        let t = Arc::new(table());
        // Three relations of width 3; chain r0.a = r2.a, r2.b = r1.b.
        let leaves = (0..3)
            .map(|i| Leaf {
                plan: scan(t.clone(), false),
                start: 3 * i,
                width: 3,
            })
            .collect();
        let conj = vec![
            Expr::binary(BinOp::Eq, Expr::Column(0), Expr::Column(6)),
            Expr::binary(BinOp::Eq, Expr::Column(7), Expr::Column(4)),
        ];
        let plan = plan_join_group(leaves, conj, 0);
        let text = plan.explain().join("\n");
        assert_eq!(text.matches("HashJoin").count(), 2, "{text}");
        assert!(!text.contains("NestedLoopJoin"), "{text}");
        assert_eq!(plan.width(), 9);
    }

    #[test]
    fn folding_defers_errors() {
        let store = quorumdb_storage::KvStore::local(
            Arc::new(quorumdb_storage::MemoryEngine::new()) as Arc<dyn quorumdb_storage::Engine>
        )
        .expect("store");
        let mut txn = store.begin(Default::default()).expect("txn");
        let mut ctx = ExecCtx::new(&mut txn);
        let div0 = Expr::binary(
            BinOp::Div,
            Expr::Literal(Value::Int(1)),
            Expr::Literal(Value::Int(0)),
        );
        assert_eq!(fold(div0.clone(), &mut ctx), div0);
        let sum = Expr::binary(
            BinOp::Add,
            Expr::Literal(Value::Int(1)),
            Expr::Literal(Value::Int(2)),
        );
        assert_eq!(fold(sum, &mut ctx), Expr::Literal(Value::Int(3)));
    }
}
