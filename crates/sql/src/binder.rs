//! The binder: resolves a parsed query against the catalog and builds a
//! [`Plan`].
//!
//! Names are resolved through a [`Scope`] (the FROM clause's columns, in
//! FROM order). A name not found locally is looked up in the enclosing
//! queries' scopes, which makes the subquery correlated. Aggregates are
//! collected while binding the select list, HAVING and ORDER BY, and the
//! expressions above the Aggregate node are rewritten to refer to its
//! output (group keys first, then aggregates); a bare column that is
//! neither grouped nor aggregated is error 42803.
//!
//! WITH RECURSIVE binds the non-recursive term first, then the recursive
//! term with the CTE's name standing for a working table, checking where
//! that reference appears as PostgreSQL does (42P19).
//!
//! Identifiers are folded to lower case unless quoted.

use std::collections::HashMap;
use std::sync::Arc;

use quorumdb_storage::Transaction;
use sqlparser::ast;

use crate::catalog;
use crate::error::{Result, SqlError, codes};
use crate::exec::ExecCtx;
use crate::expr::{BinOp, Expr, Func, Subquery, UnOp, infer_type};
use crate::optimizer::{self, Leaf};
use crate::plan::{AggCall, AggFunc, JoinKind, Plan, SetOpKind, SortKey};
use crate::sequence::SeqFunc;
use crate::types::{DataType, Value};
use crate::window::{self, Frame, FrameBound, FrameUnits, WinFunc, WindowCall};

/// One column visible to name resolution.
#[derive(Clone, Debug)]
pub struct ScopeColumn {
    pub table: Option<String>,
    pub name: String,
    pub ty: DataType,
    /// The right-hand copy of a JOIN USING column: reachable only when
    /// qualified, and not part of `*`.
    pub hidden: bool,
}

pub type Scope = Vec<ScopeColumn>;

/// An output column of a query.
#[derive(Clone, Debug)]
pub struct OutColumn {
    pub name: String,
    pub ty: DataType,
}

pub fn ident(i: &ast::Ident) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_lowercase()
    }
}

/// The last part of an object name (the schema qualifier is ignored, but
/// `information_schema` names are refused: its views are read-only and
/// only resolved in FROM, see [`crate::infoschema`]).
pub fn object_name(n: &ast::ObjectName) -> Result<String> {
    if let Some(view) = crate::infoschema::view_name(n) {
        return Err(SqlError::new(
            codes::INSUFFICIENT_PRIVILEGE,
            format!("permission denied: information_schema.{view} is a read-only view"),
        ));
    }
    match n.0.last() {
        Some(ast::ObjectNamePart::Identifier(i)) => Ok(ident(i)),
        _ => Err(SqlError::syntax(format!("invalid name {n}"))),
    }
}

pub fn map_type(t: &ast::DataType) -> Result<DataType> {
    use ast::DataType as T;
    Ok(match t {
        T::Boolean | T::Bool => DataType::Bool,
        T::SmallInt(_) | T::Int2(_) => DataType::Int2,
        T::Int(_) | T::Integer(_) | T::Int4(_) | T::MediumInt(_) => DataType::Int4,
        T::BigInt(_) | T::Int8(_) | T::Signed | T::SignedInteger | T::Int64 => DataType::Int8,
        T::Real | T::Float4 => DataType::Float4,
        T::Double(_) | T::DoublePrecision | T::Float8 | T::Float(_) | T::Float64 => DataType::Float8,
        T::Numeric(info) | T::Decimal(info) | T::Dec(info) => DataType::Numeric(match info {
            ast::ExactNumberInfo::None => None,
            ast::ExactNumberInfo::Precision(p) => Some((u16::try_from(*p).unwrap_or(u16::MAX), 0)),
            ast::ExactNumberInfo::PrecisionAndScale(p, s) => Some((
                u16::try_from(*p).unwrap_or(u16::MAX),
                u16::try_from(*s).map_err(|_| SqlError::syntax("NUMERIC scale out of range"))?,
            )),
        }),
        T::Text | T::String(_) => DataType::Text(None),
        T::Date => DataType::Date,
        T::Interval {
            fields: None,
            precision: None,
        } => DataType::Interval,
        T::Timestamp(_, ast::TimezoneInfo::None | ast::TimezoneInfo::WithoutTimeZone) | T::Datetime(_) => {
            DataType::Timestamp
        }
        T::Timestamp(_, ast::TimezoneInfo::WithTimeZone | ast::TimezoneInfo::Tz) => DataType::TimestampTz,
        T::Bytea | T::Blob(_) | T::Varbinary(_) | T::Binary(_) => DataType::Bytea,
        T::Uuid => DataType::Uuid,
        T::Varchar(n) | T::CharacterVarying(n) | T::CharVarying(n) | T::Char(n) | T::Character(n) => {
            DataType::Text(match n {
                Some(ast::CharacterLength::IntegerLength { length, .. }) => {
                    Some(u32::try_from(*length).unwrap_or(u32::MAX))
                }
                _ => None,
            })
        }
        other => return Err(SqlError::unsupported(format!("type {other}"))),
    })
}

/// Binds queries; one per statement.
pub struct Binder<'t> {
    pub txn: &'t mut Transaction,
    /// Scopes of the enclosing queries, innermost last.
    outer: Vec<Scope>,
    /// Per enclosing level being bound: did it reference an outer scope?
    correlated: Vec<bool>,
    next_subquery: usize,
    ctes: Vec<HashMap<String, (Plan, Vec<OutColumn>)>>,
    /// Current nesting depth of expressions and queries being bound.
    depth: usize,
    /// Views being expanded, innermost last (a view reading itself is an
    /// error, not an endless expansion).
    views: Vec<String>,
    /// Tables, views and sequences the statement itself names (not those
    /// inside the views it expands): what a view defined by it depends on.
    pub resolved: Vec<String>,
    /// Recursive CTEs whose recursive term is being bound, innermost last.
    recursive: Vec<RecursiveRef>,
    /// The SELECT being bound (a number unique in the statement).
    select: usize,
    selects: usize,
    /// Where window functions may not appear right now, by the name
    /// PostgreSQL's error gives the place (`WHERE`, `HAVING`, `window` for
    /// a window call's own arguments, ...). Reset inside subqueries.
    window_clause: Option<&'static str>,
    /// The WINDOW clauses of the SELECTs being bound, innermost last.
    named_windows: Vec<Vec<(String, ast::WindowSpec)>>,
}

/// A recursive CTE whose recursive term is being bound: where its
/// self-reference (the working table) appears decides 42P19 errors.
struct RecursiveRef {
    name: String,
    id: usize,
    /// Depth of expression subqueries (`Binder::outer`) at the term's top.
    outer: usize,
    /// References seen so far, and the SELECT whose FROM holds the last.
    uses: usize,
    select: Option<usize>,
}

/// Maximum nesting of expressions and queries. Binding, folding and
/// evaluation recurse over the tree, so this bounds their stack use
/// (error 54001 beyond it, never a stack overflow).
pub const MAX_DEPTH: usize = 1000;

/// Aggregate and window-call collection state while binding a SELECT.
pub struct AggState {
    calls: Vec<AggCall>,
    windows: Vec<WindowCall>,
}

impl<'t> Binder<'t> {
    pub fn new(txn: &'t mut Transaction) -> Self {
        Self {
            txn,
            outer: vec![],
            correlated: vec![false],
            next_subquery: 0,
            ctes: vec![],
            depth: 0,
            views: vec![],
            resolved: vec![],
            recursive: vec![],
            select: 0,
            selects: 0,
            window_clause: None,
            named_windows: vec![],
        }
    }

    fn fold(&mut self, e: Expr) -> Expr {
        let mut ctx = ExecCtx::new(self.txn);
        optimizer::fold(e, &mut ctx)
    }

    /// Runs `f` one nesting level deeper, failing beyond [`MAX_DEPTH`].
    #[recursive::recursive]
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.depth >= MAX_DEPTH {
            return Err(SqlError::new(
                codes::STATEMENT_TOO_COMPLEX,
                format!("statement too complex: nesting deeper than {MAX_DEPTH}"),
            ));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    pub fn bind_query(&mut self, q: &ast::Query) -> Result<(Plan, Vec<OutColumn>)> {
        self.nested(|b| b.bind_query_guarded(q))
    }

    fn bind_query_guarded(&mut self, q: &ast::Query) -> Result<(Plan, Vec<OutColumn>)> {
        // A subquery is a new place: its own select list may hold windows.
        let clause = self.window_clause.take();
        let r = self.bind_query_scoped(q);
        self.window_clause = clause;
        r
    }

    fn bind_query_scoped(&mut self, q: &ast::Query) -> Result<(Plan, Vec<OutColumn>)> {
        let mut pushed = false;
        if let Some(with) = &q.with {
            self.ctes.push(HashMap::new());
            pushed = true;
            for (i, cte) in with.cte_tables.iter().enumerate() {
                let name = ident(&cte.alias.name);
                // Under RECURSIVE every WITH name is in scope in every item;
                // here items are bound in order, so an item naming a later
                // one is refused rather than read as a table of that name.
                if with.recursive
                    && let Some(later) = with.cte_tables[i + 1..]
                        .iter()
                        .map(|c| ident(&c.alias.name))
                        .find(|later| references(&cte.query, later))
                {
                    return Err(SqlError::unsupported(format!(
                        "WITH RECURSIVE item \"{name}\" referring to the later item \"{later}\" (reorder the items; mutual recursion is not implemented)"
                    )));
                }
                let (plan, mut cols) = if with.recursive && references(&cte.query, &name) {
                    self.bind_recursive_cte(&name, cte)?
                } else {
                    self.bind_query(&cte.query)?
                };
                for (c, a) in cols.iter_mut().zip(&cte.alias.columns) {
                    c.name = ident(&a.name);
                }
                if let Some(m) = self.ctes.last_mut() {
                    m.insert(ident(&cte.alias.name), (plan, cols));
                }
            }
        }
        let result = self.bind_query_body(q);
        if pushed {
            self.ctes.pop();
        }
        result
    }

    /// A WITH RECURSIVE query that references itself: `non-recursive term
    /// UNION [ALL] recursive term`, where the recursive term reads the
    /// working table once, not in an expression subquery, not on the
    /// nullable side of an outer join, not under an aggregate (42P19, as
    /// PostgreSQL checks them). The non-recursive term fixes the column
    /// types; a recursive term whose types would widen them is 42804.
    fn bind_recursive_cte(&mut self, name: &str, cte: &ast::Cte) -> Result<(Plan, Vec<OutColumn>)> {
        let q = &cte.query;
        let invalid = |what: &str| {
            SqlError::new(
                codes::INVALID_RECURSIVE_QUERY,
                format!("recursive reference to query \"{name}\" must not appear {what}"),
            )
        };
        if q.order_by.is_some() {
            return Err(SqlError::unsupported("ORDER BY in a recursive query"));
        }
        if q.limit_clause.is_some() || q.fetch.is_some() {
            return Err(SqlError::unsupported("LIMIT or OFFSET in a recursive query"));
        }
        if q.with.is_some() {
            return Err(SqlError::unsupported("WITH inside a recursive query"));
        }
        let ast::SetExpr::SetOperation {
            op: ast::SetOperator::Union,
            set_quantifier,
            left,
            right,
        } = &*q.body
        else {
            return Err(SqlError::new(
                codes::INVALID_RECURSIVE_QUERY,
                format!(
                    "recursive query \"{name}\" does not have the form non-recursive-term UNION [ALL] recursive-term"
                ),
            ));
        };
        let all = match set_quantifier {
            ast::SetQuantifier::All => true,
            ast::SetQuantifier::Distinct | ast::SetQuantifier::None => false,
            other => {
                return Err(SqlError::unsupported(format!(
                    "UNION {other} in a recursive query"
                )));
            }
        };
        if references(left, name) {
            return Err(invalid("within its non-recursive term"));
        }
        if let Some(op) = set_operation_around(right, name) {
            return Err(invalid(&format!("within {op}")));
        }
        let (init, mut cols) = self.bind_set_expr(left)?;
        for (c, a) in cols.iter_mut().zip(&cte.alias.columns) {
            c.name = ident(&a.name);
        }
        self.next_subquery += 1;
        let id = self.next_subquery;
        let work = Plan::WorkTable {
            id,
            width: cols.len(),
        };
        if let Some(m) = self.ctes.last_mut() {
            m.insert(name.to_string(), (work, cols.clone()));
        }
        self.recursive.push(RecursiveRef {
            name: name.to_string(),
            id,
            outer: self.outer.len(),
            uses: 0,
            select: None,
        });
        let bound = self.bind_set_expr(right);
        let uses = self.recursive.pop().map_or(0, |r| r.uses);
        if let Some(m) = self.ctes.last_mut() {
            m.remove(name);
        }
        let (step, step_cols) = bound?;
        if step_cols.len() != cols.len() {
            return Err(SqlError::syntax(
                "each UNION query must have the same number of columns",
            ));
        }
        let mut casts = Vec::new();
        for (i, (c, r)) in cols.iter_mut().zip(&step_cols).enumerate() {
            // As in UNION: an untyped non-recursive column is text.
            if c.ty == DataType::Unknown {
                c.ty = DataType::Text(None);
            }
            if !union_compatible(c.ty, r.ty) {
                return Err(SqlError::new(
                    codes::DATATYPE_MISMATCH,
                    format!(
                        "UNION types {} and {} cannot be matched",
                        c.ty.name(),
                        r.ty.name()
                    ),
                ));
            }
            let overall = DataType::common(c.ty, r.ty);
            if overall != c.ty {
                return Err(SqlError::new(
                    codes::DATATYPE_MISMATCH,
                    format!(
                        "recursive query \"{name}\" column {} has type {} in non-recursive term but type {} overall",
                        i + 1,
                        c.ty.name(),
                        overall.name()
                    ),
                ));
            }
            casts.push(if r.ty == c.ty {
                Expr::Column(i)
            } else {
                Expr::Cast(Box::new(Expr::Column(i)), c.ty)
            });
        }
        if uses == 0 {
            // The name only appears shadowed: an ordinary UNION.
            return Ok((
                Plan::SetOp {
                    kind: SetOpKind::Union,
                    all,
                    left: Box::new(init),
                    right: Box::new(step),
                },
                cols,
            ));
        }
        let step = if casts.iter().enumerate().all(|(i, e)| *e == Expr::Column(i)) {
            step
        } else {
            Plan::Project {
                input: Box::new(step),
                exprs: casts,
            }
        };
        Ok((
            Plan::RecursiveUnion {
                id,
                all,
                init: Box::new(init),
                step: Box::new(step),
            },
            cols,
        ))
    }

    /// Records a reference to the working table `id`, failing where a
    /// recursive reference may not be (see [`Self::bind_recursive_cte`]).
    fn note_recursive_reference(&mut self, id: usize) -> Result<()> {
        let (depth, select) = (self.outer.len(), self.select);
        let Some(r) = self.recursive.iter_mut().find(|r| r.id == id) else {
            return Ok(());
        };
        let what = if depth > r.outer {
            "within a subquery"
        } else if r.uses > 0 {
            "more than once"
        } else {
            r.uses = 1;
            r.select = Some(select);
            return Ok(());
        };
        Err(SqlError::new(
            codes::INVALID_RECURSIVE_QUERY,
            format!(
                "recursive reference to query \"{}\" must not appear {what}",
                r.name
            ),
        ))
    }

    fn bind_query_body(&mut self, q: &ast::Query) -> Result<(Plan, Vec<OutColumn>)> {
        let order_by: &[ast::OrderByExpr] = match &q.order_by {
            Some(ast::OrderBy {
                kind: ast::OrderByKind::Expressions(e),
                ..
            }) => e,
            Some(_) => return Err(SqlError::unsupported("ORDER BY ALL")),
            None => &[],
        };
        let (mut plan, cols) = match &*q.body {
            ast::SetExpr::Select(s) => self.bind_select(s, order_by)?,
            body => {
                let (plan, cols) = self.bind_set_expr(body)?;
                if order_by.is_empty() {
                    (plan, cols)
                } else {
                    let mut keys = Vec::new();
                    for o in order_by {
                        let idx = self.output_position(&o.expr, &cols)?.ok_or_else(|| {
                            SqlError::new(
                                codes::INVALID_COLUMN_REFERENCE,
                                "ORDER BY on a set operation must name an output column",
                            )
                        })?;
                        keys.push(sort_key(Expr::Column(idx), &o.options));
                    }
                    (
                        Plan::Sort {
                            input: Box::new(plan),
                            keys,
                        },
                        cols,
                    )
                }
            }
        };
        if q.limit_clause.is_some() || q.fetch.is_some() {
            let (mut limit, offset) = match &q.limit_clause {
                Some(ast::LimitClause::LimitOffset { limit, offset, .. }) => {
                    (limit.clone(), offset.as_ref().map(|o| o.value.clone()))
                }
                Some(ast::LimitClause::OffsetCommaLimit { offset, limit }) => {
                    (Some(limit.clone()), Some(offset.clone()))
                }
                None => (None, None),
            };
            // `FETCH FIRST n ROWS ONLY` is the standard's LIMIT n.
            if let Some(fetch) = &q.fetch {
                if fetch.with_ties || fetch.percent {
                    return Err(SqlError::unsupported("FETCH ... WITH TIES or PERCENT"));
                }
                if limit.is_some() {
                    return Err(SqlError::syntax("multiple LIMIT clauses not allowed"));
                }
                limit = Some(
                    fetch
                        .quantity
                        .clone()
                        .unwrap_or_else(|| ast::Expr::value(ast::Value::Number("1".into(), false))),
                );
            }
            let limit = match limit {
                Some(e) => self.const_u64(&e)?,
                None => None,
            };
            let offset = match offset {
                Some(e) => self.const_u64(&e)?.unwrap_or(0),
                None => 0,
            };
            plan = Plan::Limit {
                input: Box::new(plan),
                limit,
                offset,
            };
        }
        Ok((plan, cols))
    }

    fn const_u64(&mut self, e: &ast::Expr) -> Result<Option<u64>> {
        let b = self.bind_expr(e, &vec![], None)?;
        match self.fold(b) {
            Expr::Literal(Value::Null) => Ok(None),
            Expr::Literal(Value::Int(i)) if i >= 0 => Ok(Some(i as u64)),
            Expr::Literal(Value::Int(_)) => Err(SqlError::new("2201W", "LIMIT/OFFSET must not be negative")),
            _ => Err(SqlError::mismatch(
                "argument of LIMIT/OFFSET must be an integer constant",
            )),
        }
    }

    /// Output position for an ORDER BY item that is an ordinal or an output name.
    fn output_position(&mut self, e: &ast::Expr, cols: &[OutColumn]) -> Result<Option<usize>> {
        match e {
            ast::Expr::Value(v) => {
                if let ast::Value::Number(n, _) = &v.value {
                    let i: usize = n.parse().map_err(|_| SqlError::syntax("bad ORDER BY position"))?;
                    if i == 0 || i > cols.len() {
                        return Err(SqlError::new(
                            codes::INVALID_COLUMN_REFERENCE,
                            format!("ORDER BY position {i} is not in select list"),
                        ));
                    }
                    return Ok(Some(i - 1));
                }
                Ok(None)
            }
            ast::Expr::Identifier(id) => {
                let name = ident(id);
                Ok(cols.iter().position(|c| c.name == name))
            }
            _ => Ok(None),
        }
    }

    fn bind_set_expr(&mut self, body: &ast::SetExpr) -> Result<(Plan, Vec<OutColumn>)> {
        self.nested(|b| b.bind_set_expr_guarded(body))
    }

    fn bind_set_expr_guarded(&mut self, body: &ast::SetExpr) -> Result<(Plan, Vec<OutColumn>)> {
        match body {
            ast::SetExpr::Select(s) => self.bind_select(s, &[]),
            ast::SetExpr::Query(q) => self.bind_query(q),
            ast::SetExpr::Values(v) => self.bind_values(v),
            ast::SetExpr::SetOperation {
                left,
                op,
                set_quantifier,
                right,
            } => {
                let (lp, lc) = self.bind_set_expr(left)?;
                let (rp, rc) = self.bind_set_expr(right)?;
                if lc.len() != rc.len() {
                    return Err(SqlError::syntax(
                        "each set operation query must have the same number of columns",
                    ));
                }
                let kind = match op {
                    ast::SetOperator::Union => SetOpKind::Union,
                    ast::SetOperator::Intersect => SetOpKind::Intersect,
                    ast::SetOperator::Except | ast::SetOperator::Minus => SetOpKind::Except,
                };
                let all = matches!(set_quantifier, ast::SetQuantifier::All);
                let cols = lc
                    .into_iter()
                    .zip(rc)
                    .map(|(l, r)| OutColumn {
                        name: l.name,
                        ty: DataType::common(l.ty, r.ty),
                    })
                    .collect();
                Ok((
                    Plan::SetOp {
                        kind,
                        all,
                        left: Box::new(lp),
                        right: Box::new(rp),
                    },
                    cols,
                ))
            }
            other => Err(SqlError::unsupported(format!("query form {other}"))),
        }
    }

    pub fn bind_values(&mut self, v: &ast::Values) -> Result<(Plan, Vec<OutColumn>)> {
        let width = v.rows.first().map_or(0, |r| r.len());
        let mut rows = Vec::new();
        let mut types = vec![DataType::Unknown; width];
        for r in &v.rows {
            if r.len() != width {
                return Err(SqlError::syntax("VALUES lists must all be the same length"));
            }
            let mut row = Vec::new();
            for (i, e) in r.iter().enumerate() {
                let b = self.in_clause("VALUES", |b| b.bind_expr(e, &vec![], None))?;
                let b = self.fold(b);
                types[i] = DataType::common(types[i], infer_type(&b, &[]));
                row.push(b);
            }
            rows.push(row);
        }
        let cols = types
            .into_iter()
            .enumerate()
            .map(|(i, ty)| OutColumn {
                name: format!("column{}", i + 1),
                ty,
            })
            .collect();
        Ok((Plan::Values { rows, width }, cols))
    }

    /// Binds one FROM item into leaves (appended to `leaves`) and scope.
    fn bind_factor(&mut self, f: &ast::TableFactor, scope: &mut Scope) -> Result<Plan> {
        match f {
            ast::TableFactor::Table {
                name, alias, args, ..
            } => {
                if let Some((schema, view)) = crate::infoschema::virtual_view(name) {
                    if args.is_some() {
                        return Err(SqlError::unsupported(format!("table function {schema}.{view}")));
                    }
                    let (cols, rows) = crate::infoschema::rows(self.txn, schema, &view)?;
                    let alias_name = alias
                        .as_ref()
                        .map(|a| ident(&a.name))
                        .unwrap_or_else(|| view.clone());
                    let width = cols.len();
                    for (i, (name, ty)) in cols.into_iter().enumerate() {
                        let name = alias
                            .as_ref()
                            .and_then(|a| a.columns.get(i))
                            .map(|c| ident(&c.name))
                            .unwrap_or_else(|| name.to_string());
                        scope.push(ScopeColumn {
                            table: Some(alias_name.clone()),
                            name,
                            ty,
                            hidden: false,
                        });
                    }
                    let rows = rows
                        .into_iter()
                        .map(|r| r.into_iter().map(Expr::Literal).collect())
                        .collect();
                    return Ok(Plan::Values { rows, width });
                }
                let tname = object_name(name)?;
                if let Some(args) = args {
                    if tname != "generate_series" {
                        return Err(SqlError::unsupported(format!("table function {tname}")));
                    }
                    let mut bound = Vec::new();
                    for a in &args.args {
                        match a {
                            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                                let b = self.bind_expr(e, &vec![], None)?;
                                bound.push(self.fold(b));
                            }
                            _ => return Err(SqlError::unsupported("named table-function arguments")),
                        }
                    }
                    let alias_name = alias
                        .as_ref()
                        .map(|a| ident(&a.name))
                        .unwrap_or_else(|| tname.clone());
                    let col = alias
                        .as_ref()
                        .and_then(|a| a.columns.first())
                        .map(|c| ident(&c.name))
                        .unwrap_or_else(|| alias_name.clone());
                    scope.push(ScopeColumn {
                        table: Some(alias_name),
                        name: col,
                        ty: DataType::Int8,
                        hidden: false,
                    });
                    return Ok(Plan::Series { args: bound });
                }
                let alias_name = alias
                    .as_ref()
                    .map(|a| ident(&a.name))
                    .unwrap_or_else(|| tname.clone());
                if let Some((plan, cols)) = self.ctes.iter().rev().find_map(|m| m.get(&tname)).cloned() {
                    if let Plan::WorkTable { id, .. } = plan {
                        self.note_recursive_reference(id)?;
                    }
                    for c in cols {
                        scope.push(ScopeColumn {
                            table: Some(alias_name.clone()),
                            name: c.name,
                            ty: c.ty,
                            hidden: false,
                        });
                    }
                    return Ok(plan);
                }
                let Some(table) = catalog::get_table_shared(self.txn, &tname)? else {
                    return self.bind_view(&tname, alias.as_ref(), scope);
                };
                self.note_relation(&tname);
                for (i, c) in table.columns.iter().enumerate() {
                    let name = alias
                        .as_ref()
                        .and_then(|a| a.columns.get(i))
                        .map(|c| ident(&c.name))
                        .unwrap_or_else(|| c.name.clone());
                    scope.push(ScopeColumn {
                        table: Some(alias_name.clone()),
                        name,
                        ty: c.ty,
                        hidden: false,
                    });
                }
                Ok(optimizer::scan(table, false))
            }
            ast::TableFactor::Derived {
                subquery,
                alias,
                lateral,
                ..
            } => {
                if *lateral {
                    return Err(SqlError::unsupported("LATERAL"));
                }
                let (plan, cols) = self.bind_query(subquery)?;
                let alias_name = alias.as_ref().map(|a| ident(&a.name));
                for (i, c) in cols.into_iter().enumerate() {
                    let name = alias
                        .as_ref()
                        .and_then(|a| a.columns.get(i))
                        .map(|c| ident(&c.name))
                        .unwrap_or(c.name);
                    scope.push(ScopeColumn {
                        table: alias_name.clone(),
                        name,
                        ty: c.ty,
                        hidden: false,
                    });
                }
                Ok(plan)
            }
            ast::TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                if alias.is_some() {
                    return Err(SqlError::unsupported("alias on a parenthesised join"));
                }
                let start = scope.len();
                let plan = self.bind_from(std::slice::from_ref(&**table_with_joins), scope, vec![], start)?;
                Ok(plan)
            }
            other => Err(SqlError::unsupported(format!("FROM item {other}"))),
        }
    }

    /// Expands the view `name` in FROM (42P01 if there is none): its query
    /// is bound as a derived table in a scope of its own.
    fn bind_view(&mut self, name: &str, alias: Option<&ast::TableAlias>, scope: &mut Scope) -> Result<Plan> {
        let Some(view) = crate::view::get(self.txn, name)? else {
            return Err(SqlError::new(
                codes::UNDEFINED_TABLE,
                format!("relation \"{name}\" does not exist"),
            ));
        };
        if self.views.iter().any(|v| v == name) {
            return Err(SqlError::new(
                codes::INVALID_RECURSION,
                format!("infinite recursion detected in rules for relation \"{name}\""),
            ));
        }
        self.note_relation(name);
        let query = crate::view::query(&view)?;
        // The view sees no enclosing query: not its columns, not its WITH.
        let outer = std::mem::take(&mut self.outer);
        let correlated = std::mem::replace(&mut self.correlated, vec![false]);
        let ctes = std::mem::take(&mut self.ctes);
        self.views.push(name.to_string());
        let bound = self.bind_query(&query);
        self.views.pop();
        self.outer = outer;
        self.correlated = correlated;
        self.ctes = ctes;
        let (plan, cols) = bound?;
        // Its query is re-bound on every use; if the tables under it have
        // changed shape since CREATE VIEW (a column added under `*`), the
        // names given then would label the wrong columns.
        let shape: Vec<DataType> = cols.iter().map(|c| c.ty).collect();
        let stored: Vec<DataType> = view.output.iter().map(|(_, t)| *t).collect();
        if shape != stored {
            return Err(SqlError::new(
                codes::OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!(
                    "view \"{name}\" no longer matches the tables it reads (they changed since CREATE VIEW); re-create it"
                ),
            ));
        }
        let alias_name = alias.map_or_else(|| name.to_string(), |a| ident(&a.name));
        for (i, c) in cols.into_iter().enumerate() {
            let col_name = alias
                .and_then(|a| a.columns.get(i))
                .map(|c| ident(&c.name))
                .or_else(|| view.output.get(i).map(|(n, _)| n.clone()))
                .unwrap_or(c.name);
            scope.push(ScopeColumn {
                table: Some(alias_name.clone()),
                name: col_name,
                ty: c.ty,
                hidden: false,
            });
        }
        Ok(plan)
    }

    /// Notes a relation the statement names itself (see `resolved`).
    fn note_relation(&mut self, name: &str) {
        if self.views.is_empty() && !self.resolved.iter().any(|r| r == name) {
            self.resolved.push(name.to_string());
        }
    }

    /// The target of `UPDATE ... FROM` / `DELETE ... USING` joined with
    /// the `from` list under `where_`: `target` reads the target table's
    /// rows, whose columns `scope` already holds (the FROM items' columns
    /// are added after them). Each result row is the target row followed
    /// by one combination of FROM rows matching it. Each item of the list
    /// is planned on its own first (its joins, outer ones included, see
    /// only its own tables, as in PostgreSQL), then the target and the
    /// items are inner-joined under WHERE.
    pub fn bind_target_join(
        &mut self,
        target: Plan,
        scope: &mut Scope,
        from: &[ast::TableWithJoins],
        where_: Option<&ast::Expr>,
    ) -> Result<Plan> {
        let mut leaves = vec![Leaf {
            plan: target,
            start: 0,
            width: scope.len(),
        }];
        for twj in from {
            let start = scope.len();
            let plan = self.bind_from(std::slice::from_ref(twj), scope, vec![], start)?;
            leaves.push(Leaf {
                plan,
                start,
                width: scope.len() - start,
            });
        }
        let full_scope = scope.clone();
        let mut conj = Vec::new();
        if let Some(w) = where_ {
            let b = self.bind_expr(w, &full_scope, None)?;
            conj = self.fold(b).conjuncts();
        }
        Ok(optimizer::plan_join_group(leaves, conj, 0))
    }

    /// Binds a FROM clause and plans its joins with `where_` (already bound
    /// by the caller? no: bound here after the scope is complete).
    fn bind_from(
        &mut self,
        from: &[ast::TableWithJoins],
        scope: &mut Scope,
        where_: Vec<&ast::Expr>,
        base: usize,
    ) -> Result<Plan> {
        // Steps: (kind, leaf, ON) in FROM order.
        struct Step {
            kind: JoinKind,
            leaf: Leaf,
            on: Option<ast::Expr>,
            /// JOIN USING / NATURAL equalities (in the full layout).
            using: Vec<Expr>,
            /// Reads the working table of a recursive CTE being bound.
            recursive: bool,
        }
        let mut steps: Vec<Step> = Vec::new();
        let add = |this: &mut Self,
                   steps: &mut Vec<Step>,
                   scope: &mut Scope,
                   f: &ast::TableFactor,
                   kind,
                   on: Option<ast::Expr>|
         -> Result<()> {
            let start = scope.len();
            let uses = |this: &Self| this.recursive.iter().map(|r| r.uses).sum::<usize>();
            let before = uses(this);
            let plan = this.bind_factor(f, scope)?;
            steps.push(Step {
                kind,
                leaf: Leaf {
                    plan,
                    start,
                    width: scope.len() - start,
                },
                on,
                using: vec![],
                recursive: uses(this) > before,
            });
            Ok(())
        };
        for twj in from {
            add(self, &mut steps, scope, &twj.relation, JoinKind::Inner, None)?;
            for j in &twj.joins {
                use ast::JoinOperator as J;
                let (kind, c) = match &j.join_operator {
                    J::Join(c) | J::Inner(c) => (JoinKind::Inner, c),
                    J::CrossJoin(c) => (JoinKind::Inner, c),
                    J::Left(c) | J::LeftOuter(c) => (JoinKind::Left, c),
                    J::Right(c) | J::RightOuter(c) => (JoinKind::Right, c),
                    J::FullOuter(c) => (JoinKind::Full, c),
                    other => return Err(SqlError::unsupported(format!("join {other:?}"))),
                };
                let (on, using) = match c {
                    ast::JoinConstraint::On(e) => (Some(e.clone()), None),
                    ast::JoinConstraint::None => (None, None),
                    ast::JoinConstraint::Using(cols) => (
                        None,
                        Some(cols.iter().map(object_name).collect::<Result<Vec<_>>>()?),
                    ),
                    ast::JoinConstraint::Natural => (None, Some(vec![])),
                    ast::JoinConstraint::UsingAlias(..) => {
                        return Err(SqlError::unsupported("JOIN USING ... AS"));
                    }
                };
                let natural = matches!(c, ast::JoinConstraint::Natural);
                if using.is_some() && kind == JoinKind::Full {
                    return Err(SqlError::unsupported("FULL JOIN with USING or NATURAL"));
                }
                let left_end = scope.len();
                add(self, &mut steps, scope, &j.relation, kind, on)?;
                if let Some(mut names) = using {
                    let visible = |scope: &Scope, range: std::ops::Range<usize>, n: &str| -> Vec<usize> {
                        range
                            .filter(|&i| !scope[i].hidden && scope[i].name == n)
                            .collect()
                    };
                    if natural {
                        names = (left_end..scope.len())
                            .map(|i| scope[i].name.clone())
                            .filter(|n| !visible(scope, base..left_end, n).is_empty())
                            .collect();
                    }
                    let mut conj = Vec::new();
                    for n in names {
                        let (l, r) = (
                            visible(scope, base..left_end, &n),
                            visible(scope, left_end..scope.len(), &n),
                        );
                        let (&[l], &[r]) = (l.as_slice(), r.as_slice()) else {
                            return Err(SqlError::new(
                                codes::UNDEFINED_COLUMN,
                                format!(
                                    "column \"{n}\" specified in USING clause must exist once on each side"
                                ),
                            ));
                        };
                        conj.push(Expr::binary(BinOp::Eq, Expr::Column(l), Expr::Column(r)));
                        let hide = if kind == JoinKind::Right { l } else { r };
                        scope[hide].hidden = true;
                    }
                    if let Some(step) = steps.last_mut() {
                        step.using = conj;
                    }
                }
            }
        }
        // A recursive CTE's working table may not be on the nullable side
        // of an outer join (42P19). Each FROM item made 1 + joins steps.
        let mut first = 0;
        for twj in from {
            let item = steps.get(first..first + 1 + twj.joins.len()).unwrap_or_default();
            let mut nullable = vec![false; item.len()];
            for (k, step) in item.iter().enumerate().skip(1) {
                match step.kind {
                    JoinKind::Left => nullable[k] = true,
                    JoinKind::Right => nullable[..k].iter_mut().for_each(|n| *n = true),
                    JoinKind::Full => nullable[..=k].iter_mut().for_each(|n| *n = true),
                    _ => {}
                }
            }
            if item.iter().zip(&nullable).any(|(s, n)| s.recursive && *n)
                && let Some(r) = self.recursive.last()
            {
                return Err(SqlError::new(
                    codes::INVALID_RECURSIVE_QUERY,
                    format!(
                        "recursive reference to query \"{}\" must not appear within an outer join",
                        r.name
                    ),
                ));
            }
            first += item.len();
        }
        let full_scope = scope.clone();
        // Bind the WHERE and ON predicates against the complete scope.
        let rel = |e: Expr| e.remap(&|i| i - base);
        let mut where_conj = Vec::new();
        for w in where_ {
            let b = self.in_clause("WHERE", |b| b.bind_expr(w, &full_scope, None))?;
            let b = self.fold(b);
            where_conj.extend(b.conjuncts().into_iter().map(rel));
        }
        let mut group: Vec<Leaf> = Vec::new();
        let mut group_conj: Vec<Expr> = Vec::new();
        for s in steps {
            let on = match &s.on {
                Some(e) => {
                    let b = self.in_clause("JOIN conditions", |b| b.bind_expr(e, &full_scope, None))?;
                    let mut cols = vec![];
                    b.columns(&mut cols);
                    if cols.iter().any(|&c| c < base) {
                        return Err(SqlError::new(
                            codes::UNDEFINED_TABLE,
                            "invalid reference to FROM-clause entry outside this join",
                        ));
                    }
                    Some(rel(self.fold(b)))
                }
                None => None,
            };
            let on = if s.using.is_empty() {
                on
            } else {
                let mut all: Vec<Expr> = s.using.into_iter().map(rel).collect();
                all.extend(on.map(Expr::conjuncts).unwrap_or_default());
                Some(Expr::and_all(all))
            };
            let leaf = Leaf {
                plan: s.leaf.plan,
                start: s.leaf.start - base,
                width: s.leaf.width,
            };
            if s.kind == JoinKind::Inner || group.is_empty() {
                group_conj.extend(on.map(|o| o.conjuncts()).unwrap_or_default());
                group.push(leaf);
                continue;
            }
            // Outer join: plan what we have, then join the new relation.
            let left =
                optimizer::plan_join_group(std::mem::take(&mut group), std::mem::take(&mut group_conj), 0);
            let left_width = leaf.start;
            let right_start = leaf.start;
            let mut right = leaf.plan;
            let mut on_conj = on.map(|o| o.conjuncts()).unwrap_or_default();
            // ON conjuncts on the right side alone filter the right input
            // (for LEFT joins); the rest is the join condition.
            if s.kind == JoinKind::Left {
                let (only_right, rest): (Vec<Expr>, Vec<Expr>) = on_conj.into_iter().partition(|c| {
                    let mut cs = vec![];
                    c.columns(&mut cs);
                    !cs.is_empty() && !c.has_correlated_subquery() && cs.iter().all(|&x| x >= right_start)
                });
                if !only_right.is_empty() {
                    right = right.filter(Expr::and_all(
                        only_right
                            .into_iter()
                            .map(|c| c.remap(&|i| i - right_start))
                            .collect(),
                    ));
                }
                on_conj = rest;
            }
            let (mut lk, mut rk, mut residual) = (vec![], vec![], vec![]);
            for c in on_conj {
                if let Expr::Binary(BinOp::Eq, a, b) = &c {
                    let (mut ca, mut cb) = (vec![], vec![]);
                    a.columns(&mut ca);
                    b.columns(&mut cb);
                    let left_only = |v: &[usize]| !v.is_empty() && v.iter().all(|&x| x < left_width);
                    let right_only = |v: &[usize]| !v.is_empty() && v.iter().all(|&x| x >= left_width);
                    if !c.has_subquery() && left_only(&ca) && right_only(&cb) {
                        lk.push((**a).clone());
                        rk.push(b.clone().remap(&|i| i - left_width));
                        continue;
                    }
                    if !c.has_subquery() && left_only(&cb) && right_only(&ca) {
                        lk.push((**b).clone());
                        rk.push(a.clone().remap(&|i| i - left_width));
                        continue;
                    }
                }
                residual.push(c);
            }
            let residual = if residual.is_empty() {
                None
            } else {
                Some(Expr::and_all(residual))
            };
            let joined = if lk.is_empty() {
                Plan::NestedLoopJoin {
                    left: Box::new(left),
                    right: Box::new(right),
                    kind: s.kind,
                    on: residual,
                }
            } else {
                Plan::HashJoin {
                    left: Box::new(left),
                    right: Box::new(right),
                    kind: s.kind,
                    left_keys: lk,
                    right_keys: rk,
                    residual,
                }
            };
            group.push(Leaf {
                plan: joined,
                start: 0,
                width: left_width + s.leaf.width,
            });
        }
        group_conj.extend(where_conj);
        if group.is_empty() {
            return Ok(Plan::Values {
                rows: vec![vec![]],
                width: 0,
            }
            .filter(Expr::and_all(group_conj)));
        }
        Ok(optimizer::plan_join_group(group, group_conj, 0))
    }

    pub fn bind_select(
        &mut self,
        s: &ast::Select,
        order_by: &[ast::OrderByExpr],
    ) -> Result<(Plan, Vec<OutColumn>)> {
        self.selects += 1;
        let enclosing = std::mem::replace(&mut self.select, self.selects);
        let r = self.bind_select_windows(s, order_by);
        self.select = enclosing;
        r
    }

    /// Checks the SELECT's WINDOW definitions, then binds it.
    fn bind_select_windows(
        &mut self,
        s: &ast::Select,
        order_by: &[ast::OrderByExpr],
    ) -> Result<(Plan, Vec<OutColumn>)> {
        let mut defs: Vec<(String, ast::WindowSpec)> = Vec::new();
        for ast::NamedWindowDefinition(name, def) in &s.named_window {
            let name = ident(name);
            if defs.iter().any(|(n, _)| *n == name) {
                return Err(SqlError::new(
                    window::WINDOWING_ERROR,
                    format!("window \"{name}\" is already defined"),
                ));
            }
            let spec = match def {
                ast::NamedWindowExpr::WindowSpec(spec) => spec.clone(),
                ast::NamedWindowExpr::NamedWindow(other) => ast::WindowSpec {
                    window_name: Some(other.clone()),
                    partition_by: vec![],
                    order_by: vec![],
                    window_frame: None,
                },
            };
            // A definition may build on an earlier one only.
            if let Some(base) = &spec.window_name
                && !defs.iter().any(|(n, _)| *n == ident(base))
            {
                return Err(undefined_window(&ident(base)));
            }
            defs.push((name, spec));
        }
        self.named_windows.push(defs);
        let r = self.bind_select_inner(s, order_by);
        self.named_windows.pop();
        r
    }

    /// Runs `f` with window functions refused as being in `clause`.
    fn in_clause<T>(&mut self, clause: &'static str, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let saved = self.window_clause.replace(clause);
        let r = f(self);
        self.window_clause = saved;
        r
    }

    /// The effective specification of an OVER clause: a named window, or
    /// an inline one possibly copying a named window (PostgreSQL's rules:
    /// the copy keeps the base's PARTITION BY, may add ORDER BY only if
    /// the base has none, and the base may not have a frame).
    fn window_spec(&self, over: &ast::WindowType) -> Result<ast::WindowSpec> {
        let lookup = |name: &str| -> Result<ast::WindowSpec> {
            let defs = self.named_windows.last().map(Vec::as_slice).unwrap_or_default();
            let mut spec = defs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, s)| s.clone())
                .ok_or_else(|| undefined_window(name))?;
            // Definitions only refer to earlier ones, so this ends.
            let mut guard = defs.len();
            while let Some(base) = spec.window_name.take() {
                let base_name = ident(&base);
                let b = defs
                    .iter()
                    .find(|(n, _)| *n == base_name)
                    .map(|(_, s)| s.clone())
                    .ok_or_else(|| undefined_window(&base_name))?;
                spec = merge_window(&base_name, b, spec)?;
                guard = guard
                    .checked_sub(1)
                    .ok_or_else(|| SqlError::internal("window cycle"))?;
            }
            Ok(spec)
        };
        match over {
            ast::WindowType::NamedWindow(n) => lookup(&ident(n)),
            ast::WindowType::WindowSpec(spec) => match &spec.window_name {
                None => Ok(spec.clone()),
                Some(base) => {
                    let name = ident(base);
                    let b = lookup(&name)?;
                    let mut own = spec.clone();
                    own.window_name = None;
                    merge_window(&name, b, own)
                }
            },
        }
    }

    /// Binds `name(args) OVER ...` into a window slot of `aggs`.
    #[allow(clippy::too_many_arguments)]
    fn bind_window_call(
        &mut self,
        name: &str,
        f: &ast::Function,
        over: &ast::WindowType,
        distinct: bool,
        args: &[&ast::FunctionArg],
        scope: &Scope,
        aggs: Option<&mut AggState>,
    ) -> Result<Expr> {
        let func = match (agg_func(name), WinFunc::by_name(name)) {
            (Some(a), _) => WinFunc::Agg(a),
            (None, Some((w, _, _))) => w,
            (None, None) => {
                // A plain function: is it one at all?
                let mut plain = f.clone();
                plain.over = None;
                self.bind_function(&plain, scope, None)?;
                return Err(SqlError::new(
                    codes::WRONG_OBJECT_TYPE,
                    format!("OVER specified, but {name} is not a window function nor an aggregate function"),
                ));
            }
        };
        let state = match aggs {
            Some(state) if self.window_clause.is_none() => state,
            _ => return Err(window::not_allowed(self.window_clause)),
        };
        if distinct {
            return Err(SqlError::unsupported(
                "DISTINCT is not implemented for window functions",
            ));
        }
        let spec = self.window_spec(over)?;
        let saved = self.window_clause.replace("window");
        let r = self.bind_window_parts(name, func, args, &spec, scope, state);
        self.window_clause = saved;
        let mut call = r?;
        call.filter = match (&f.filter, call.func) {
            (None, _) => None,
            (Some(e), WinFunc::Agg(_)) => Some(self.bind_filter(e, scope)?),
            (Some(_), _) => {
                return Err(SqlError::unsupported(
                    "FILTER is not implemented for non-aggregate window functions",
                ));
            }
        };
        let types: Vec<DataType> = scope.iter().map(|c| c.ty).collect();
        let ty = window_type(&call, &types, state);
        let k = match state.windows.iter().position(|c| *c == call) {
            Some(k) => k,
            None => {
                state.windows.push(call);
                state.windows.len() - 1
            }
        };
        // The slot carries its type, so expressions over it are typed
        // (e.g. `row_number() OVER () + 1` is bigint arithmetic).
        Ok(match ty {
            DataType::Unknown => Expr::Window(k),
            ty => Expr::Cast(Box::new(Expr::Window(k)), ty),
        })
    }

    fn bind_window_parts(
        &mut self,
        name: &str,
        mut func: WinFunc,
        args: &[&ast::FunctionArg],
        spec: &ast::WindowSpec,
        scope: &Scope,
        state: &mut AggState,
    ) -> Result<WindowCall> {
        let mut bound = Vec::new();
        // The arguments as written, before folding turns `'t'::text` or
        // `NULL::int` into a bare literal: their types are the ones
        // PostgreSQL resolves the function by.
        let mut written = Vec::new();
        for a in args {
            match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard)
                    if func == WinFunc::Agg(AggFunc::Count) =>
                {
                    func = WinFunc::Agg(AggFunc::CountStar);
                }
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                    let b = self.bind_expr_inner(e, scope, Some(state))?;
                    written.push(b.clone());
                    bound.push(self.fold(b));
                }
                _ => return Err(SqlError::unsupported("this window function argument")),
            }
        }
        let types: Vec<DataType> = scope.iter().map(|c| c.ty).collect();
        // A NULL written with a type (`NULL::int`) keeps it: folding left
        // a bare NULL, which would take its type from its neighbours.
        for (b, w) in bound.iter_mut().zip(&written) {
            if matches!(b, Expr::Literal(Value::Null)) && !untyped(w) {
                let t = agg_type(w, &types, state);
                if t != DataType::Unknown {
                    *b = Expr::Cast(Box::new(Expr::Literal(Value::Null)), t);
                }
            }
        }
        match func {
            WinFunc::Agg(a) => {
                func = WinFunc::Agg(self.check_agg_args(name, a, &bound, scope)?);
            }
            WinFunc::Rank | WinFunc::DenseRank | WinFunc::PercentRank | WinFunc::CumeDist
                if !bound.is_empty() =>
            {
                // With arguments these are hypothetical-set aggregates.
                return Err(SqlError::new(
                    codes::WRONG_OBJECT_TYPE,
                    format!("WITHIN GROUP is required for ordered-set aggregate {name}"),
                ));
            }
            f => {
                let (_, min, max) = WinFunc::by_name(name).unwrap_or((f, 0, 0));
                if bound.len() < min || bound.len() > max {
                    return Err(SqlError::new(
                        codes::UNDEFINED_FUNCTION,
                        format!("function {name} with {} arguments does not exist", bound.len()),
                    ));
                }
                // The integer argument: ntile's count, lag/lead's offset,
                // nth_value's position.
                let int_arg = match f {
                    WinFunc::Ntile => Some(0),
                    WinFunc::Lag | WinFunc::Lead | WinFunc::NthValue => Some(1),
                    _ => None,
                };
                // An untyped literal there (a parameter sent as text) is an
                // integer.
                if let Some(i) = int_arg
                    && written.get(i).is_some_and(untyped)
                    && let Some(Expr::Literal(Value::Text(s))) = bound.get(i)
                {
                    let v = Value::Text(s.clone()).cast(DataType::Int4)?;
                    bound[i] = Expr::Literal(v);
                }
                // An untyped argument takes the type its place needs (the
                // integer above); a typed one keeps the type it was written
                // with.
                let arg_type = |i: usize, state: &AggState| match (written.get(i), bound.get(i)) {
                    (Some(w), _) if !untyped(w) => agg_type(w, &types, state),
                    (_, Some(b)) => agg_type(b, &types, state),
                    _ => DataType::Unknown,
                };
                if let Some(i) = int_arg
                    && i < bound.len()
                {
                    let t = arg_type(i, state);
                    // PostgreSQL's argument is `integer`: bigint does not
                    // convert to it implicitly.
                    // lag/lead's default must be of the value's type (an
                    // untyped literal or NULL converts to it).
                    let default_fits = match (f, written.as_slice()) {
                        (WinFunc::Lag | WinFunc::Lead, [value, _, default]) => {
                            untyped(value)
                                || untyped(default)
                                || union_compatible(arg_type(0, state), arg_type(2, state))
                        }
                        _ => true,
                    };
                    if !(t.is_integer() && t != DataType::Int8 || t == DataType::Unknown) || !default_fits {
                        let names: Vec<&str> = (0..bound.len()).map(|i| arg_type(i, state).name()).collect();
                        return Err(SqlError::new(
                            codes::UNDEFINED_FUNCTION,
                            format!("function {name}({}) does not exist", names.join(", ")),
                        ));
                    }
                }
            }
        }
        let mut partition_by = Vec::new();
        for e in &spec.partition_by {
            let b = self.in_clause("window definitions", |b| b.bind_expr_inner(e, scope, Some(state)))?;
            partition_by.push(self.fold(b));
        }
        let mut order_by = Vec::new();
        for o in &spec.order_by {
            let b = self.in_clause("window definitions", |b| {
                b.bind_expr_inner(&o.expr, scope, Some(state))
            })?;
            let b = self.fold(b);
            order_by.push(sort_key(b, &o.options));
        }
        // RANGE offsets need the one ORDER BY key's type.
        let key_type = match order_by.as_slice() {
            [k] if k.expr.any(&|x| matches!(x, Expr::Agg(_))) => Some(agg_type(&k.expr, &types, state)),
            [k] => Some(infer_type(&k.expr, &types)),
            _ => None,
        };
        let frame = self.bind_frame(spec.window_frame.as_ref(), order_by.len(), key_type, scope)?;
        Ok(WindowCall {
            func,
            args: bound,
            filter: None,
            partition_by,
            order_by,
            frame,
        })
    }

    /// A frame clause; only forms [`Frame`] can express, others are 0A000.
    /// `order_len` is the window's number of ORDER BY keys, `key_type` the
    /// type of the only one.
    fn bind_frame(
        &mut self,
        f: Option<&ast::WindowFrame>,
        order_len: usize,
        key_type: Option<DataType>,
        scope: &Scope,
    ) -> Result<Frame> {
        let Some(f) = f else {
            return Ok(Frame::DEFAULT);
        };
        let units = match f.units {
            ast::WindowFrameUnits::Rows => FrameUnits::Rows,
            ast::WindowFrameUnits::Range => FrameUnits::Range,
            ast::WindowFrameUnits::Groups => {
                if order_len == 0 {
                    return Err(SqlError::new(
                        window::WINDOWING_ERROR,
                        "GROUPS mode requires an ORDER BY clause",
                    ));
                }
                FrameUnits::Groups
            }
        };
        // The frame's shape is checked first, as PostgreSQL's grammar does.
        let shape = |b: &ast::WindowFrameBound| match b {
            ast::WindowFrameBound::CurrentRow => FrameBound::CurrentRow,
            ast::WindowFrameBound::Preceding(None) => FrameBound::UnboundedPreceding,
            ast::WindowFrameBound::Following(None) => FrameBound::UnboundedFollowing,
            ast::WindowFrameBound::Preceding(Some(_)) => FrameBound::Preceding(0),
            ast::WindowFrameBound::Following(Some(_)) => FrameBound::Following(0),
        };
        let err = |m: &str| Err(SqlError::new(window::WINDOWING_ERROR, m.to_string()));
        match (
            shape(&f.start_bound),
            f.end_bound.as_ref().map_or(FrameBound::CurrentRow, shape),
        ) {
            (FrameBound::UnboundedFollowing, _) => return err("frame start cannot be UNBOUNDED FOLLOWING"),
            (_, FrameBound::UnboundedPreceding) => return err("frame end cannot be UNBOUNDED PRECEDING"),
            (FrameBound::CurrentRow, FrameBound::Preceding(_)) => {
                return err("frame starting from current row cannot have preceding rows");
            }
            (FrameBound::Following(_), FrameBound::Preceding(_) | FrameBound::CurrentRow) => {
                return err("frame starting from following row cannot have preceding rows");
            }
            _ => {}
        }
        let mut bound = |b: &ast::WindowFrameBound, which: &str| -> Result<(FrameBound, Option<Value>)> {
            let offset = match b {
                ast::WindowFrameBound::CurrentRow => return Ok((FrameBound::CurrentRow, None)),
                ast::WindowFrameBound::Preceding(None) => return Ok((FrameBound::UnboundedPreceding, None)),
                ast::WindowFrameBound::Following(None) => return Ok((FrameBound::UnboundedFollowing, None)),
                ast::WindowFrameBound::Preceding(Some(e)) | ast::WindowFrameBound::Following(Some(e)) => e,
            };
            let following = matches!(b, ast::WindowFrameBound::Following(_));
            let kind = |n| {
                if following {
                    FrameBound::Following(n)
                } else {
                    FrameBound::Preceding(n)
                }
            };
            let unit = match units {
                FrameUnits::Rows => "ROWS",
                FrameUnits::Groups => "GROUPS",
                FrameUnits::Range => "RANGE",
            };
            // sqlparser reads a quoted offset (`'1' PRECEDING`) as an
            // INTERVAL with no field: it is an untyped literal.
            let offset = match &**offset {
                ast::Expr::Interval(iv)
                    if iv.leading_field.is_none() && matches!(&*iv.value, ast::Expr::Value(_)) =>
                {
                    &*iv.value
                }
                other => other,
            };
            let e = self.bind_expr(offset, scope, None)?;
            let e = match self.fold(e) {
                // A parameter being described stands as NULL: its value,
                // checked when the statement runs, is not known yet.
                Expr::Literal(Value::Null) if crate::placeholders::is_describing() => {
                    let zero = match key_type {
                        Some(t) if is_point_in_time(t) => Value::Interval(crate::interval::Interval::ZERO),
                        _ => Value::Int(0),
                    };
                    return Ok((kind(0), (units == FrameUnits::Range).then_some(zero)));
                }
                // An untyped literal (a parameter sent as text) takes the
                // offset's type: bigint, or for RANGE the key's (an
                // interval beside a date or timestamp).
                Expr::Literal(Value::Text(s)) => {
                    let ty = match (units, key_type) {
                        (FrameUnits::Range, Some(t)) if t.is_numeric() => t,
                        (FrameUnits::Range, Some(t)) if is_point_in_time(t) => DataType::Interval,
                        _ => DataType::Int8,
                    };
                    Expr::Literal(Value::Text(s).cast(ty)?)
                }
                e => e,
            };
            if e.any(&|x| matches!(x, Expr::Column(_) | Expr::Outer { .. })) {
                return Err(SqlError::new(
                    codes::INVALID_COLUMN_REFERENCE,
                    format!("argument of {unit} must not contain variables"),
                ));
            }
            if units == FrameUnits::Range {
                if order_len != 1 {
                    return Err(SqlError::new(
                        window::WINDOWING_ERROR,
                        "RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column",
                    ));
                }
                let key = key_type.unwrap_or(DataType::Unknown);
                let offset_type_unsupported = |v: &Value| {
                    SqlError::new(
                        codes::FEATURE_NOT_SUPPORTED,
                        format!(
                            "RANGE with offset PRECEDING/FOLLOWING is not supported for column type {} and offset type {}",
                            key.name(),
                            v.data_type().name()
                        ),
                    )
                };
                if !(key.is_integer()
                    || key.is_float()
                    || matches!(key, DataType::Numeric(_))
                    || is_point_in_time(key))
                {
                    return Err(SqlError::new(
                        codes::FEATURE_NOT_SUPPORTED,
                        format!(
                            "RANGE with offset PRECEDING/FOLLOWING is not supported for column type {}",
                            key.name()
                        ),
                    ));
                }
                let v = match e {
                    Expr::Literal(Value::Null) => {
                        return Err(SqlError::new(
                            "22004",
                            format!("frame {which} offset must not be null"),
                        ));
                    }
                    Expr::Literal(
                        v @ (Value::Int(_) | Value::Numeric(_) | Value::Float(_) | Value::Interval(_)),
                    ) => v,
                    Expr::Literal(v) => return Err(offset_type_unsupported(&v)),
                    _ => return Err(SqlError::unsupported("window frame offsets other than constants")),
                };
                // Integer keys take integer offsets only (PostgreSQL's
                // in_range functions).
                // (and a NUMERIC key no double precision offset).
                // Dates and timestamps take intervals, numbers numbers.
                if key.is_integer() && !matches!(v, Value::Int(_))
                    || matches!(key, DataType::Numeric(_)) && matches!(v, Value::Float(_))
                    || is_point_in_time(key) != matches!(v, Value::Interval(_))
                {
                    return Err(offset_type_unsupported(&v));
                }
                let zero = match v {
                    Value::Interval(_) => Value::Interval(crate::interval::Interval::ZERO),
                    _ => Value::Int(0),
                };
                if matches!(v, Value::Float(f) if f.is_nan())
                    || v.sql_cmp(&zero)? == Some(std::cmp::Ordering::Less)
                {
                    return Err(SqlError::new(
                        "22013",
                        "invalid preceding or following size in window function",
                    ));
                }
                return Ok((kind(0), Some(v)));
            }
            let n = match e {
                Expr::Literal(Value::Int(n)) if n >= 0 => n as u64,
                Expr::Literal(Value::Int(_)) => {
                    return Err(SqlError::new(
                        "22013",
                        format!("frame {which} offset must not be negative"),
                    ));
                }
                Expr::Literal(Value::Null) => {
                    return Err(SqlError::new(
                        "22004",
                        format!("frame {which} offset must not be null"),
                    ));
                }
                Expr::Literal(_) => {
                    return Err(SqlError::mismatch(format!(
                        "argument of {unit} must be type bigint"
                    )));
                }
                _ => return Err(SqlError::unsupported("window frame offsets other than constants")),
            };
            Ok((kind(n), None))
        };
        let (start, start_value) = bound(&f.start_bound, "starting")?;
        let (end, end_value) = match &f.end_bound {
            Some(e) => bound(e, "ending")?,
            None => (FrameBound::CurrentRow, None),
        };
        Ok(Frame {
            units,
            start,
            end,
            start_value,
            end_value,
        })
    }

    /// Checks an aggregate's bound arguments (count, types); `count()`
    /// with none is `count(*)`.
    fn check_agg_args(
        &self,
        name: &str,
        mut func: AggFunc,
        bound: &[Expr],
        scope: &Scope,
    ) -> Result<AggFunc> {
        if func == AggFunc::Count && bound.is_empty() {
            func = AggFunc::CountStar;
        }
        let expected = match func {
            AggFunc::CountStar => 0,
            AggFunc::StringAgg => 2,
            _ => 1,
        };
        if bound.len() != expected {
            return Err(SqlError::new(
                codes::UNDEFINED_FUNCTION,
                format!("function {name} with {} arguments does not exist", bound.len()),
            ));
        }
        if matches!(func, AggFunc::Sum | AggFunc::Avg) {
            let t = infer_type(&bound[0], &scope.iter().map(|c| c.ty).collect::<Vec<_>>());
            if matches!(
                t,
                DataType::Text(_)
                    | DataType::Bool
                    | DataType::Date
                    | DataType::Timestamp
                    | DataType::TimestampTz
                    | DataType::Bytea
                    | DataType::Uuid
            ) {
                return Err(SqlError::new(
                    codes::UNDEFINED_FUNCTION,
                    format!("function {name}({}) does not exist", t.name()),
                ));
            }
        }
        Ok(func)
    }

    fn bind_select_inner(
        &mut self,
        s: &ast::Select,
        order_by: &[ast::OrderByExpr],
    ) -> Result<(Plan, Vec<OutColumn>)> {
        if s.top.is_some() || s.into.is_some() || !s.lateral_views.is_empty() || s.qualify.is_some() {
            return Err(SqlError::unsupported("this SELECT clause"));
        }
        let mut scope: Scope = Vec::new();
        let where_: Vec<&ast::Expr> = s.selection.iter().collect();
        let input = if s.from.is_empty() {
            let p = Plan::Values {
                rows: vec![vec![]],
                width: 0,
            };
            let mut conj = Vec::new();
            for w in where_ {
                let b = self.in_clause("WHERE", |b| b.bind_expr(w, &scope, None))?;
                conj.push(self.fold(b));
            }
            if conj.is_empty() {
                p
            } else {
                p.filter(Expr::and_all(conj))
            }
        } else {
            self.bind_from(&s.from, &mut scope, where_, 0)?
        };
        let in_types: Vec<DataType> = scope.iter().map(|c| c.ty).collect();

        // Select list.
        let mut aggs = AggState {
            calls: vec![],
            windows: vec![],
        };
        // Every WINDOW definition must be valid, used or not (its
        // aggregates count, and after grouping its columns must be
        // grouped).
        let names: Vec<String> = self
            .named_windows
            .last()
            .map(|d| d.iter().map(|(n, _)| n.clone()).collect())
            .unwrap_or_default();
        let mut definitions = Vec::new();
        for name in names {
            let spec = self.window_spec(&ast::WindowType::NamedWindow(ast::Ident::new(&name)))?;
            definitions.push(self.in_clause("window definitions", |b| {
                b.bind_window_parts("row_number", WinFunc::RowNumber, &[], &spec, &scope, &mut aggs)
            })?);
        }
        let mut exprs = Vec::new();
        let mut names = Vec::new();
        let mut types: Vec<DataType> = Vec::new();
        for item in &s.projection {
            match item {
                ast::SelectItem::Wildcard(_) => {
                    if scope.is_empty() {
                        return Err(SqlError::syntax("SELECT * with no tables specified is not valid"));
                    }
                    for (i, c) in scope.iter().enumerate().filter(|(_, c)| !c.hidden) {
                        exprs.push(Expr::Column(i));
                        types.push(c.ty);
                        names.push(c.name.clone());
                    }
                }
                ast::SelectItem::QualifiedWildcard(kind, _) => {
                    let q = match kind {
                        ast::SelectItemQualifiedWildcardKind::ObjectName(n) => object_name(n)?,
                        _ => return Err(SqlError::unsupported("this wildcard")),
                    };
                    let mut any = false;
                    for (i, c) in scope.iter().enumerate() {
                        if c.table.as_deref() == Some(q.as_str()) {
                            exprs.push(Expr::Column(i));
                            types.push(c.ty);
                            names.push(c.name.clone());
                            any = true;
                        }
                    }
                    if !any {
                        return Err(SqlError::new(
                            codes::UNDEFINED_TABLE,
                            format!("missing FROM-clause entry for table \"{q}\""),
                        ));
                    }
                }
                ast::SelectItem::UnnamedExpr(e) => {
                    let b = self.bind_expr(e, &scope, Some(&mut aggs))?;
                    types.push(agg_type(&b, &in_types, &aggs));
                    exprs.push(self.fold(b));
                    names.push(expr_name(e));
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    let b = self.bind_expr(expr, &scope, Some(&mut aggs))?;
                    types.push(agg_type(&b, &in_types, &aggs));
                    exprs.push(self.fold(b));
                    names.push(ident(alias));
                }
                other => return Err(SqlError::unsupported(format!("select item {other}"))),
            }
        }
        let out_cols_pre: Vec<OutColumn> = names
            .iter()
            .zip(&types)
            .map(|(n, t)| OutColumn {
                name: n.clone(),
                ty: *t,
            })
            .collect();

        // ORDER BY: output positions/names, or expressions over the input.
        enum OrderRef {
            Output(usize),
            Extra(Expr),
        }
        let mut order_refs = Vec::new();
        for o in order_by {
            let r = match self.output_position(&o.expr, &out_cols_pre)? {
                Some(i) => OrderRef::Output(i),
                None => {
                    let b = self.bind_expr(&o.expr, &scope, Some(&mut aggs))?;
                    let b = self.fold(b);
                    match exprs.iter().position(|e| *e == b) {
                        Some(i) => OrderRef::Output(i),
                        None => OrderRef::Extra(b),
                    }
                }
            };
            order_refs.push((r, &o.options));
        }
        // DISTINCT ON: resolved as ORDER BY items are.
        let distinct_on = match &s.distinct {
            Some(ast::Distinct::On(list)) => {
                let mut refs = Vec::new();
                for e in list {
                    if let ast::Expr::Value(v) = e
                        && !matches!(v.value, ast::Value::Number(..))
                    {
                        return Err(SqlError::syntax(format!(
                            "non-integer constant in DISTINCT ON: {e}"
                        )));
                    }
                    let pos = self.output_position(e, &out_cols_pre).map_err(|mut err| {
                        err.message = err.message.replace("ORDER BY position", "DISTINCT ON position");
                        err
                    })?;
                    refs.push(match pos {
                        Some(i) => OrderRef::Output(i),
                        None => {
                            let b = self.bind_expr(e, &scope, Some(&mut aggs))?;
                            let b = self.fold(b);
                            match exprs.iter().position(|e| *e == b) {
                                Some(i) => OrderRef::Output(i),
                                None => OrderRef::Extra(b),
                            }
                        }
                    });
                }
                Some(refs)
            }
            _ => None,
        };

        let group_exprs: Vec<Expr> = match &s.group_by {
            ast::GroupByExpr::Expressions(g, mods) if mods.is_empty() => {
                let mut v = Vec::new();
                for e in g {
                    // GROUP BY may name an output position or alias.
                    let b = match self.output_position(e, &out_cols_pre)? {
                        Some(i) if !matches!(e, ast::Expr::Identifier(id) if scope.iter().any(|c| c.name == ident(id))) => {
                            exprs[i].clone()
                        }
                        _ => {
                            let b = self.in_clause("GROUP BY", |b| b.bind_expr(e, &scope, None))?;
                            self.fold(b)
                        }
                    };
                    if b.any(&|x| matches!(x, Expr::Window(_))) {
                        return Err(window::not_allowed(Some("GROUP BY")));
                    }
                    v.push(b);
                }
                v
            }
            _ => return Err(SqlError::unsupported("GROUP BY ALL / ROLLUP / CUBE")),
        };
        let having = match &s.having {
            Some(h) => {
                let b = self.in_clause("HAVING", |b| b.bind_expr(h, &scope, Some(&mut aggs)))?;
                Some(self.fold(b))
            }
            None => None,
        };

        if !aggs.calls.is_empty() && self.recursive.iter().any(|r| r.select == Some(self.select)) {
            return Err(SqlError::new(
                codes::INVALID_RECURSIVE_QUERY,
                "aggregate functions are not allowed in a recursive query's recursive term",
            ));
        }
        let mut plan = input;
        let mut windows = std::mem::take(&mut aggs.windows);
        let aggregating = !group_exprs.is_empty() || !aggs.calls.is_empty() || having.is_some();
        // Columns of the projection the ORDER BY (and DISTINCT ON) items
        // read: an output column, or an extra one past the select list
        // (one per distinct expression).
        let width = exprs.len();
        let mut extra_exprs: Vec<Expr> = Vec::new();
        let mut column_of = |r: &OrderRef| match r {
            OrderRef::Output(i) => *i,
            OrderRef::Extra(e) => match extra_exprs.iter().position(|x| x == e) {
                Some(p) => width + p,
                None => {
                    extra_exprs.push(e.clone());
                    width + extra_exprs.len() - 1
                }
            },
        };
        let order_cols: Vec<(usize, &ast::OrderByOptions)> =
            order_refs.iter().map(|(r, o)| (column_of(r), *o)).collect();
        let distinct_on_cols: Option<Vec<usize>> = distinct_on.map(|refs| {
            let mut cols: Vec<usize> = Vec::new();
            for r in &refs {
                let c = column_of(r);
                if !cols.contains(&c) {
                    cols.push(c);
                }
            }
            cols
        });
        if let Some(cols) = &distinct_on_cols {
            check_distinct_on(cols, &order_cols)?;
        }
        if aggregating {
            let ng = group_exprs.len();
            let rewrite = |e: Expr| rewrite_grouped(e, &group_exprs, ng);
            exprs = exprs.into_iter().map(rewrite).collect::<Result<_>>()?;
            extra_exprs = extra_exprs.into_iter().map(rewrite).collect::<Result<_>>()?;
            let having = having.map(rewrite).transpose()?;
            // (Window calls run over the grouped rows too.)
            let window_exprs = windows.iter().flat_map(|w| {
                w.args
                    .iter()
                    .chain(&w.filter)
                    .chain(&w.partition_by)
                    .chain(w.order_by.iter().map(|k| &k.expr))
            });
            if exprs
                .iter()
                .chain(&extra_exprs)
                .chain(having.iter())
                .chain(window_exprs)
                .any(Expr::has_correlated_subquery)
            {
                return Err(SqlError::unsupported(
                    "correlated subqueries in an aggregated select list",
                ));
            }
            plan = Plan::Aggregate {
                input: Box::new(plan),
                group_by: group_exprs.clone(),
                aggs: aggs.calls,
            };
            if let Some(h) = having {
                plan = plan.filter(h);
            }
            for w in &definitions {
                for e in w.partition_by.iter().chain(w.order_by.iter().map(|k| &k.expr)) {
                    rewrite(e.clone())?;
                }
            }
            for w in &mut windows {
                w.args = std::mem::take(&mut w.args)
                    .into_iter()
                    .map(rewrite)
                    .collect::<Result<_>>()?;
                w.filter = w.filter.take().map(rewrite).transpose()?;
                w.partition_by = std::mem::take(&mut w.partition_by)
                    .into_iter()
                    .map(rewrite)
                    .collect::<Result<_>>()?;
                for k in &mut w.order_by {
                    k.expr = rewrite(std::mem::replace(&mut k.expr, Expr::Literal(Value::Null)))?;
                }
            }
        }
        if !windows.is_empty() {
            // Window results follow the input's columns.
            let base = plan.width();
            let to_col = |e: Expr| {
                e.transform(&mut |x| {
                    Ok(match x {
                        Expr::Window(k) => Expr::Column(base + k),
                        x => x,
                    })
                })
            };
            exprs = exprs.into_iter().map(to_col).collect::<Result<_>>()?;
            extra_exprs = extra_exprs.into_iter().map(to_col).collect::<Result<_>>()?;
            plan = Plan::Window {
                input: Box::new(plan),
                calls: windows,
            };
        }
        let distinct = matches!(s.distinct, Some(ast::Distinct::Distinct));
        if distinct && !extra_exprs.is_empty() {
            return Err(SqlError::new(
                codes::INVALID_COLUMN_REFERENCE,
                "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
            ));
        }
        let mut all = exprs;
        all.extend(extra_exprs);
        plan = Plan::Project {
            input: Box::new(plan),
            exprs: all,
        };
        if distinct {
            plan = Plan::Distinct {
                input: Box::new(plan),
            };
        }
        let mut keys: Vec<SortKey> = order_cols
            .iter()
            .map(|(c, opts)| sort_key(Expr::Column(*c), opts))
            .collect();
        if let Some(cols) = &distinct_on_cols {
            // Sorted by the ORDER BY, then by the DISTINCT ON items it
            // leaves out (all of them without ORDER BY), so that the first
            // row of each set is the one the ORDER BY puts first.
            for &c in cols {
                if !order_cols.iter().any(|(o, _)| *o == c) {
                    keys.push(SortKey {
                        expr: Expr::Column(c),
                        desc: false,
                        nulls_first: false,
                    });
                }
            }
        }
        if !keys.is_empty() {
            plan = Plan::Sort {
                input: Box::new(plan),
                keys,
            };
        }
        if let Some(cols) = distinct_on_cols {
            plan = Plan::DistinctOn {
                input: Box::new(plan),
                keys: cols,
            };
        }
        if plan.width() != width {
            plan = Plan::Project {
                input: Box::new(plan),
                exprs: (0..width).map(Expr::Column).collect(),
            };
        }
        Ok((plan, out_cols_pre))
    }

    fn resolve(&mut self, qualifier: Option<&str>, name: &str, scope: &Scope) -> Result<Expr> {
        let find = |scope: &Scope| -> Result<Option<usize>> {
            let mut hits = scope.iter().enumerate().filter(|(_, c)| {
                c.name == name
                    && match qualifier {
                        None => !c.hidden,
                        Some(q) => c.table.as_deref() == Some(q),
                    }
            });
            let first = hits.next().map(|(i, _)| i);
            if first.is_some() && hits.next().is_some() {
                return Err(SqlError::new(
                    codes::AMBIGUOUS_COLUMN,
                    format!("column reference \"{name}\" is ambiguous"),
                ));
            }
            Ok(first)
        };
        if let Some(i) = find(scope)? {
            return Ok(Expr::Column(i));
        }
        for (depth, outer) in self.outer.iter().rev().enumerate() {
            if let Some(i) = find(outer)? {
                // Every query between here and the owner is correlated.
                let n = self.correlated.len();
                for c in self.correlated.iter_mut().skip(n.saturating_sub(depth + 1)) {
                    *c = true;
                }
                return Ok(Expr::Outer { depth, index: i });
            }
        }
        let full = match qualifier {
            Some(q) => {
                let known = scope
                    .iter()
                    .chain(self.outer.iter().flatten())
                    .any(|c| c.table.as_deref() == Some(q));
                if !known {
                    return Err(SqlError::new(
                        codes::UNDEFINED_TABLE,
                        format!("missing FROM-clause entry for table \"{q}\""),
                    ));
                }
                format!("{q}.{name}")
            }
            None => name.to_string(),
        };
        Err(SqlError::new(
            codes::UNDEFINED_COLUMN,
            format!("column \"{full}\" does not exist"),
        ))
    }

    fn bind_subquery(&mut self, q: &ast::Query, scope: &Scope) -> Result<(Subquery, Vec<OutColumn>)> {
        self.outer.push(scope.clone());
        self.correlated.push(false);
        let r = self.bind_query(q);
        self.outer.pop();
        let correlated = self.correlated.pop().unwrap_or(true);
        let (plan, cols) = r?;
        self.next_subquery += 1;
        let ty = cols.first().map_or(DataType::Unknown, |c| c.ty);
        Ok((
            Subquery {
                plan,
                id: self.next_subquery,
                correlated,
                ty,
            },
            cols,
        ))
    }

    pub fn bind_expr(&mut self, e: &ast::Expr, scope: &Scope, aggs: Option<&mut AggState>) -> Result<Expr> {
        self.bind_expr_inner(e, scope, aggs)
    }

    fn bind_expr_inner(&mut self, e: &ast::Expr, scope: &Scope, aggs: Option<&mut AggState>) -> Result<Expr> {
        self.nested(|b| b.bind_expr_guarded(e, scope, aggs))
    }

    fn bind_expr_guarded(
        &mut self,
        e: &ast::Expr,
        scope: &Scope,
        mut aggs: Option<&mut AggState>,
    ) -> Result<Expr> {
        use ast::Expr as E;
        macro_rules! b {
            ($e:expr) => {
                Box::new(self.bind_expr_inner($e, scope, aggs.as_deref_mut())?)
            };
        }
        Ok(match e {
            E::Identifier(i) => self.resolve(None, &ident(i), scope)?,
            E::CompoundIdentifier(parts) => {
                let n = parts.len();
                if n < 2 {
                    return Err(SqlError::syntax("bad identifier"));
                }
                self.resolve(Some(&ident(&parts[n - 2])), &ident(&parts[n - 1]), scope)?
            }
            E::Value(v) => match &v.value {
                ast::Value::Placeholder(p) => {
                    return match crate::placeholders::bound(p)? {
                        crate::placeholders::Bound::Literal(v) => Ok(Expr::Literal(v)),
                        crate::placeholders::Bound::Syntax(e) => self.bind_expr_inner(&e, scope, aggs),
                    };
                }
                v => Expr::Literal(literal(v)?),
            },
            E::Nested(e) => *b!(e),
            E::UnaryOp { op, expr } => match op {
                ast::UnaryOperator::Plus => *b!(expr),
                ast::UnaryOperator::Minus => {
                    // Fold negative numeric literals so i64::MIN parses.
                    if let E::Value(v) = &**expr
                        && let ast::Value::Number(n, _) = &v.value
                    {
                        return Ok(Expr::Literal(number(&format!("-{n}"))?));
                    }
                    let e = Expr::Unary(UnOp::Neg, b!(expr));
                    self.check_width(e, scope)
                }
                ast::UnaryOperator::Not => Expr::Unary(UnOp::Not, b!(expr)),
                // PostgreSQL's `|/` takes only double precision.
                ast::UnaryOperator::PGSquareRoot => {
                    Expr::Func(Func::Sqrt, vec![Expr::Cast(b!(expr), DataType::Float8)])
                }
                ast::UnaryOperator::PGCubeRoot => Expr::Func(Func::Cbrt, vec![*b!(expr)]),
                ast::UnaryOperator::PGAbs => {
                    let e = Expr::Func(Func::Abs, vec![*b!(expr)]);
                    self.check_width(e, scope)
                }
                other => return Err(SqlError::unsupported(format!("operator {other}"))),
            },
            E::BinaryOp {
                left,
                op: ast::BinaryOperator::PGExp,
                right,
            } => Expr::Func(Func::Power, vec![*b!(left), *b!(right)]),
            E::BinaryOp {
                left,
                op:
                    op @ (ast::BinaryOperator::PGRegexMatch
                    | ast::BinaryOperator::PGRegexIMatch
                    | ast::BinaryOperator::PGRegexNotMatch
                    | ast::BinaryOperator::PGRegexNotIMatch),
                right,
            } => {
                use ast::BinaryOperator as O;
                let flags = match op {
                    O::PGRegexIMatch | O::PGRegexNotIMatch => "i",
                    _ => "",
                };
                let matched = Expr::Func(
                    Func::RegexpLike,
                    vec![*b!(left), *b!(right), Expr::Literal(Value::Text(flags.into()))],
                );
                match op {
                    O::PGRegexNotMatch | O::PGRegexNotIMatch => Expr::Unary(UnOp::Not, Box::new(matched)),
                    _ => matched,
                }
            }
            E::BinaryOp { left, op, right } => {
                use ast::BinaryOperator as O;
                let op = match op {
                    O::Plus => BinOp::Add,
                    O::Minus => BinOp::Sub,
                    O::Multiply => BinOp::Mul,
                    O::Divide => BinOp::Div,
                    O::Modulo => BinOp::Mod,
                    O::StringConcat => BinOp::Concat,
                    O::Gt => BinOp::Gt,
                    O::Lt => BinOp::Lt,
                    O::GtEq => BinOp::GtEq,
                    O::LtEq => BinOp::LtEq,
                    O::Eq => BinOp::Eq,
                    O::NotEq => BinOp::NotEq,
                    O::And => BinOp::And,
                    O::Or => BinOp::Or,
                    other => return Err(SqlError::unsupported(format!("operator {other}"))),
                };
                let (mut l, mut r) = (b!(left), b!(right));
                if matches!(
                    op,
                    BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq
                ) {
                    // A string literal compared with a TIMESTAMPTZ is read as
                    // one (its UTC offset applies), as PostgreSQL types it.
                    let types: Vec<DataType> = scope.iter().map(|c| c.ty).collect();
                    let tz = |e: &Expr| infer_type(e, &types) == DataType::TimestampTz;
                    if tz(&l)
                        && let Expr::Literal(v @ Value::Text(_)) = &*r
                    {
                        r = Box::new(Expr::Literal(v.cast(DataType::TimestampTz)?));
                    } else if tz(&r)
                        && let Expr::Literal(v @ Value::Text(_)) = &*l
                    {
                        l = Box::new(Expr::Literal(v.cast(DataType::TimestampTz)?));
                    }
                }
                let e = Expr::Binary(op, l, r);
                self.check_width(e, scope)
            }
            E::IsNull(e) => Expr::IsNull(b!(e), false),
            E::IsNotNull(e) => Expr::IsNull(b!(e), true),
            E::IsTrue(e) => Expr::IsDistinct(b!(e), Box::new(Expr::Literal(Value::Bool(true))), true),
            E::IsNotTrue(e) => Expr::IsDistinct(b!(e), Box::new(Expr::Literal(Value::Bool(true))), false),
            E::IsFalse(e) => Expr::IsDistinct(b!(e), Box::new(Expr::Literal(Value::Bool(false))), true),
            E::IsNotFalse(e) => Expr::IsDistinct(b!(e), Box::new(Expr::Literal(Value::Bool(false))), false),
            E::IsUnknown(e) => Expr::IsNull(b!(e), false),
            E::IsNotUnknown(e) => Expr::IsNull(b!(e), true),
            E::IsDistinctFrom(a, c) => Expr::IsDistinct(b!(a), b!(c), false),
            E::IsNotDistinctFrom(a, c) => Expr::IsDistinct(b!(a), b!(c), true),
            E::In {
                expr,
                target,
                negated,
                ..
            } => match target {
                ast::InTarget::List(list) => {
                    if list.is_empty() {
                        return Err(SqlError::syntax("syntax error at or near \")\""));
                    }
                    let x = b!(expr);
                    let mut l = Vec::new();
                    for i in list {
                        l.push(self.bind_expr_inner(i, scope, aggs.as_deref_mut())?);
                    }
                    Expr::InList {
                        expr: x,
                        list: l,
                        negated: *negated,
                    }
                }
                ast::InTarget::Subquery(q) => {
                    let x = b!(expr);
                    let (sub, cols) = self.bind_subquery(q, scope)?;
                    if cols.len() != 1 {
                        return Err(SqlError::syntax("subquery has too many columns"));
                    }
                    Expr::InSubquery {
                        expr: x,
                        subquery: Box::new(sub),
                        negated: *negated,
                    }
                }
                _ => return Err(SqlError::unsupported("this IN form")),
            },
            E::AnyOp {
                left,
                compare_op,
                right,
                ..
            } => return self.bind_quantified(left, compare_op, right, true, scope, aggs),
            E::AllOp {
                left,
                compare_op,
                right,
            } => return self.bind_quantified(left, compare_op, right, false, scope, aggs),
            E::Between {
                expr,
                negated,
                low,
                high,
            } => Expr::Between {
                expr: b!(expr),
                low: b!(low),
                high: b!(high),
                negated: *negated,
            },
            E::Like {
                negated,
                expr,
                pattern,
                escape_char: None,
                any: false,
            } => Expr::Like {
                expr: b!(expr),
                pattern: b!(pattern),
                negated: *negated,
                case_insensitive: false,
            },
            E::ILike {
                negated,
                expr,
                pattern,
                escape_char: None,
                any: false,
            } => Expr::Like {
                expr: b!(expr),
                pattern: b!(pattern),
                negated: *negated,
                case_insensitive: true,
            },
            E::Cast { expr, data_type, .. } => {
                let t = map_type(data_type)?;
                Expr::Cast(b!(expr), t)
            }
            E::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let operand = match operand {
                    Some(o) => Some(b!(o)),
                    None => None,
                };
                let mut whens = Vec::new();
                for c in conditions {
                    let w = self.bind_expr_inner(&c.condition, scope, aggs.as_deref_mut())?;
                    let t = self.bind_expr_inner(&c.result, scope, aggs.as_deref_mut())?;
                    whens.push((w, t));
                }
                let otherwise = match else_result {
                    Some(e) => Some(b!(e)),
                    None => None,
                };
                Expr::Case {
                    operand,
                    whens,
                    otherwise,
                }
            }
            E::Exists { subquery, negated } => {
                let (sub, _) = self.bind_subquery(subquery, scope)?;
                Expr::Exists {
                    subquery: Box::new(sub),
                    negated: *negated,
                }
            }
            E::Subquery(q) => {
                let (sub, cols) = self.bind_subquery(q, scope)?;
                if cols.len() != 1 {
                    return Err(SqlError::syntax("subquery must return only one column"));
                }
                Expr::ScalarSubquery(Box::new(sub))
            }
            E::Floor { expr, .. } => Expr::Func(Func::Floor, vec![*b!(expr)]),
            E::Ceil { expr, .. } => Expr::Func(Func::Ceil, vec![*b!(expr)]),
            E::Substring {
                expr,
                substring_from,
                substring_for,
                shorthand,
                ..
            } => {
                let mut args = vec![*b!(expr)];
                args.push(match substring_from {
                    Some(f) => *b!(f),
                    None => Expr::Literal(Value::Int(1)),
                });
                // `substring(s FROM pattern)`: a text (or untyped) start
                // is a regular expression, as PostgreSQL resolves it;
                // `substr` (the shorthand) has no such form.
                if !*shorthand && substring_for.is_none() && self.is_text(&args[1], scope) {
                    return Ok(Expr::Func(Func::RegexpSubstring, args));
                }
                if let Some(f) = substring_for {
                    args.push(*b!(f));
                }
                Expr::Func(Func::Substr, args)
            }
            E::Trim {
                expr,
                trim_where,
                trim_what,
                trim_characters: None,
            } => {
                let func = match trim_where {
                    Some(ast::TrimWhereField::Leading) => Func::Ltrim,
                    Some(ast::TrimWhereField::Trailing) => Func::Rtrim,
                    Some(ast::TrimWhereField::Both) | None => Func::Trim,
                };
                let mut args = vec![*b!(expr)];
                if let Some(what) = trim_what {
                    args.push(*b!(what));
                }
                Expr::Func(func, args)
            }
            E::Position { expr, r#in } => Expr::Func(Func::StrPos, vec![*b!(r#in), *b!(expr)]),
            E::Interval(iv) => self.bind_interval(iv)?,
            E::Extract { field, expr, .. } => Expr::Func(
                Func::Extract,
                vec![Expr::Literal(Value::Text(field.to_string())), *b!(expr)],
            ),
            E::TypedString(ts) => {
                let t = map_type(&ts.data_type)?;
                let v = literal(&ts.value.value)?.cast(t)?;
                // `TIMESTAMPTZ '...'` keeps its type (values do not carry it).
                if t == DataType::TimestampTz {
                    Expr::Cast(Box::new(Expr::Literal(v)), t)
                } else {
                    Expr::Literal(v)
                }
            }
            E::Function(f) => self.bind_function(f, scope, aggs)?,
            other => return Err(SqlError::unsupported(format!("expression {other}"))),
        })
    }

    /// Whether `e` is of type text, or an untyped string literal (which
    /// PostgreSQL resolves to text where a function takes text or a number).
    fn is_text(&self, e: &Expr, scope: &Scope) -> bool {
        let types: Vec<DataType> = scope.iter().map(|c| c.ty).collect();
        matches!(e, Expr::Literal(Value::Text(_))) || matches!(infer_type(e, &types), DataType::Text(_))
    }

    /// SMALLINT and INTEGER arithmetic (and abs) yields SMALLINT/INTEGER in
    /// PostgreSQL, so a result outside that range is error 22003 even
    /// though values are computed in 64 bits: wrap such arithmetic in a
    /// range-checking cast.
    fn check_width(&self, e: Expr, scope: &Scope) -> Expr {
        let arithmetic = matches!(
            e,
            Expr::Binary(BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod, ..)
                | Expr::Unary(UnOp::Neg, _)
                | Expr::Func(Func::Abs, _)
        );
        // An aggregate's or an outer column's type is not known here (it
        // would read as "unknown", taking the other operand's narrow type):
        // leave such arithmetic unchecked rather than refuse a result that
        // fits its real, wider type (`count(*) + 2147483647`).
        if !arithmetic || e.any(&|x| matches!(x, Expr::Agg(_) | Expr::Outer { .. })) {
            return e;
        }
        let types: Vec<DataType> = scope.iter().map(|c| c.ty).collect();
        match infer_type(&e, &types) {
            t @ (DataType::Int2 | DataType::Int4) => Expr::Cast(Box::new(e), t),
            _ => e,
        }
    }

    /// `x op ANY (ARRAY[a, b])` as `x op a OR x op b` (false when empty),
    /// `x op ALL (...)` as `AND` (true when empty): the same three-valued
    /// result as PostgreSQL. `x = ANY (subquery)` is `x IN (subquery)`.
    fn bind_quantified(
        &mut self,
        left: &ast::Expr,
        op: &ast::BinaryOperator,
        right: &ast::Expr,
        any: bool,
        scope: &Scope,
        aggs: Option<&mut AggState>,
    ) -> Result<Expr> {
        let mut right = right;
        while let ast::Expr::Nested(inner) = right {
            right = inner;
        }
        let combined = match right {
            ast::Expr::Array(a) => {
                let join = if any {
                    ast::BinaryOperator::Or
                } else {
                    ast::BinaryOperator::And
                };
                a.elem
                    .iter()
                    .map(|e| ast::Expr::BinaryOp {
                        left: Box::new(left.clone()),
                        op: op.clone(),
                        right: Box::new(e.clone()),
                    })
                    .reduce(|acc, cmp| ast::Expr::BinaryOp {
                        left: Box::new(acc),
                        op: join.clone(),
                        right: Box::new(cmp),
                    })
                    .unwrap_or_else(|| ast::Expr::value(ast::Value::Boolean(!any)))
            }
            ast::Expr::Subquery(q) if any && *op == ast::BinaryOperator::Eq => ast::Expr::In {
                expr: Box::new(left.clone()),
                target: ast::InTarget::Subquery(q.clone()),
                negated: false,
                global: false,
            },
            _ => {
                let q = if any { "ANY" } else { "ALL" };
                return Err(SqlError::unsupported(format!(
                    "{op} {q} over anything but ARRAY[...]"
                )));
            }
        };
        self.bind_expr_inner(&combined, scope, aggs)
    }

    /// `nextval('s')`, `currval('s')`, `setval('s', v [, is_called])`,
    /// `lastval()`. The sequence is named by a constant (text, or text cast
    /// to `regclass` as `pg_dump` writes it) and looked up now, so a
    /// missing one is 42P01 before anything runs.
    fn bind_sequence_call(
        &mut self,
        func: SeqFunc,
        args: &[&ast::FunctionArg],
        scope: &Scope,
        mut aggs: Option<&mut AggState>,
    ) -> Result<Expr> {
        let arity = match func {
            SeqFunc::LastVal => 0..=0,
            SeqFunc::NextVal | SeqFunc::CurrVal => 1..=1,
            SeqFunc::SetVal => 2..=3,
        };
        let exprs: Vec<&ast::Expr> = args
            .iter()
            .map(|a| match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Ok(e),
                _ => Err(SqlError::unsupported("this function argument")),
            })
            .collect::<Result<_>>()?;
        if !arity.contains(&exprs.len()) {
            return Err(SqlError::new(
                codes::UNDEFINED_FUNCTION,
                format!(
                    "function {}() with {} arguments does not exist",
                    func.name(),
                    exprs.len()
                ),
            ));
        }
        let Some((first, rest)) = exprs.split_first() else {
            return Ok(Expr::Sequence {
                func,
                seq: None,
                args: vec![],
            });
        };
        let mut named = *first;
        while let ast::Expr::Nested(e) = named {
            named = e;
        }
        if let ast::Expr::Cast {
            expr,
            data_type: ast::DataType::Regclass,
            ..
        } = named
        {
            named = expr;
        }
        let name = match self.bind_expr_inner(named, scope, aggs.as_deref_mut())? {
            Expr::Literal(Value::Text(s)) => crate::sequence::parse_name(&s)?,
            _ => {
                return Err(SqlError::unsupported(format!(
                    "{}() of anything but a constant sequence name",
                    func.name()
                )));
            }
        };
        let Some(seq) = crate::sequence::get(self.txn, &name)? else {
            if catalog::get_table(self.txn, &name)?.is_some()
                || catalog::index_owner(self.txn, &name)?.is_some()
                || crate::view::get(self.txn, &name)?.is_some()
            {
                return Err(SqlError::new(
                    codes::WRONG_OBJECT_TYPE,
                    format!("\"{name}\" is not a sequence"),
                ));
            }
            return Err(SqlError::new(
                codes::UNDEFINED_TABLE,
                format!("relation \"{name}\" does not exist"),
            ));
        };
        self.note_relation(&name);
        let args = rest
            .iter()
            .map(|e| self.bind_expr_inner(e, scope, aggs.as_deref_mut()))
            .collect::<Result<_>>()?;
        Ok(Expr::Sequence {
            func,
            seq: Some(Arc::new(seq)),
            args,
        })
    }

    /// `INTERVAL '1 day'`, and `INTERVAL '3' DAY` (a bare number in the
    /// unit of its leading field).
    fn bind_interval(&mut self, iv: &ast::Interval) -> Result<Expr> {
        if iv.last_field.is_some()
            || iv.fractional_seconds_precision.is_some()
            || iv.leading_precision.is_some()
        {
            return Err(SqlError::unsupported(format!("INTERVAL {iv}")));
        }
        let text = match self.bind_expr_inner(&iv.value, &vec![], None)? {
            Expr::Literal(Value::Text(s)) => s,
            Expr::Literal(Value::Int(i)) => i.to_string(),
            Expr::Literal(Value::Numeric(d)) => d.to_string(),
            _ => return Err(SqlError::unsupported(format!("INTERVAL of a non-constant: {iv}"))),
        };
        let text = match &iv.leading_field {
            None => text,
            Some(field) if text.trim().parse::<f64>().is_ok() => format!("{text} {field}"),
            // PostgreSQL would cut the value down to the field.
            Some(_) => {
                return Err(SqlError::unsupported(format!(
                    "INTERVAL {iv} (a field restriction)"
                )));
            }
        };
        Ok(Expr::Literal(Value::Interval(crate::interval::parse(&text)?)))
    }

    /// `pg_get_serial_sequence(table, column)`: the qualified name of the
    /// sequence the column owns (a SERIAL or identity column), NULL if it
    /// owns none. Answered while binding, so both arguments must be
    /// constants (ORMs pass literals). As in PostgreSQL the table name is
    /// parsed as SQL (quotes, case folding), the column name taken as is.
    fn serial_sequence(&mut self, args: &[Expr]) -> Result<Expr> {
        let (table, column) = match args {
            [Expr::Literal(Value::Null), _] | [_, Expr::Literal(Value::Null)] => {
                return Ok(Expr::Literal(Value::Null));
            }
            [Expr::Literal(Value::Text(t)), Expr::Literal(Value::Text(c))] => (t, c),
            _ => {
                return Err(SqlError::unsupported(
                    "pg_get_serial_sequence() of anything but constant names",
                ));
            }
        };
        let name = crate::sequence::parse_name(table)?;
        let table = catalog::must_get_table(self.txn, &name)?;
        if !table.columns.iter().any(|c| c.name == *column) {
            return Err(SqlError::new(
                codes::UNDEFINED_COLUMN,
                format!("column \"{column}\" of relation \"{name}\" does not exist"),
            ));
        }
        self.note_relation(&name);
        let owned = crate::sequence::owned_by_table(self.txn, table.id)?
            .into_iter()
            .find(|s| s.owned_by.as_ref().is_some_and(|(_, c)| c == column));
        Ok(Expr::Literal(match owned {
            Some(s) => Value::Text(format!("public.{}", crate::ddl::quote_ident(&s.name))),
            None => Value::Null,
        }))
    }

    /// An aggregate's `FILTER (WHERE ...)`: a boolean over the input row
    /// (an untyped literal or parameter is read as one), which may hold no
    /// aggregate or window function, also on a windowed aggregate (as in
    /// PostgreSQL).
    fn bind_filter(&mut self, e: &ast::Expr, scope: &Scope) -> Result<Expr> {
        let b = self.in_clause("FILTER", |b| b.bind_expr_inner(e, scope, None))?;
        // Typed as written (`'t'` and NULL are untyped, `'t'::text`,
        // `upper('t')` and `NULL::int` are not), not after folding.
        if untyped(&b) {
            return Ok(self.fold(Expr::Cast(Box::new(b), DataType::Bool)));
        }
        let types: Vec<DataType> = scope.iter().map(|c| c.ty).collect();
        match infer_type(&b, &types) {
            DataType::Bool | DataType::Unknown => Ok(self.fold(b)),
            ty => Err(SqlError::mismatch(format!(
                "argument of FILTER must be type boolean, not type {}",
                ty.name()
            ))),
        }
    }

    fn bind_function(
        &mut self,
        f: &ast::Function,
        scope: &Scope,
        aggs: Option<&mut AggState>,
    ) -> Result<Expr> {
        let name = object_name(&f.name)?;
        if f.null_treatment.is_some() {
            return Err(SqlError::unsupported(format!("IGNORE/RESPECT NULLS on {name}")));
        }
        if !f.within_group.is_empty() {
            return Err(SqlError::unsupported(format!("WITHIN GROUP on {name}")));
        }
        let (distinct, args): (bool, Vec<&ast::FunctionArg>) = match &f.args {
            ast::FunctionArguments::None => (false, vec![]),
            ast::FunctionArguments::List(l) if !l.clauses.is_empty() => {
                return Err(SqlError::unsupported(format!(
                    "ORDER BY, LIMIT or other clauses inside {name}(...)"
                )));
            }
            ast::FunctionArguments::List(l) => (
                matches!(l.duplicate_treatment, Some(ast::DuplicateTreatment::Distinct)),
                l.args.iter().collect(),
            ),
            ast::FunctionArguments::Subquery(_) => {
                return Err(SqlError::unsupported("subquery as function argument"));
            }
        };
        if let Some(over) = &f.over {
            return self.bind_window_call(&name, f, over, distinct, &args, scope, aggs);
        }
        if WinFunc::by_name(&name).is_some() {
            return Err(SqlError::new(
                codes::WRONG_OBJECT_TYPE,
                format!("window function {name} requires an OVER clause"),
            ));
        }
        let seq_func = match name.as_str() {
            "nextval" => Some(SeqFunc::NextVal),
            "currval" => Some(SeqFunc::CurrVal),
            "setval" => Some(SeqFunc::SetVal),
            "lastval" => Some(SeqFunc::LastVal),
            _ => None,
        };
        // On a function that does not exist, that error comes first.
        let known = seq_func.is_some()
            || scalar_function(&name).is_some()
            || SPECIAL_FUNCTIONS.contains(&name.as_str());
        if f.filter.is_some() && agg_func(&name).is_none() && known {
            return Err(SqlError::new(
                codes::WRONG_OBJECT_TYPE,
                format!("FILTER specified, but {name} is not an aggregate function"),
            ));
        }
        if let Some(func) = seq_func {
            return self.bind_sequence_call(func, &args, scope, aggs);
        }
        if let Some(mut func) = agg_func(&name) {
            let Some(state) = aggs else {
                let message = match self.window_clause {
                    Some("FILTER") => "aggregate functions are not allowed in FILTER".to_string(),
                    _ => format!("aggregate functions are not allowed here ({name})"),
                };
                return Err(SqlError::new(codes::GROUPING_ERROR, message));
            };
            let mut bound = Vec::new();
            for a in &args {
                match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) if func == AggFunc::Count => {
                        func = AggFunc::CountStar;
                    }
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                        // Aggregates may not nest, nor hold windows.
                        let b = self.in_clause("aggregate", |b| b.bind_expr_inner(e, scope, None))?;
                        bound.push(self.fold(b));
                    }
                    _ => return Err(SqlError::unsupported("this aggregate argument")),
                }
            }
            let func = self.check_agg_args(&name, func, &bound, scope)?;
            let filter = match &f.filter {
                Some(e) => Some(self.bind_filter(e, scope)?),
                None => None,
            };
            let call = AggCall {
                func,
                args: bound,
                distinct,
                filter,
            };
            let k = match state.calls.iter().position(|c| *c == call) {
                Some(k) => k,
                None => {
                    state.calls.push(call);
                    state.calls.len() - 1
                }
            };
            return Ok(Expr::Agg(k));
        }
        let mut aggs = aggs;
        let mut bound = Vec::new();
        for a in &args {
            match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                    bound.push(self.bind_expr_inner(e, scope, aggs.as_deref_mut())?);
                }
                _ => return Err(SqlError::unsupported("this function argument")),
            }
        }
        match name.as_str() {
            // The transaction's start (see `datetime::Clock`).
            "now" | "current_timestamp" | "localtimestamp" | "transaction_timestamp" if bound.is_empty() => {
                return Ok(Expr::Literal(Value::Timestamp(
                    crate::datetime::clock().transaction,
                )));
            }
            "statement_timestamp" if bound.is_empty() => {
                return Ok(Expr::Literal(Value::Timestamp(
                    crate::datetime::clock().statement,
                )));
            }
            "pg_get_serial_sequence" if bound.len() == 2 => {
                return self.serial_sequence(&bound);
            }
            // Every table is in `public`, which is always on the search path.
            "pg_table_is_visible" if bound.len() == 1 => {
                let arg = bound.pop().unwrap_or(Expr::Literal(Value::Null));
                return Ok(Expr::Case {
                    operand: None,
                    whens: vec![(Expr::IsNull(Box::new(arg), false), Expr::Literal(Value::Null))],
                    otherwise: Some(Box::new(Expr::Literal(Value::Bool(true)))),
                });
            }
            "current_date" if bound.is_empty() => {
                let now = crate::datetime::clock().transaction;
                return Ok(Expr::Literal(Value::Date(crate::datetime::timestamp_to_date(
                    now,
                ))));
            }
            _ => {}
        }
        let Some((func, min, max)) = scalar_function(&name) else {
            return Err(SqlError::new(
                codes::UNDEFINED_FUNCTION,
                format!("function {name} does not exist"),
            ));
        };
        if bound.len() < min || bound.len() > max {
            return Err(SqlError::new(
                codes::UNDEFINED_FUNCTION,
                format!("function {name} with {} arguments does not exist", bound.len()),
            ));
        }
        if func == Func::PgSleep
            && let [arg] = bound.as_slice()
            && !untyped(arg)
        {
            let types: Vec<DataType> = scope.iter().map(|c| c.ty).collect();
            let t = infer_type(arg, &types);
            if !(t.is_numeric() || t == DataType::Unknown) {
                return Err(SqlError::new(
                    codes::UNDEFINED_FUNCTION,
                    format!("function pg_sleep({}) does not exist", t.name()),
                ));
            }
        }
        if matches!(func, Func::Log | Func::Trunc) && bound.len() == 2 {
            // Only `log(numeric, numeric)` and `trunc(numeric, integer)`
            // exist, and double precision does not convert to NUMERIC
            // implicitly.
            let types: Vec<DataType> = scope.iter().map(|c| c.ty).collect();
            let arg_types: Vec<DataType> = bound.iter().map(|a| infer_type(a, &types)).collect();
            let ok = match func {
                Func::Trunc => {
                    !arg_types[0].is_float()
                        && (arg_types[1].is_integer()
                            || matches!(arg_types[1], DataType::Unknown | DataType::Text(_)))
                }
                _ => !arg_types.iter().any(|t| t.is_float()),
            };
            if !ok {
                let names: Vec<&str> = arg_types.iter().map(|t| t.name()).collect();
                return Err(SqlError::new(
                    codes::UNDEFINED_FUNCTION,
                    format!("function {name}({}) does not exist", names.join(", ")),
                ));
            }
        }
        if matches!(func, Func::Greatest | Func::Least) {
            // One type for all, as PostgreSQL resolves them (a mix of
            // INTEGER and NUMERIC compares and returns NUMERIC); untyped
            // literals take it, other types must be of its category.
            let types: Vec<DataType> = scope.iter().map(|c| c.ty).collect();
            let typed: Vec<DataType> = bound
                .iter()
                .filter(|a| !untyped(a))
                .map(|a| infer_type(a, &types))
                .filter(|t| *t != DataType::Unknown)
                .collect();
            if let Some(&first) = typed.first()
                && let Some(&other) = typed.iter().find(|&&t| !union_compatible(first, t))
            {
                return Err(SqlError::mismatch(format!(
                    "{} types {} and {} cannot be matched",
                    name.to_uppercase(),
                    first.name(),
                    other.name()
                )));
            }
            let common = bound.iter().fold(DataType::Unknown, |t, a| {
                DataType::common(t, infer_type(a, &types))
            });
            if common != DataType::Unknown {
                bound = bound
                    .into_iter()
                    .map(|a| {
                        if infer_type(&a, &types) == common {
                            a
                        } else {
                            Expr::Cast(Box::new(a), common)
                        }
                    })
                    .collect();
            }
        }
        let func = match func {
            // `substring(s, pattern)`; `substr` has no such form.
            Func::Substr if name == "substring" && bound.len() == 2 && self.is_text(&bound[1], scope) => {
                Func::RegexpSubstring
            }
            // A DATE reads as a TIMESTAMPTZ, as PostgreSQL casts it.
            Func::ToChar => {
                let types: Vec<DataType> = scope.iter().map(|c| c.ty).collect();
                match infer_type(&bound[0], &types) {
                    DataType::TimestampTz | DataType::Date => Func::ToCharTz,
                    _ => Func::ToChar,
                }
            }
            f => f,
        };
        let e = Expr::Func(func, bound);
        Ok(if func == Func::Abs {
            self.check_width(e, scope)
        } else {
            e
        })
    }
}

/// Functions the binder answers itself (constants of the statement, or
/// looked up while binding) rather than through [`scalar_function`].
const SPECIAL_FUNCTIONS: &[&str] = &[
    "now",
    "current_timestamp",
    "localtimestamp",
    "transaction_timestamp",
    "statement_timestamp",
    "pg_get_serial_sequence",
    "pg_table_is_visible",
    "current_date",
];

/// A scalar function: what it is and how many arguments it takes.
fn scalar_function(name: &str) -> Option<(Func, usize, usize)> {
    Some(match name {
        "abs" => (Func::Abs, 1, 1),
        "coalesce" => (Func::Coalesce, 1, usize::MAX),
        "nullif" => (Func::NullIf, 2, 2),
        "length" | "char_length" | "character_length" => (Func::Length, 1, 1),
        "lower" => (Func::Lower, 1, 1),
        "upper" => (Func::Upper, 1, 1),
        "round" => (Func::Round, 1, 2),
        "floor" => (Func::Floor, 1, 1),
        "ceil" | "ceiling" => (Func::Ceil, 1, 1),
        "mod" => (Func::Mod, 2, 2),
        "concat" => (Func::Concat, 0, usize::MAX),
        "substr" | "substring" => (Func::Substr, 2, 3),
        "btrim" | "trim" => (Func::Trim, 1, 2),
        "power" | "pow" => (Func::Power, 2, 2),
        "sqrt" => (Func::Sqrt, 1, 1),
        "cbrt" => (Func::Cbrt, 1, 1),
        "exp" => (Func::Exp, 1, 1),
        "ln" => (Func::Ln, 1, 1),
        "log" => (Func::Log, 1, 2),
        "log10" => (Func::Log, 1, 1),
        "sign" => (Func::Sign, 1, 1),
        "trunc" => (Func::Trunc, 1, 2),
        "pi" => (Func::Pi, 0, 0),
        "replace" => (Func::Replace, 3, 3),
        "strpos" => (Func::StrPos, 2, 2),
        "left" => (Func::Left, 2, 2),
        "right" => (Func::Right, 2, 2),
        "lpad" => (Func::Lpad, 2, 3),
        "rpad" => (Func::Rpad, 2, 3),
        "ltrim" => (Func::Ltrim, 1, 2),
        "rtrim" => (Func::Rtrim, 1, 2),
        "split_part" => (Func::SplitPart, 3, 3),
        "starts_with" => (Func::StartsWith, 2, 2),
        "repeat" => (Func::Repeat, 2, 2),
        "reverse" => (Func::Reverse, 1, 1),
        "initcap" => (Func::Initcap, 1, 1),
        "chr" => (Func::Chr, 1, 1),
        "ascii" => (Func::Ascii, 1, 1),
        "octet_length" => (Func::OctetLength, 1, 1),
        "md5" => (Func::Md5, 1, 1),
        "gen_random_uuid" => (Func::GenRandomUuid, 0, 0),
        "to_char" => (Func::ToChar, 2, 2),
        "make_date" => (Func::MakeDate, 3, 3),
        "make_timestamp" => (Func::MakeTimestamp, 6, 6),
        "to_timestamp" => (Func::ToTimestamp, 1, 2),
        "translate" => (Func::Translate, 3, 3),
        "regexp_like" => (Func::RegexpLike, 2, 3),
        "regexp_count" => (Func::RegexpCount, 2, 4),
        "regexp_substr" => (Func::RegexpSubstr, 2, 6),
        "regexp_replace" => (Func::RegexpReplace, 3, 6),
        "greatest" => (Func::Greatest, 1, usize::MAX),
        "least" => (Func::Least, 1, usize::MAX),
        "random" => (Func::Random, 0, 0),
        "clock_timestamp" => (Func::ClockTimestamp, 0, 0),
        "pg_sleep" => (Func::PgSleep, 1, 1),
        "date_trunc" => (Func::DateTrunc, 2, 2),
        "date_part" => (Func::DatePart, 2, 2),
        _ => return None,
    })
}

/// The aggregate called `name`, if it is one.
fn agg_func(name: &str) -> Option<AggFunc> {
    Some(match name {
        "count" => AggFunc::Count,
        "sum" => AggFunc::Sum,
        "avg" => AggFunc::Avg,
        "min" => AggFunc::Min,
        "max" => AggFunc::Max,
        "bool_and" | "every" => AggFunc::BoolAnd,
        "bool_or" => AggFunc::BoolOr,
        "string_agg" => AggFunc::StringAgg,
        _ => return None,
    })
}

fn undefined_window(name: &str) -> SqlError {
    SqlError::new(
        codes::UNDEFINED_OBJECT,
        format!("window \"{name}\" does not exist"),
    )
}

/// `own` copying the named window `base` (see [`Binder::window_spec`]).
fn merge_window(name: &str, base: ast::WindowSpec, own: ast::WindowSpec) -> Result<ast::WindowSpec> {
    let err = |m: String| Err(SqlError::new(window::WINDOWING_ERROR, m));
    if !own.partition_by.is_empty() {
        return err(format!(
            "cannot override PARTITION BY clause of window \"{name}\""
        ));
    }
    if !own.order_by.is_empty() && !base.order_by.is_empty() {
        return err(format!("cannot override ORDER BY clause of window \"{name}\""));
    }
    if base.window_frame.is_some() {
        return err(format!(
            "cannot copy window \"{name}\" because it has a frame clause"
        ));
    }
    Ok(ast::WindowSpec {
        window_name: None,
        partition_by: base.partition_by,
        order_by: if own.order_by.is_empty() {
            base.order_by
        } else {
            own.order_by
        },
        window_frame: own.window_frame,
    })
}

/// The result type of aggregate `func` over an argument of type `arg`.
fn agg_result_type(func: AggFunc, arg: DataType) -> DataType {
    match func {
        AggFunc::Count | AggFunc::CountStar => DataType::Int8,
        AggFunc::Sum if arg.is_integer() => DataType::Int8,
        AggFunc::Avg if arg.is_float() => DataType::Float8,
        AggFunc::Avg if arg == DataType::Interval => DataType::Interval,
        AggFunc::Avg => DataType::Numeric(None),
        AggFunc::Sum if matches!(arg, DataType::Numeric(_)) => DataType::Numeric(None),
        AggFunc::Total => DataType::Float8,
        AggFunc::BoolAnd | AggFunc::BoolOr => DataType::Bool,
        AggFunc::StringAgg => DataType::Text(None),
        _ => arg,
    }
}

/// The result type of a window call whose expressions are over `input`.
fn window_type(call: &WindowCall, input: &[DataType], aggs: &AggState) -> DataType {
    // Window arguments hold no windows, so this ends; only arguments
    // with aggregates (rare, shallow) take the copying `agg_type`.
    let arg = |i: usize| match call.args.get(i) {
        None => DataType::Unknown,
        Some(a) if a.any(&|x| matches!(x, Expr::Agg(_) | Expr::Window(_))) => agg_type(a, input, aggs),
        Some(a) => infer_type(a, input),
    };
    match call.func {
        WinFunc::RowNumber | WinFunc::Rank | WinFunc::DenseRank => DataType::Int8,
        WinFunc::Ntile => DataType::Int4,
        WinFunc::PercentRank | WinFunc::CumeDist => DataType::Float8,
        WinFunc::Lag | WinFunc::Lead if call.args.len() == 3 => DataType::common(arg(0), arg(2)),
        WinFunc::Lag | WinFunc::Lead | WinFunc::FirstValue | WinFunc::LastValue | WinFunc::NthValue => arg(0),
        WinFunc::Agg(f) => agg_result_type(f, arg(0)),
    }
}

/// The type of a select-list expression, with aggregate and window slots
/// typed.
fn agg_type(e: &Expr, input: &[DataType], aggs: &AggState) -> DataType {
    let e = e.clone().transform(&mut |x| {
        Ok(match x {
            Expr::Window(k) => {
                let Some(call) = aggs.windows.get(k) else {
                    return Ok(Expr::Window(k));
                };
                Expr::Cast(
                    Box::new(Expr::Literal(Value::Null)),
                    window_type(call, input, aggs),
                )
            }
            Expr::Agg(k) => {
                let call = &aggs.calls[k];
                let arg = call
                    .args
                    .first()
                    .map_or(DataType::Unknown, |a| infer_type(a, input));
                let ty = agg_result_type(call.func, arg);
                Expr::Cast(Box::new(Expr::Literal(Value::Null)), ty)
            }
            x => x,
        })
    });
    e.map_or(DataType::Unknown, |e| infer_type(&e, input))
}

/// PostgreSQL's rule for DISTINCT ON with ORDER BY: the ORDER BY items
/// that are DISTINCT ON items come first, and once an ORDER BY item is not
/// one, every DISTINCT ON item must have come already (42P10). Items are
/// compared as projection columns, as PostgreSQL compares target entries.
fn check_distinct_on(cols: &[usize], order: &[(usize, &ast::OrderByOptions)]) -> Result<()> {
    let mismatch = || {
        SqlError::new(
            codes::INVALID_COLUMN_REFERENCE,
            "SELECT DISTINCT ON expressions must match initial ORDER BY expressions",
        )
    };
    let mut skipped = false;
    let mut seen = Vec::new();
    for (c, _) in order {
        // A repeated ORDER BY item adds nothing (PostgreSQL drops it).
        if seen.contains(c) {
            continue;
        }
        seen.push(*c);
        if !cols.contains(c) {
            skipped = true;
        } else if skipped {
            return Err(mismatch());
        }
    }
    if skipped && cols.iter().any(|c| !order.iter().any(|(o, _)| o == c)) {
        return Err(mismatch());
    }
    Ok(())
}

/// A date or timestamp: RANGE offsets over it are intervals.
fn is_point_in_time(t: DataType) -> bool {
    matches!(t, DataType::Date | DataType::Timestamp | DataType::TimestampTz)
}

/// An untyped literal: a quoted string or NULL, which PostgreSQL converts
/// to whatever type its place needs.
fn untyped(e: &Expr) -> bool {
    matches!(e, Expr::Literal(Value::Text(_) | Value::Null))
}

/// Whether a recursive term's type `step` may be cast to its non-recursive
/// type `init`: the same category (numbers, text, times, ...), or an
/// untyped NULL, as PostgreSQL's UNION resolution allows; anything else
/// (integer against text, boolean against integer) is 42804.
fn union_compatible(init: DataType, step: DataType) -> bool {
    use DataType::*;
    let category = |t: DataType| match t {
        t if t.is_numeric() => 0,
        Text(_) => 1,
        Date | Timestamp | TimestampTz => 2,
        Bool => 3,
        Bytea => 4,
        Interval => 5,
        Unknown => 6,
        Uuid => 8,
        _ => 7,
    };
    step == Unknown || category(init) == category(step)
}

/// Where a recursive term's set operations may not hold the working table
/// `name`, as PostgreSQL checks it (42P19): under INTERSECT ALL or EXCEPT
/// ALL, or on the right of EXCEPT (their results would not grow round by
/// round). Returns the operation's words.
fn set_operation_around(e: &ast::SetExpr, name: &str) -> Option<&'static str> {
    match e {
        ast::SetExpr::SetOperation {
            op,
            set_quantifier,
            left,
            right,
        } => {
            let all = matches!(set_quantifier, ast::SetQuantifier::All);
            let (l, r) = (references(&**left, name), references(&**right, name));
            let refused = match op {
                ast::SetOperator::Intersect if all && (l || r) => Some("INTERSECT ALL"),
                ast::SetOperator::Except | ast::SetOperator::Minus if all && (l || r) => Some("EXCEPT ALL"),
                ast::SetOperator::Except | ast::SetOperator::Minus if r => Some("EXCEPT"),
                _ => None,
            };
            refused.or_else(|| set_operation_around(left, name).or_else(|| set_operation_around(right, name)))
        }
        ast::SetExpr::Query(q) => set_operation_around(&q.body, name),
        _ => None,
    }
}

/// Whether `q` names the relation `name` anywhere (FROM items of its
/// subqueries included).
fn references<V: ast::Visit>(q: &V, name: &str) -> bool {
    ast::visit_relations(q, |r| {
        if object_name(r).is_ok_and(|n| n == name) {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        }
    })
    .is_break()
}

fn sort_key(expr: Expr, o: &ast::OrderByOptions) -> SortKey {
    let desc = matches!(o.sort, Some(ast::OrderBySort::Desc));
    SortKey {
        expr,
        desc,
        nulls_first: o.nulls_first.unwrap_or(desc),
    }
}

/// Rewrites an expression over the Aggregate input into one over its
/// output (group keys, then aggregates).
#[recursive::recursive]
fn rewrite_grouped(e: Expr, groups: &[Expr], ng: usize) -> Result<Expr> {
    if let Some(i) = groups.iter().position(|g| *g == e) {
        return Ok(Expr::Column(i));
    }
    match e {
        Expr::Agg(k) => Ok(Expr::Column(ng + k)),
        Expr::Column(_) => Err(SqlError::new(
            codes::GROUPING_ERROR,
            "column must appear in the GROUP BY clause or be used in an aggregate function",
        )),
        e => e.map_children(&mut |c| rewrite_grouped(c, groups, ng)),
    }
}

/// The output column name PostgreSQL would give an expression.
pub fn expr_name(e: &ast::Expr) -> String {
    figure_name(e).map_or_else(|| "?column?".into(), |(name, _)| name)
}

/// PostgreSQL's rule for naming an output column (`FigureColname`): a
/// name, and how strongly the expression claims it. A column's or a
/// function's own name is strong (2); a stand-in such as `case` or a
/// cast's type name is weak (1), and an enclosing cast replaces a weak name
/// with its own type's (`CASE ... END::text` is `text`, `a::text` is `a`).
fn figure_name(e: &ast::Expr) -> Option<(String, u8)> {
    let strong = |name: &str| Some((name.to_owned(), 2));
    match e {
        ast::Expr::Identifier(i) => Some((ident(i), 2)),
        ast::Expr::CompoundIdentifier(p) => Some((p.last().map(ident).unwrap_or_default(), 2)),
        ast::Expr::Function(f) => object_name(&f.name).ok().map(|n| (n, 2)),
        ast::Expr::Nested(e) => figure_name(e),
        ast::Expr::Cast { expr, data_type, .. } => match figure_name(expr) {
            Some((name, 2)) => Some((name, 2)),
            weak => type_column_name(data_type).map(|n| (n, 1)).or(weak),
        },
        ast::Expr::TypedString(t) => type_column_name(&t.data_type).map(|n| (n, 1)),
        ast::Expr::Interval(_) => Some(("interval".into(), 1)),
        ast::Expr::Case { .. } => Some(("case".into(), 1)),
        ast::Expr::Floor { .. } => strong("floor"),
        ast::Expr::Ceil { .. } => strong("ceil"),
        ast::Expr::Substring { shorthand: true, .. } => strong("substr"),
        ast::Expr::Substring { .. } => strong("substring"),
        ast::Expr::Trim { trim_where, .. } => strong(match trim_where {
            Some(ast::TrimWhereField::Leading) => "ltrim",
            Some(ast::TrimWhereField::Trailing) => "rtrim",
            _ => "btrim",
        }),
        ast::Expr::Position { .. } => strong("position"),
        ast::Expr::Extract { .. } => strong("extract"),
        ast::Expr::Exists { .. } => strong("exists"),
        // A scalar subquery is named after its first output column.
        ast::Expr::Subquery(q) => first_output_name(&q.body).map(|n| (n, 2)),
        _ => None,
    }
}

/// The name of a query's first output column, as far as its text tells
/// (`None` for `*`, whose names only the catalog knows).
fn first_output_name(body: &ast::SetExpr) -> Option<String> {
    match body {
        ast::SetExpr::Select(s) => match s.projection.first()? {
            ast::SelectItem::UnnamedExpr(e) => Some(expr_name(e)),
            ast::SelectItem::ExprWithAlias { alias, .. } => Some(ident(alias)),
            _ => None,
        },
        ast::SetExpr::Query(q) => first_output_name(&q.body),
        ast::SetExpr::SetOperation { left, .. } => first_output_name(left),
        ast::SetExpr::Values(_) => Some("column1".into()),
        _ => None,
    }
}

/// The name PostgreSQL gives a column that is a cast to `t`: the type's
/// internal name (`int8` for BIGINT, ...). VARCHAR and CHAR(n) are named
/// by their syntax (`varchar`, `bpchar`), since both are stored as TEXT
/// here. `None` for a type without a name here.
fn type_column_name(t: &ast::DataType) -> Option<String> {
    use ast::DataType as T;
    match t {
        T::Varchar(_) | T::CharacterVarying(_) | T::CharVarying(_) => Some("varchar".into()),
        T::Char(_) | T::Character(_) => Some("bpchar".into()),
        T::Custom(name, _) => object_name(name).ok(),
        _ => map_type(t).ok().map(|d| d.internal_name().to_owned()),
    }
}

/// A numeric literal: an integer when it fits BIGINT, else NUMERIC (as in
/// PostgreSQL), else double precision.
fn number(n: &str) -> Result<Value> {
    if let Ok(i) = n.parse::<i64>() {
        return Ok(Value::Int(i));
    }
    if let Ok(d) = crate::numeric::Decimal::parse(n) {
        return Ok(Value::Numeric(d));
    }
    n.parse::<f64>()
        .map(Value::Float)
        .map_err(|_| SqlError::syntax(format!("invalid number {n}")))
}

pub fn literal(v: &ast::Value) -> Result<Value> {
    Ok(match v {
        ast::Value::Number(n, _) => number(n)?,
        ast::Value::SingleQuotedString(s)
        | ast::Value::EscapedStringLiteral(s)
        | ast::Value::DollarQuotedString(ast::DollarQuotedString { value: s, .. }) => Value::Text(s.clone()),
        ast::Value::Boolean(b) => Value::Bool(*b),
        ast::Value::Null => Value::Null,
        ast::Value::HexStringLiteral(h) => Value::Bytes(
            crate::types::parse_hex(h)
                .ok_or_else(|| SqlError::syntax(format!("invalid hexadecimal literal X'{h}'")))?,
        ),
        other => return Err(SqlError::unsupported(format!("literal {other}"))),
    })
}
