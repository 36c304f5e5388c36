//! Parameter type inference for the extended protocol.
//!
//! Most drivers (tokio-postgres, asyncpg, node-postgres, pgbench) send
//! Parse with no parameter OIDs and then bind values in the types that
//! ParameterDescription announced, so `$n` needs a real type. The SQL
//! engine's `describe` only counts parameters; until it reports their
//! types, this module infers them from the statement's AST and the
//! catalog, from the contexts drivers actually use:
//!
//! - `$n::type` / `CAST($n AS type)`;
//! - `col <op> $n` and `$n <op> col` (comparison and arithmetic),
//!   `col [NOT] IN ($n, ...)`, `col BETWEEN $n AND $m`, `col LIKE $n`;
//! - `INSERT INTO t (cols) VALUES ($n, ...)` (target column types);
//! - `UPDATE t SET col = $n`;
//! - `LIMIT $n` / `OFFSET $n` (bigint).
//!
//! Invariants: pure (no I/O — the caller supplies table look-ups), never
//! panics; a parameter that cannot be inferred is `None`, which the
//! caller announces as `text` (what PostgreSQL does for `SELECT $1`).
//!
//! Not done: inference through function arguments, subquery outputs,
//! CASE branches or set operations; column names are resolved across all
//! tables of the statement without alias scoping.

use std::collections::HashMap;
use std::ops::ControlFlow;

use quorumdb_sql::DataType;
use sqlparser::ast::{self, BinaryOperator, Expr, SetExpr, Statement};

/// A table's columns as `(lower-case name, type)`.
pub type Columns = Vec<(String, DataType)>;

/// Tables named anywhere in `stmt` (lower-cased last name part).
pub fn referenced_tables(stmt: &Statement) -> Vec<String> {
    let mut out = Vec::new();
    let _ = ast::visit_relations(stmt, |name: &ast::ObjectName| {
        if let Some(last) = name.0.last().and_then(|p| p.as_ident()) {
            let n = ident(last);
            if !out.contains(&n) {
                out.push(n);
            }
        }
        ControlFlow::<()>::Continue(())
    });
    out
}

fn ident(i: &ast::Ident) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_ascii_lowercase()
    }
}

/// The highest `$n` in `sql` (0 when none), for statements the engine does
/// not describe (compat answers). Falls back to a lexical scan when the
/// text does not parse.
pub fn count_placeholders(sql: &str) -> usize {
    if let Ok(stmts) = quorumdb_sql::session::parse(sql) {
        let mut max = 0;
        for stmt in &stmts {
            let _ = ast::visit_expressions(stmt, |e: &Expr| {
                if let Some(n) = placeholder(e) {
                    max = max.max(n);
                }
                ControlFlow::<()>::Continue(())
            });
        }
        return max;
    }
    let b = sql.as_bytes();
    let mut max = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let digits: String = sql[i + 1..].chars().take_while(char::is_ascii_digit).collect();
            if let Ok(n) = digits.parse::<usize>() {
                max = max.max(n);
            }
            i += 1 + digits.len();
        } else {
            i += 1;
        }
    }
    max
}

/// The `$n` number of a placeholder expression.
fn placeholder(e: &Expr) -> Option<usize> {
    let Expr::Value(v) = e else { return None };
    let ast::Value::Placeholder(p) = &v.value else {
        return None;
    };
    p.strip_prefix('$')?.parse::<usize>().ok().filter(|n| *n > 0)
}

struct Ctx<'a> {
    /// Column name → type, over every referenced table.
    columns: HashMap<String, DataType>,
    /// Per table.
    tables: &'a HashMap<String, Columns>,
    out: Vec<Option<DataType>>,
}

impl Ctx<'_> {
    fn set(&mut self, n: usize, ty: DataType) {
        if ty == DataType::Unknown {
            return;
        }
        if let Some(slot) = self.out.get_mut(n - 1)
            && slot.is_none()
        {
            *slot = Some(ty);
        }
    }

    /// The type of an expression, when it is evident.
    fn type_of(&self, e: &Expr) -> Option<DataType> {
        match e {
            Expr::Identifier(i) => self.columns.get(&ident(i)).copied(),
            Expr::CompoundIdentifier(is) => {
                let col = ident(is.last()?);
                if is.len() >= 2
                    && let Some(cols) = self.tables.get(&ident(&is[is.len() - 2]))
                    && let Some((_, t)) = cols.iter().find(|(n, _)| *n == col)
                {
                    return Some(*t);
                }
                self.columns.get(&col).copied()
            }
            Expr::Cast { data_type, .. } => quorumdb_sql::binder::map_type(data_type).ok(),
            Expr::Nested(inner) => self.type_of(inner),
            Expr::UnaryOp { expr, .. } => self.type_of(expr),
            Expr::Value(v) => match &v.value {
                ast::Value::Number(n, _) => Some(if n.contains(['.', 'e', 'E']) {
                    DataType::Numeric(None)
                } else if n.parse::<i32>().is_ok() {
                    DataType::Int4
                } else {
                    DataType::Int8
                }),
                ast::Value::SingleQuotedString(_) => Some(DataType::Text(None)),
                ast::Value::Boolean(_) => Some(DataType::Bool),
                _ => None,
            },
            Expr::BinaryOp { left, op, right } => match op {
                BinaryOperator::Plus
                | BinaryOperator::Minus
                | BinaryOperator::Multiply
                | BinaryOperator::Divide
                | BinaryOperator::Modulo => match (self.type_of(left), self.type_of(right)) {
                    (Some(a), Some(b)) => Some(DataType::common(a, b)),
                    (a, b) => a.or(b),
                },
                BinaryOperator::StringConcat => Some(DataType::Text(None)),
                _ => Some(DataType::Bool),
            },
            _ => None,
        }
    }

    fn visit(&mut self, e: &Expr) {
        match e {
            Expr::Cast { expr, data_type, .. } => {
                if let (Some(n), Ok(t)) = (placeholder(expr), quorumdb_sql::binder::map_type(data_type)) {
                    self.set(n, t);
                }
            }
            Expr::BinaryOp { left, op, right } => {
                let text_op = matches!(op, BinaryOperator::StringConcat);
                for (p, other) in [(left, right), (right, left)] {
                    if let Some(n) = placeholder(p) {
                        if text_op {
                            self.set(n, DataType::Text(None));
                        } else if matches!(op, BinaryOperator::And | BinaryOperator::Or) {
                            self.set(n, DataType::Bool);
                        } else if let Some(t) = self.type_of(other) {
                            self.set(n, t);
                        }
                    }
                }
            }
            Expr::In {
                expr,
                target: ast::InTarget::List(list),
                ..
            } => {
                let t = self
                    .type_of(expr)
                    .or_else(|| list.iter().find_map(|x| self.type_of(x)));
                if let Some(t) = t {
                    for x in list.iter().chain(std::iter::once(&**expr)) {
                        if let Some(n) = placeholder(x) {
                            self.set(n, t);
                        }
                    }
                }
            }
            Expr::Between { expr, low, high, .. } => {
                let t = self
                    .type_of(expr)
                    .or_else(|| self.type_of(low))
                    .or_else(|| self.type_of(high));
                if let Some(t) = t {
                    for x in [expr, low, high] {
                        if let Some(n) = placeholder(x) {
                            self.set(n, t);
                        }
                    }
                }
            }
            Expr::Like { expr, pattern, .. } | Expr::ILike { expr, pattern, .. } => {
                for x in [expr, pattern] {
                    if let Some(n) = placeholder(x) {
                        self.set(n, DataType::Text(None));
                    }
                }
            }
            Expr::IsTrue(x) | Expr::IsFalse(x) | Expr::IsNotTrue(x) | Expr::IsNotFalse(x) => {
                if let Some(n) = placeholder(x) {
                    self.set(n, DataType::Bool);
                }
            }
            _ => {}
        }
    }

    fn visit_query(&mut self, q: &ast::Query) {
        if let Some(ast::LimitClause::LimitOffset { limit, offset, .. }) = &q.limit_clause {
            if let Some(n) = limit.as_ref().and_then(placeholder) {
                self.set(n, DataType::Int8);
            }
            if let Some(n) = offset.as_ref().and_then(|o| placeholder(&o.value)) {
                self.set(n, DataType::Int8);
            }
        }
    }
}

/// Infers the types of `$1..$count` in `stmt`; `tables` maps each
/// referenced table (see [`referenced_tables`]) to its columns.
pub fn infer_param_types(
    stmt: &Statement,
    count: usize,
    tables: &HashMap<String, Columns>,
) -> Vec<Option<DataType>> {
    let mut columns = HashMap::new();
    for cols in tables.values() {
        for (n, t) in cols {
            columns.entry(n.clone()).or_insert(*t);
        }
    }
    let mut ctx = Ctx {
        columns,
        tables,
        out: vec![None; count],
    };
    // Statement-level contexts first: they are the most precise.
    match stmt {
        Statement::Insert(ins) => {
            if let ast::TableObject::TableName(name) = &ins.table
                && let Some(cols) = name
                    .0
                    .last()
                    .and_then(|p| p.as_ident())
                    .and_then(|i| tables.get(&ident(i)))
            {
                let targets: Vec<Option<DataType>> = if ins.columns.is_empty() {
                    cols.iter().map(|(_, t)| Some(*t)).collect()
                } else {
                    ins.columns
                        .iter()
                        .map(|c| {
                            let name = c.0.last().and_then(|p| p.as_ident()).map(ident)?;
                            cols.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
                        })
                        .collect()
                };
                if let Some(src) = &ins.source
                    && let SetExpr::Values(values) = &*src.body
                {
                    for row in &values.rows {
                        for (e, t) in row.iter().zip(&targets) {
                            if let (Some(n), Some(t)) = (placeholder(e), t) {
                                ctx.set(n, *t);
                            }
                        }
                    }
                }
            }
        }
        Statement::Update(up) => {
            for a in &up.assignments {
                if let ast::AssignmentTarget::ColumnName(c) = &a.target
                    && let Some(n) = placeholder(&a.value)
                    && let Some(col) = c.0.last().and_then(|p| p.as_ident())
                    && let Some(t) = ctx.columns.get(&ident(col)).copied()
                {
                    ctx.set(n, t);
                }
            }
        }
        _ => {}
    }
    let _ = ast::visit_expressions(stmt, |e: &Expr| {
        ctx.visit(e);
        ControlFlow::<()>::Continue(())
    });
    if let Statement::Query(q) = stmt {
        ctx.visit_query(q);
    }
    ctx.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    fn infer(sql: &str, n: usize) -> Vec<Option<DataType>> {
        let stmt = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().remove(0);
        let mut tables = HashMap::new();
        tables.insert(
            "t".to_string(),
            vec![
                ("id".to_string(), DataType::Int8),
                ("name".to_string(), DataType::Text(None)),
                ("x".to_string(), DataType::Float8),
                ("flag".to_string(), DataType::Bool),
            ],
        );
        assert_eq!(referenced_tables(&stmt).first().map(String::as_str), Some("t"));
        infer_param_types(&stmt, n, &tables)
    }

    #[test]
    fn infers_from_common_contexts() {
        use DataType::*;
        assert_eq!(
            infer("select name from t where id = $1 and x > $2", 2),
            [Some(Int8), Some(Float8)]
        );
        assert_eq!(
            infer("insert into t (name, id) values ($1, $2)", 2),
            [Some(Text(None)), Some(Int8)]
        );
        assert_eq!(
            infer("insert into t values ($1, $2, $3, $4)", 4),
            [Some(Int8), Some(Text(None)), Some(Float8), Some(Bool)]
        );
        assert_eq!(
            infer("update t set x = x + $1, flag = $2 where id = $3", 3),
            [Some(Float8), Some(Bool), Some(Int8)]
        );
        assert_eq!(
            infer("select * from t where id in ($1, $2) limit $3", 3),
            [Some(Int8), Some(Int8), Some(Int8)]
        );
        assert_eq!(infer("select $1::int4 + 1, $2 from t", 2), [Some(Int4), None]);
        assert_eq!(infer("select * from t where name like $1", 1), [Some(Text(None))]);
        assert_eq!(count_placeholders("select $2, $1 from t"), 2);
        assert_eq!(
            count_placeholders("select oid::regtype from pg_type where x = $3 )"),
            3
        );
    }
}
