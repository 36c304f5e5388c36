//! Parameter type inference for `Session::describe_statement`.
//!
//! The extended protocol's Describe wants a type per `$n`. Binding
//! substitutes parameters as literals (see `crate::placeholders`), so the
//! types are inferred here from the statement's syntax instead, the way
//! PostgreSQL would resolve an `unknown` parameter in the common cases:
//!
//! - `$n::type` / `CAST($n AS type)`: that type;
//! - `x op $n` / `$n op x` for comparisons and arithmetic, `x [NOT] IN (..,
//!   $n, ..)`, `x BETWEEN $n AND $m`, `x IS [NOT] DISTINCT FROM $n`: the
//!   type of `x` when it is a column of a table the statement names, a
//!   cast, a literal, or arithmetic over those;
//! - `LIKE`/`ILIKE`/`||` and `~`/`~*`/`!~`/`!~*` operands: text;
//!   `AND`/`OR`/`NOT` operands: boolean;
//! - `x ^ $n` / `$n ^ x`: NUMERIC when `x` is NUMERIC, else double
//!   precision (PostgreSQL's choice of `^`); `|/ $n`, `||/ $n`: double
//!   precision;
//! - `INSERT INTO t (cols) VALUES (.., $n, ..)`: the target column's type;
//!   `UPDATE t SET c = $n`: the type of `c`;
//! - `LIMIT $n` / `OFFSET $n` / `FETCH FIRST $n ROWS ONLY`: bigint.
//!
//! Anything else is [`DataType::Unknown`] (the client then sends text,
//! which is coerced where it is used). Column names are looked up by their
//! last part over every table the statement names; the first match wins.

use std::collections::HashMap;
use std::ops::ControlFlow;

use quorumdb_storage::Transaction;
use sqlparser::ast::{self, BinaryOperator as B, Expr, Visit, Visitor};

use crate::binder::{ident, map_type};
use crate::catalog;
use crate::infoschema;
use crate::types::DataType;

/// The inferred type of each of `$1..=$count` in `stmt`.
pub fn infer(txn: &mut Transaction, stmt: &ast::Statement, count: usize) -> Vec<DataType> {
    let mut tables = Vec::new();
    let _ = ast::visit_relations(stmt, |n| {
        if infoschema::virtual_view(n).is_none() {
            tables.push(n.clone());
        }
        ControlFlow::<()>::Continue(())
    });
    let mut columns: HashMap<String, DataType> = HashMap::new();
    let mut defs = HashMap::new();
    for n in tables {
        let Ok(name) = crate::binder::object_name(&n) else {
            continue;
        };
        // A missing table is reported when the statement runs.
        if let Ok(Some(t)) = catalog::get_table(txn, &name) {
            for c in &t.columns {
                columns.entry(c.name.clone()).or_insert(c.ty);
            }
            defs.insert(name, t);
        } else if let Ok(Some(v)) = crate::view::get(txn, &name) {
            // A view's columns as of CREATE VIEW.
            for (n, ty) in &v.output {
                columns.entry(n.clone()).or_insert(*ty);
            }
        }
    }
    let mut v = Infer {
        columns,
        defs,
        types: vec![DataType::Unknown; count],
    };
    let _ = stmt.visit(&mut v);
    v.types
}

struct Infer {
    columns: HashMap<String, DataType>,
    defs: HashMap<String, catalog::Table>,
    types: Vec<DataType>,
}

fn param(e: &Expr) -> Option<usize> {
    match e {
        Expr::Value(v) => match &v.value {
            ast::Value::Placeholder(p) => crate::placeholders::number(p).ok(),
            _ => None,
        },
        Expr::Nested(e) => param(e),
        _ => None,
    }
}

impl Infer {
    fn set(&mut self, e: &Expr, ty: Option<DataType>) {
        if let (Some(n), Some(ty)) = (param(e), ty)
            && ty != DataType::Unknown
            && let Some(slot) = self.types.get_mut(n - 1)
            && *slot == DataType::Unknown
        {
            *slot = ty;
        }
    }

    /// A window call's parameters as PostgreSQL types them: the integer
    /// argument of ntile, lag, lead and nth_value, ROWS/GROUPS frame
    /// offsets (bigint), and RANGE offsets beside a date or timestamp key
    /// (interval).
    fn window_call(&mut self, f: &ast::Function) {
        let name = crate::binder::object_name(&f.name).unwrap_or_default();
        let int_arg = match name.as_str() {
            "ntile" => Some(0),
            "lag" | "lead" | "nth_value" => Some(1),
            _ => None,
        };
        if let (Some(i), ast::FunctionArguments::List(list)) = (int_arg, &f.args)
            && let Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))) = list.args.get(i)
        {
            self.set(e, Some(DataType::Int4));
        }
        if let Some(ast::WindowType::WindowSpec(spec)) = &f.over
            && let Some(frame) = &spec.window_frame
        {
            // ROWS and GROUPS offsets are bigint; RANGE offsets beside a
            // date or timestamp key are intervals (beside a number they are
            // the key's type, left to the binder's cast).
            let ty = match frame.units {
                ast::WindowFrameUnits::Range => match spec.order_by.as_slice() {
                    [key] => self
                        .ty(&key.expr)
                        .filter(|t| matches!(t, DataType::Date | DataType::Timestamp | DataType::TimestampTz))
                        .map(|_| DataType::Interval),
                    _ => None,
                },
                _ => Some(DataType::Int8),
            };
            for b in std::iter::once(&frame.start_bound).chain(frame.end_bound.as_ref()) {
                if let ast::WindowFrameBound::Preceding(Some(e)) | ast::WindowFrameBound::Following(Some(e)) =
                    b
                    && ty.is_some()
                {
                    self.set(e, ty);
                }
            }
        }
    }

    fn column(&self, name: &str) -> Option<DataType> {
        self.columns.get(name).copied()
    }

    fn ty(&self, e: &Expr) -> Option<DataType> {
        match e {
            Expr::Identifier(i) => self.column(&ident(i)),
            Expr::CompoundIdentifier(parts) => parts.last().and_then(|i| self.column(&ident(i))),
            Expr::Cast { data_type, .. } => map_type(data_type).ok(),
            Expr::Nested(e) => self.ty(e),
            Expr::UnaryOp {
                op: ast::UnaryOperator::PGSquareRoot | ast::UnaryOperator::PGCubeRoot,
                ..
            } => Some(DataType::Float8),
            Expr::UnaryOp { expr, .. } => self.ty(expr),
            Expr::Value(v) => match &v.value {
                ast::Value::Number(s, _) => Some(if s.contains(['.', 'e', 'E']) {
                    DataType::Numeric(None)
                } else if s.parse::<i32>().is_ok() {
                    DataType::Int4
                } else {
                    DataType::Int8
                }),
                ast::Value::SingleQuotedString(_) => Some(DataType::Text(None)),
                ast::Value::Boolean(_) => Some(DataType::Bool),
                _ => None,
            },
            Expr::TypedString(ts) => map_type(&ts.data_type).ok(),
            Expr::Interval(_) => Some(DataType::Interval),
            Expr::BinaryOp { left, op, right } => match op {
                B::Plus | B::Minus | B::Multiply | B::Divide | B::Modulo => {
                    let (l, r) = (self.ty(left), self.ty(right));
                    let time = |t: Option<DataType>| {
                        matches!(
                            t,
                            Some(DataType::Date | DataType::Timestamp | DataType::TimestampTz)
                        )
                    };
                    match (l, r) {
                        (Some(DataType::Interval), t) | (t, Some(DataType::Interval)) if time(t) => {
                            t.map(|t| {
                                if t == DataType::Date {
                                    DataType::Timestamp
                                } else {
                                    t
                                }
                            })
                        }
                        (Some(DataType::Date), Some(DataType::Date)) if *op == B::Minus => {
                            Some(DataType::Int4)
                        }
                        (a, b) if *op == B::Minus && time(a) && time(b) => Some(DataType::Interval),
                        _ => l.or(r),
                    }
                }
                B::StringConcat => Some(DataType::Text(None)),
                B::PGExp => Some(self.power_type(left, right)),
                _ => Some(DataType::Bool),
            },
            _ => None,
        }
    }

    /// The type of `left ^ right`, which is also the type PostgreSQL gives
    /// a parameter operand: NUMERIC with a NUMERIC operand, else double precision.
    fn power_type(&self, left: &Expr, right: &Expr) -> DataType {
        let types = [left, right].map(|e| self.ty(e).unwrap_or(DataType::Unknown));
        crate::math::result_type(crate::expr::Func::Power, &types)
    }

    fn target_columns(&self, table: &str, names: &[ast::ObjectName]) -> Vec<Option<DataType>> {
        let Some(t) = self.defs.get(table) else {
            return vec![];
        };
        if names.is_empty() {
            return t.columns.iter().map(|c| Some(c.ty)).collect();
        }
        names
            .iter()
            .map(|n| {
                let name = crate::binder::object_name(n).ok()?;
                t.columns.iter().find(|c| c.name == name).map(|c| c.ty)
            })
            .collect()
    }
}

impl Visitor for Infer {
    type Break = ();

    fn pre_visit_statement(&mut self, s: &ast::Statement) -> ControlFlow<()> {
        match s {
            ast::Statement::Insert(ins) => {
                let ast::TableObject::TableName(name) = &ins.table else {
                    return ControlFlow::Continue(());
                };
                let Ok(table) = crate::binder::object_name(name) else {
                    return ControlFlow::Continue(());
                };
                let targets = self.target_columns(&table, &ins.columns);
                if let Some(src) = &ins.source
                    && let ast::SetExpr::Values(values) = &*src.body
                {
                    for row in &values.rows {
                        for (e, ty) in row.iter().zip(&targets) {
                            self.set(e, *ty);
                        }
                    }
                }
            }
            ast::Statement::Update(up) => {
                for a in &up.assignments {
                    if let ast::AssignmentTarget::ColumnName(n) = &a.target
                        && let Some(ast::ObjectNamePart::Identifier(i)) = n.0.last()
                    {
                        let ty = self.column(&ident(i));
                        self.set(&a.value, ty);
                    }
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, q: &ast::Query) -> ControlFlow<()> {
        let int8 = Some(DataType::Int8);
        match &q.limit_clause {
            Some(ast::LimitClause::LimitOffset { limit, offset, .. }) => {
                if let Some(l) = limit {
                    self.set(l, int8);
                }
                if let Some(o) = offset {
                    self.set(&o.value, int8);
                }
            }
            Some(ast::LimitClause::OffsetCommaLimit { offset, limit }) => {
                self.set(offset, int8);
                self.set(limit, int8);
            }
            None => {}
        }
        if let Some(quantity) = q.fetch.as_ref().and_then(|f| f.quantity.as_ref()) {
            self.set(quantity, int8);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        let text = Some(DataType::Text(None));
        let boolean = Some(DataType::Bool);
        match e {
            Expr::Cast { expr, data_type, .. } => self.set(expr, map_type(data_type).ok()),
            Expr::Function(f) if f.over.is_some() => {
                if let Some(filter) = &f.filter {
                    self.set(filter, boolean);
                }
                self.window_call(f)
            }
            Expr::Function(f) if f.filter.is_some() => {
                if let Some(filter) = &f.filter {
                    self.set(filter, boolean);
                }
            }
            Expr::BinaryOp { left, op, right } => match op {
                B::And | B::Or => {
                    self.set(left, boolean);
                    self.set(right, boolean);
                }
                B::StringConcat
                | B::PGRegexMatch
                | B::PGRegexIMatch
                | B::PGRegexNotMatch
                | B::PGRegexNotIMatch => {
                    self.set(left, text);
                    self.set(right, text);
                }
                B::PGExp => {
                    let ty = Some(self.power_type(left, right));
                    self.set(left, ty);
                    self.set(right, ty);
                }
                _ => {
                    self.set(left, operand_type(op, self.ty(right)));
                    self.set(right, operand_type(op, self.ty(left)));
                }
            },
            Expr::IsDistinctFrom(l, r) | Expr::IsNotDistinctFrom(l, r) => {
                self.set(l, self.ty(r));
                self.set(r, self.ty(l));
            }
            Expr::UnaryOp {
                op: ast::UnaryOperator::Not,
                expr,
            } => self.set(expr, boolean),
            // `|/` and `||/` take double precision.
            Expr::UnaryOp {
                op: ast::UnaryOperator::PGSquareRoot | ast::UnaryOperator::PGCubeRoot,
                expr,
            } => self.set(expr, Some(DataType::Float8)),
            Expr::In {
                expr,
                target: ast::InTarget::List(list),
                ..
            } => {
                let ty = self.ty(expr);
                for item in list {
                    self.set(item, ty);
                }
                let first = list.iter().find_map(|i| self.ty(i));
                self.set(expr, first);
            }
            Expr::Between { expr, low, high, .. } => {
                let ty = self.ty(expr);
                self.set(low, ty);
                self.set(high, ty);
                let other = self.ty(low).or_else(|| self.ty(high));
                self.set(expr, other);
            }
            Expr::Like { expr, pattern, .. } | Expr::ILike { expr, pattern, .. } => {
                self.set(expr, text);
                self.set(pattern, text);
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// The type PostgreSQL gives a parameter that meets an operand of type
/// `other` under `op`: mostly `other` itself, but a point in time plus an
/// unknown is a timestamp plus an *interval* (a date plus an integer), and
/// an interval is scaled by a double precision.
fn operand_type(op: &B, other: Option<DataType>) -> Option<DataType> {
    match (op, other) {
        (B::Plus, Some(DataType::Timestamp | DataType::TimestampTz)) => Some(DataType::Interval),
        (B::Plus, Some(DataType::Date)) => Some(DataType::Int4),
        (B::Multiply | B::Divide, Some(DataType::Interval)) => Some(DataType::Float8),
        _ => other,
    }
}
