//! Placeholder counting for statements the protocol layer answers itself.
//!
//! Parameter *types* come from the SQL engine
//! (`Session::describe_statement`); statements answered by the
//! compatibility layer (SET, SHOW, catalog probes) never reach the engine,
//! so their `$n` are counted here, from the AST when the statement parses
//! and by scanning the text when it does not. Never panics.

use std::ops::ControlFlow;

use sqlparser::ast::{self, Expr};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_placeholders_also_in_sql_the_engine_cannot_parse() {
        assert_eq!(count_placeholders("select $2, $1 from t"), 2);
        assert_eq!(
            count_placeholders("select oid::regtype from pg_type where x = $3 )"),
            3
        );
        assert_eq!(count_placeholders("select 1"), 0);
    }
}
