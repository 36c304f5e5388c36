//! Parameter values: what `$1`, `$2`, ... stand for while a statement runs.
//!
//! A parameter acts like a literal of its value; a text value acts like an
//! untyped string literal (coerced where it is used), which is how
//! text-format parameters of the extended protocol arrive. Two ways give a
//! statement its values, with the same result:
//!
//! - Queries and DML (the statements PostgreSQL lets take parameters) are
//!   bound with their values in a thread-local [`scope`]: the binder turns
//!   each placeholder into the value's literal ([`bound`]) as it meets it.
//!   The parsed tree is shared, never copied, so a prepared statement run
//!   over and over costs no tree copy per execution.
//! - A string that holds any other statement with a placeholder in it
//!   (PostgreSQL refuses parameters there; this is lenient), and a
//!   description (parameters as NULL), get a copy of their trees with the
//!   literals written in ([`substitute`]).
//!
//! Invariants: both ways produce, for a value, the same syntax
//! ([`as_syntax`]), so binding cannot tell them apart (a parameter is a
//! value, never an `ORDER BY`/`GROUP BY` position); outside a scope a
//! placeholder that reaches the binder is an undefined parameter (42P02),
//! never a silent NULL. The scope is per thread, like the statement
//! interrupt (see [`crate::interrupt`]), and restored when it ends, also on
//! panic.

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::rc::Rc;

use sqlparser::ast::{self, Statement};

use crate::error::{Result, SqlError, codes};
use crate::types::Value;

thread_local! {
    static VALUES: RefCell<Option<Rc<[Value]>>> = const { RefCell::new(None) };
    static DESCRIBING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` as the binding of a statement being *described*: its
/// parameters stand as NULLs whose values come later, so checks that a
/// value must not be NULL (a window frame's offset) are left to execution.
pub fn describing<T>(f: impl FnOnce() -> T) -> T {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            DESCRIBING.with(|d| d.set(self.0));
        }
    }
    let _reset = Reset(DESCRIBING.with(|d| d.replace(true)));
    f()
}

/// True inside [`describing`].
pub fn is_describing() -> bool {
    DESCRIBING.with(std::cell::Cell::get)
}

/// Restores the previous values when a scope ends (also on panic).
struct Restore(Option<Rc<[Value]>>);

impl Drop for Restore {
    fn drop(&mut self) {
        let prev = self.0.take();
        VALUES.with(|v| *v.borrow_mut() = prev);
    }
}

/// Runs `f` with `values` as this thread's parameter values.
pub fn scope<T>(values: &[Value], f: impl FnOnce() -> T) -> T {
    let prev = VALUES.with(|v| v.borrow_mut().replace(Rc::from(values)));
    let _restore = Restore(prev);
    f()
}

/// What a placeholder binds to: a literal, or (for values whose literal
/// syntax is a cast) that syntax, to be bound like any expression.
pub enum Bound {
    Literal(Value),
    Syntax(Box<ast::Expr>),
}

/// The value of `placeholder` (`$n`) in the current [`scope`].
pub fn bound(placeholder: &str) -> Result<Bound> {
    let n = number(placeholder)?;
    let value = VALUES.with(|v| v.borrow().as_ref().and_then(|vs| vs.get(n - 1).cloned()));
    let value = value.ok_or_else(|| undefined(n))?;
    Ok(match value {
        v @ (Value::Null | Value::Bool(_) | Value::Int(_) | Value::Text(_)) => Bound::Literal(v),
        v => Bound::Syntax(Box::new(as_syntax(v))),
    })
}

/// Replaces `$n` placeholders in `stmt` by literals of `params` (or NULL
/// when `params` is `None`); returns the highest parameter number seen.
pub fn substitute(stmt: &mut Statement, params: Option<&[Value]>) -> Result<usize> {
    let mut max = 0;
    let r = ast::visit_expressions_mut(stmt, |e| {
        let ast::Expr::Value(v) = e else {
            return ControlFlow::Continue(());
        };
        let ast::Value::Placeholder(p) = &v.value else {
            return ControlFlow::Continue(());
        };
        let n = match number(p) {
            Ok(n) => n,
            Err(e) => return ControlFlow::Break(e),
        };
        max = max.max(n);
        let value = match params {
            None => Value::Null,
            Some(ps) => match ps.get(n - 1) {
                Some(v) => v.clone(),
                None => return ControlFlow::Break(undefined(n)),
            },
        };
        *e = as_syntax(value);
        ControlFlow::Continue(())
    });
    match r {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(max),
    }
}

/// `n` of `$n` (n ≥ 1).
pub(crate) fn number(placeholder: &str) -> Result<usize> {
    placeholder
        .strip_prefix('$')
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| SqlError::syntax(format!("unsupported placeholder {placeholder}")))
}

fn undefined(n: usize) -> SqlError {
    SqlError::new(codes::UNDEFINED_PARAMETER, format!("there is no parameter ${n}"))
}

/// The literal syntax of `value`.
fn as_syntax(value: Value) -> ast::Expr {
    let string = |s: String| Box::new(ast::Expr::value(ast::Value::SingleQuotedString(s)));
    let cast = |expr, data_type| ast::Expr::Cast {
        kind: ast::CastKind::Cast,
        expr,
        data_type,
        format: None,
    };
    match value {
        Value::Null => ast::Expr::value(ast::Value::Null),
        Value::Bool(b) => ast::Expr::value(ast::Value::Boolean(b)),
        // Parenthesised: `ORDER BY $1` sorts by a value, never by the
        // output column at that position (as in PostgreSQL), and `-$1`
        // negates the value.
        Value::Int(i) => ast::Expr::Nested(Box::new(ast::Expr::value(ast::Value::Number(
            i.to_string(),
            false,
        )))),
        Value::Float(f) => cast(
            string(crate::types::format_float(f)),
            ast::DataType::DoublePrecision,
        ),
        Value::Text(t) => ast::Expr::value(ast::Value::SingleQuotedString(t)),
        v @ (Value::Date(_)
        | Value::Timestamp(_)
        | Value::Bytes(_)
        | Value::Numeric(_)
        | Value::Interval(_)
        | Value::Uuid(_)) => {
            let data_type = match v {
                Value::Date(_) => ast::DataType::Date,
                Value::Interval(_) => ast::DataType::Interval {
                    fields: None,
                    precision: None,
                },
                Value::Timestamp(_) => ast::DataType::Timestamp(None, ast::TimezoneInfo::None),
                Value::Numeric(_) => ast::DataType::Numeric(ast::ExactNumberInfo::None),
                Value::Uuid(_) => ast::DataType::Uuid,
                _ => ast::DataType::Bytea,
            };
            cast(string(v.to_text().unwrap_or_default()), data_type)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literal_of(p: &str) -> Option<Value> {
        match bound(p) {
            Ok(Bound::Literal(v)) => Some(v),
            _ => None,
        }
    }

    #[test]
    fn scope_installs_and_restores() {
        assert_eq!(
            bound("$1").err().map(|e| e.code),
            Some(codes::UNDEFINED_PARAMETER)
        );
        scope(&[Value::Int(7)], || {
            assert_eq!(literal_of("$1"), Some(Value::Int(7)));
            scope(&[Value::Text("x".into()), Value::Null], || {
                assert_eq!(literal_of("$1"), Some(Value::Text("x".into())));
                assert_eq!(literal_of("$2"), Some(Value::Null));
            });
            assert_eq!(literal_of("$1"), Some(Value::Int(7)));
            assert_eq!(
                bound("$2").err().map(|e| e.code),
                Some(codes::UNDEFINED_PARAMETER)
            );
            assert!(bound("$0").is_err());
            assert!(bound("?").is_err());
        });
        assert!(literal_of("$1").is_none());
    }

    #[test]
    fn casts_are_bound_as_syntax() {
        scope(&[Value::Float(1.5)], || {
            let Ok(Bound::Syntax(e)) = bound("$1") else {
                panic!("a float binds as a cast");
            };
            assert_eq!(e.to_string(), "CAST('1.5' AS DOUBLE PRECISION)");
        });
    }
}
