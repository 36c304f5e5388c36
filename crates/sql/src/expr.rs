//! Bound scalar expressions and their evaluation.
//!
//! Column references are positions in the input row of the operator that
//! evaluates the expression (`Column(i)`), or positions in an enclosing
//! query's current row (`Outer { depth, index }`, depth 0 = the nearest
//! enclosing query). NULL follows three-valued logic everywhere; CASE,
//! COALESCE, AND and OR evaluate lazily, so an error in an untaken branch
//! is not raised. Integer arithmetic is checked (22003), never wraps.
//! The math functions (`power`/`^`, `sqrt`, `exp`, `ln`, `log`, `sign`,
//! `trunc`, ...) are evaluated and typed by [`crate::math`].

use std::cmp::Ordering;
use std::sync::Arc;

use crate::error::{Result, SqlError, codes};
use crate::exec::ExecCtx;
use crate::plan::Plan;
use crate::sequence::{SeqFunc, Sequence};
use crate::types::{DataType, Value};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
    Concat,
}

impl BinOp {
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq
        )
    }
    /// The comparison with its operands swapped (`a < b` == `b > a`).
    pub fn flip(self) -> BinOp {
        match self {
            BinOp::Lt => BinOp::Gt,
            BinOp::LtEq => BinOp::GtEq,
            BinOp::Gt => BinOp::Lt,
            BinOp::GtEq => BinOp::LtEq,
            x => x,
        }
    }
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Eq => "=",
            BinOp::NotEq => "<>",
            BinOp::Lt => "<",
            BinOp::LtEq => "<=",
            BinOp::Gt => ">",
            BinOp::GtEq => ">=",
            BinOp::And => "AND",
            BinOp::Or => "OR",
            BinOp::Concat => "||",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnOp {
    Neg,
    Not,
}

/// Built-in scalar functions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Func {
    Abs,
    Coalesce,
    NullIf,
    Length,
    Lower,
    Upper,
    Round,
    Floor,
    Ceil,
    Mod,
    Concat,
    Substr,
    Trim,
    /// `power(a, b)`, `pow(a, b)` and `a ^ b`.
    Power,
    /// `sqrt(x)`; `|/ x` is `sqrt(x::float8)`.
    Sqrt,
    /// `cbrt(x)` and `||/ x`.
    Cbrt,
    Exp,
    Ln,
    /// `log(x)` and `log10(x)` (base 10), `log(b, x)`.
    Log,
    Sign,
    /// `trunc(x)`, `trunc(x, n)`.
    Trunc,
    Pi,
    // String functions, evaluated and typed by [`crate::strings`].
    Replace,
    /// `strpos(s, sub)` and `POSITION(sub IN s)`.
    StrPos,
    Left,
    Right,
    Lpad,
    Rpad,
    Ltrim,
    Rtrim,
    SplitPart,
    StartsWith,
    Repeat,
    Reverse,
    Initcap,
    Chr,
    Ascii,
    OctetLength,
    Md5,
    Translate,
    // Regular expressions, evaluated and typed by [`crate::regexp`].
    /// `regexp_like(s, p [, flags])`; also `s ~ p`, `s ~* p` (flags `i`).
    RegexpLike,
    RegexpCount,
    RegexpSubstr,
    RegexpReplace,
    /// `substring(s FROM pattern)` / `substring(s, pattern)` with a text
    /// pattern.
    RegexpSubstring,
    /// `greatest(...)` / `least(...)`: not strict (NULLs are skipped).
    Greatest,
    Least,
    /// `random()`: volatile, a new value per call.
    Random,
    /// `clock_timestamp()`: volatile, the time of the call.
    ClockTimestamp,
    /// `gen_random_uuid()`: volatile, a version 4 UUID.
    GenRandomUuid,
    /// `pg_sleep(seconds)`: volatile; waits (a cancel or statement timeout
    /// ends the wait with 57014), then returns an empty string (PostgreSQL:
    /// `void`).
    PgSleep,
    /// `date_trunc(field, t)`.
    DateTrunc,
    /// `make_date(y, m, d)`, `make_timestamp(y, mo, d, h, mi, sec)` and
    /// `to_timestamp(epoch seconds)` (see [`crate::datetime::construct`]).
    MakeDate,
    MakeTimestamp,
    ToTimestamp,
    /// `to_char(t, format)` of a TIMESTAMP (see [`crate::to_char`]).
    ToChar,
    /// `to_char(t, format)` of a TIMESTAMPTZ or DATE.
    ToCharTz,
    /// `date_part(field, t)` (double precision).
    DatePart,
    /// `EXTRACT(field FROM t)` (NUMERIC).
    Extract,
}

impl Func {
    /// The function's SQL name (as EXPLAIN shows it).
    pub fn name(self) -> &'static str {
        match self {
            Func::Abs => "abs",
            Func::Coalesce => "coalesce",
            Func::NullIf => "nullif",
            Func::Length => "length",
            Func::Lower => "lower",
            Func::Upper => "upper",
            Func::Round => "round",
            Func::Floor => "floor",
            Func::Ceil => "ceil",
            Func::Mod => "mod",
            Func::Concat => "concat",
            Func::Substr => "substr",
            Func::Trim => "btrim",
            Func::Power => "power",
            Func::Sqrt => "sqrt",
            Func::Cbrt => "cbrt",
            Func::Exp => "exp",
            Func::Ln => "ln",
            Func::Log => "log",
            Func::Sign => "sign",
            Func::Trunc => "trunc",
            Func::Pi => "pi",
            Func::Replace => "replace",
            Func::StrPos => "strpos",
            Func::Left => "left",
            Func::Right => "right",
            Func::Lpad => "lpad",
            Func::Rpad => "rpad",
            Func::Ltrim => "ltrim",
            Func::Rtrim => "rtrim",
            Func::SplitPart => "split_part",
            Func::StartsWith => "starts_with",
            Func::Repeat => "repeat",
            Func::Reverse => "reverse",
            Func::Initcap => "initcap",
            Func::Chr => "chr",
            Func::Ascii => "ascii",
            Func::OctetLength => "octet_length",
            Func::Md5 => "md5",
            Func::RegexpLike => "regexp_like",
            Func::RegexpCount => "regexp_count",
            Func::RegexpSubstr => "regexp_substr",
            Func::RegexpReplace => "regexp_replace",
            Func::RegexpSubstring => "substring",
            Func::Greatest => "greatest",
            Func::Least => "least",
            Func::Random => "random",
            Func::ClockTimestamp => "clock_timestamp",
            Func::GenRandomUuid => "gen_random_uuid",
            Func::PgSleep => "pg_sleep",
            Func::DateTrunc => "date_trunc",
            Func::ToChar | Func::ToCharTz => "to_char",
            Func::MakeDate => "make_date",
            Func::MakeTimestamp => "make_timestamp",
            Func::ToTimestamp => "to_timestamp",
            Func::Translate => "translate",
            Func::DatePart => "date_part",
            Func::Extract => "extract",
        }
    }

    /// Functions evaluated and typed by [`crate::strings`] (not
    /// `greatest`/`least`, which take any type).
    pub fn is_string(self) -> bool {
        matches!(
            self,
            Func::Replace
                | Func::StrPos
                | Func::Left
                | Func::Right
                | Func::Lpad
                | Func::Rpad
                | Func::Trim
                | Func::Ltrim
                | Func::Rtrim
                | Func::SplitPart
                | Func::StartsWith
                | Func::Repeat
                | Func::Reverse
                | Func::Initcap
                | Func::Chr
                | Func::Ascii
                | Func::OctetLength
                | Func::Md5
                | Func::Translate
        )
    }

    /// Functions evaluated and typed by [`crate::regexp`].
    pub fn is_regexp(self) -> bool {
        matches!(
            self,
            Func::RegexpLike
                | Func::RegexpCount
                | Func::RegexpSubstr
                | Func::RegexpReplace
                | Func::RegexpSubstring
        )
    }

    /// A new value at each call, whatever the arguments: never folded,
    /// evaluated per row (see [`Expr::is_volatile`]).
    pub fn is_volatile(self) -> bool {
        matches!(
            self,
            Func::Random | Func::ClockTimestamp | Func::PgSleep | Func::GenRandomUuid
        )
    }

    /// Functions evaluated and typed by [`crate::math`].
    pub fn is_math(self) -> bool {
        matches!(
            self,
            Func::Power
                | Func::Sqrt
                | Func::Cbrt
                | Func::Exp
                | Func::Ln
                | Func::Log
                | Func::Sign
                | Func::Trunc
                | Func::Pi
        )
    }
}

/// A subquery inside an expression.
#[derive(Clone, Debug)]
pub struct Subquery {
    pub plan: Plan,
    /// Unique per statement; uncorrelated results are cached under it.
    pub id: usize,
    /// True when the subquery refers to an enclosing query's row.
    pub correlated: bool,
    /// The type of its first output column.
    pub ty: DataType,
}

impl PartialEq for Subquery {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Literal(Value),
    Column(usize),
    Outer {
        depth: usize,
        index: usize,
    },
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    IsNull(Box<Expr>, bool),
    IsDistinct(Box<Expr>, Box<Expr>, bool),
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    InSubquery {
        expr: Box<Expr>,
        subquery: Box<Subquery>,
        negated: bool,
    },
    Exists {
        subquery: Box<Subquery>,
        negated: bool,
    },
    ScalarSubquery(Box<Subquery>),
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    Cast(Box<Expr>, DataType),
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
        case_insensitive: bool,
    },
    Func(Func, Vec<Expr>),
    /// A sequence function (`nextval('s')`, `setval`, `currval`,
    /// `lastval()`, which has no sequence): it has effects, so it is
    /// evaluated per row and never folded (see [`Expr::is_volatile`]).
    Sequence {
        func: SeqFunc,
        seq: Option<Arc<Sequence>>,
        args: Vec<Expr>,
    },
    /// An aggregate result slot; only exists during binding.
    Agg(usize),
    /// A window function result slot; only exists during binding.
    Window(usize),
}

impl Expr {
    pub fn lit(v: Value) -> Expr {
        Expr::Literal(v)
    }

    pub fn binary(op: BinOp, l: Expr, r: Expr) -> Expr {
        Expr::Binary(op, Box::new(l), Box::new(r))
    }

    /// Joins conjuncts with AND (`TRUE` when empty).
    pub fn and_all(mut exprs: Vec<Expr>) -> Expr {
        let Some(mut acc) = exprs.pop() else {
            return Expr::Literal(Value::Bool(true));
        };
        while let Some(e) = exprs.pop() {
            acc = Expr::binary(BinOp::And, e, acc);
        }
        acc
    }

    /// Splits a predicate into its top-level AND conjuncts.
    pub fn conjuncts(self) -> Vec<Expr> {
        match self {
            Expr::Binary(BinOp::And, l, r) => {
                let mut v = l.conjuncts();
                v.extend(r.conjuncts());
                v
            }
            e => vec![e],
        }
    }

    /// Calls `f` on every direct child expression (not into subquery plans).
    pub fn children(&self) -> Vec<&Expr> {
        match self {
            Expr::Literal(_) | Expr::Column(_) | Expr::Outer { .. } | Expr::Agg(_) | Expr::Window(_) => {
                vec![]
            }
            Expr::Exists { .. } | Expr::ScalarSubquery(_) => vec![],
            Expr::Unary(_, e) | Expr::IsNull(e, _) | Expr::Cast(e, _) => vec![e],
            Expr::InSubquery { expr, .. } => vec![expr],
            Expr::Binary(_, l, r) | Expr::IsDistinct(l, r, _) => vec![l, r],
            Expr::InList { expr, list, .. } => std::iter::once(&**expr).chain(list.iter()).collect(),
            Expr::Between { expr, low, high, .. } => vec![expr, low, high],
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => {
                let mut v: Vec<&Expr> = operand.iter().map(|b| &**b).collect();
                for (w, t) in whens {
                    v.push(w);
                    v.push(t);
                }
                v.extend(otherwise.iter().map(|b| &**b));
                v
            }
            Expr::Like { expr, pattern, .. } => vec![expr, pattern],
            Expr::Func(_, args) | Expr::Sequence { args, .. } => args.iter().collect(),
        }
    }

    /// Rebuilds the expression bottom-up through `f` (not into subquery plans).
    #[recursive::recursive]
    pub fn transform(self, f: &mut dyn FnMut(Expr) -> Result<Expr>) -> Result<Expr> {
        let e = self.map_children(&mut |c| c.transform(f))?;
        f(e)
    }

    /// Replaces each direct child through `f` (one level only).
    pub fn map_children(self, f: &mut dyn FnMut(Expr) -> Result<Expr>) -> Result<Expr> {
        let mut bx = |e: Box<Expr>| -> Result<Box<Expr>> { Ok(Box::new(f(*e)?)) };
        Ok(match self {
            Expr::Unary(op, e) => Expr::Unary(op, bx(e)?),
            Expr::Binary(op, l, r) => Expr::Binary(op, bx(l)?, bx(r)?),
            Expr::IsNull(e, n) => Expr::IsNull(bx(e)?, n),
            Expr::IsDistinct(l, r, n) => Expr::IsDistinct(bx(l)?, bx(r)?, n),
            Expr::Cast(e, t) => Expr::Cast(bx(e)?, t),
            Expr::InSubquery {
                expr,
                subquery,
                negated,
            } => Expr::InSubquery {
                expr: bx(expr)?,
                subquery,
                negated,
            },
            Expr::InList { expr, list, negated } => Expr::InList {
                expr: bx(expr)?,
                list: list
                    .into_iter()
                    .map(|e| bx(Box::new(e)).map(|b| *b))
                    .collect::<Result<_>>()?,
                negated,
            },
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => Expr::Between {
                expr: bx(expr)?,
                low: bx(low)?,
                high: bx(high)?,
                negated,
            },
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => Expr::Case {
                operand: operand.map(&mut bx).transpose()?,
                whens: whens
                    .into_iter()
                    .map(|(w, t)| Ok((*bx(Box::new(w))?, *bx(Box::new(t))?)))
                    .collect::<Result<_>>()?,
                otherwise: otherwise.map(&mut bx).transpose()?,
            },
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => Expr::Like {
                expr: bx(expr)?,
                pattern: bx(pattern)?,
                negated,
                case_insensitive,
            },
            Expr::Func(func, args) => Expr::Func(
                func,
                args.into_iter()
                    .map(|e| bx(Box::new(e)).map(|b| *b))
                    .collect::<Result<_>>()?,
            ),
            Expr::Sequence { func, seq, args } => Expr::Sequence {
                func,
                seq,
                args: args
                    .into_iter()
                    .map(|e| bx(Box::new(e)).map(|b| *b))
                    .collect::<Result<_>>()?,
            },
            e => e,
        })
    }

    /// True if any node satisfies `p` (not looking into subquery plans).
    #[recursive::recursive]
    pub fn any(&self, p: &dyn Fn(&Expr) -> bool) -> bool {
        p(self) || self.children().into_iter().any(|c| c.any(p))
    }

    /// Input columns referenced (not counting subquery plans).
    #[recursive::recursive]
    pub fn columns(&self, out: &mut Vec<usize>) {
        if let Expr::Column(i) = self {
            out.push(*i);
        }
        for c in self.children() {
            c.columns(out);
        }
    }

    /// True if the expression contains a correlated subquery, which must be
    /// evaluated against the row layout it was bound to (never pushed down).
    pub fn has_correlated_subquery(&self) -> bool {
        self.any(&|e| match e {
            Expr::InSubquery { subquery, .. }
            | Expr::Exists { subquery, .. }
            | Expr::ScalarSubquery(subquery) => subquery.correlated,
            _ => false,
        })
    }

    /// True if evaluating the expression has effects or may answer
    /// differently each time (a sequence function): it must run once per
    /// row, where it was written, and is never folded to a constant.
    pub fn is_volatile(&self) -> bool {
        self.any(&|e| match e {
            Expr::Sequence { .. } => true,
            Expr::Func(f, _) => f.is_volatile(),
            _ => false,
        })
    }

    pub fn has_subquery(&self) -> bool {
        self.any(&|e| {
            matches!(
                e,
                Expr::InSubquery { .. } | Expr::Exists { .. } | Expr::ScalarSubquery(_)
            )
        })
    }

    /// Renumbers column references through `map` (old position -> new).
    pub fn remap(self, map: &dyn Fn(usize) -> usize) -> Expr {
        self.transform(&mut |e| {
            Ok(match e {
                Expr::Column(i) => Expr::Column(map(i)),
                e => e,
            })
        })
        .unwrap_or(Expr::Literal(Value::Null))
    }

    /// The value of a column reference or literal, without copying it.
    fn value_ref<'a>(&'a self, row: &'a [Value]) -> Option<&'a Value> {
        match self {
            Expr::Literal(v) => Some(v),
            Expr::Column(i) => row.get(*i),
            _ => None,
        }
    }

    /// Evaluates against `row`.
    #[recursive::recursive]
    pub fn eval(&self, row: &[Value], ctx: &mut ExecCtx) -> Result<Value> {
        Ok(match self {
            Expr::Literal(v) => v.clone(),
            Expr::Column(i) => row
                .get(*i)
                .cloned()
                .ok_or_else(|| SqlError::internal(format!("column {i} out of range")))?,
            Expr::Outer { depth, index } => ctx.outer_value(*depth, *index)?,
            Expr::Unary(UnOp::Neg, e) => match e.eval(row, ctx)? {
                Value::Null => Value::Null,
                Value::Int(i) => Value::Int(i.checked_neg().ok_or_else(|| SqlError::overflow("bigint"))?),
                Value::Float(f) => Value::Float(-f),
                Value::Numeric(d) => Value::Numeric(d.neg()),
                Value::Interval(iv) => Value::Interval(iv.checked_neg()?),
                v => {
                    return Err(SqlError::new(
                        codes::UNDEFINED_FUNCTION,
                        format!("operator does not exist: - {}", v.data_type().name()),
                    ));
                }
            },
            Expr::Unary(UnOp::Not, e) => match e.eval(row, ctx)? {
                Value::Null => Value::Null,
                v => Value::Bool(!as_bool(&v)?),
            },
            Expr::Binary(BinOp::And, l, r) => {
                let l = l.eval(row, ctx)?;
                if !l.is_null() && !as_bool(&l)? {
                    return Ok(Value::Bool(false));
                }
                let r = r.eval(row, ctx)?;
                and3(&l, &r)?
            }
            Expr::Binary(BinOp::Or, l, r) => {
                let l = l.eval(row, ctx)?;
                if !l.is_null() && as_bool(&l)? {
                    return Ok(Value::Bool(true));
                }
                let r = r.eval(row, ctx)?;
                if r.is_null() {
                    Value::Null
                } else if as_bool(&r)? {
                    Value::Bool(true)
                } else if l.is_null() {
                    Value::Null
                } else {
                    Value::Bool(false)
                }
            }
            Expr::Binary(op, l, r) => {
                // Columns and literals are compared in place (no clone).
                if let (Some(a), Some(b)) = (l.value_ref(row), r.value_ref(row)) {
                    return binary(*op, a, b);
                }
                let l = l.eval(row, ctx)?;
                let r = r.eval(row, ctx)?;
                binary(*op, &l, &r)?
            }
            Expr::IsNull(e, negated) => Value::Bool(e.eval(row, ctx)?.is_null() != *negated),
            Expr::IsDistinct(l, r, negated) => {
                let l = l.eval(row, ctx)?;
                let r = r.eval(row, ctx)?;
                let distinct = match (l.is_null(), r.is_null()) {
                    (true, true) => false,
                    (true, false) | (false, true) => true,
                    _ => l.sql_cmp(&r)? != Some(Ordering::Equal),
                };
                Value::Bool(distinct != *negated)
            }
            Expr::InList { expr, list, negated } => {
                let v = expr.eval(row, ctx)?;
                if v.is_null() {
                    return Ok(Value::Null);
                }
                let mut saw_null = false;
                for e in list {
                    let ord = match e.value_ref(row) {
                        Some(x) => v.sql_cmp(x)?,
                        None => v.sql_cmp(&e.eval(row, ctx)?)?,
                    };
                    match ord {
                        Some(Ordering::Equal) => return Ok(Value::Bool(!*negated)),
                        None => saw_null = true,
                        _ => {}
                    }
                }
                if saw_null {
                    Value::Null
                } else {
                    Value::Bool(*negated)
                }
            }
            Expr::InSubquery {
                expr,
                subquery,
                negated,
            } => {
                let v = expr.eval(row, ctx)?;
                ctx.in_subquery(&v, subquery, row, *negated)?
            }
            Expr::Exists { subquery, negated } => Value::Bool(ctx.exists(subquery, row)? != *negated),
            Expr::ScalarSubquery(subquery) => ctx.scalar_subquery(subquery, row)?,
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let v = expr.eval(row, ctx)?;
                let lo = low.eval(row, ctx)?;
                let hi = high.eval(row, ctx)?;
                let ge = binary(BinOp::GtEq, &v, &lo)?;
                let le = binary(BinOp::LtEq, &v, &hi)?;
                let both = and3(&ge, &le)?;
                if *negated { not3(&both)? } else { both }
            }
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => {
                let op = match operand {
                    Some(o) => Some(o.eval(row, ctx)?),
                    None => None,
                };
                for (w, t) in whens {
                    let wv = w.eval(row, ctx)?;
                    let hit = match &op {
                        Some(o) => binary(BinOp::Eq, o, &wv)?.is_true(),
                        None => as_bool_or_null(&wv)?,
                    };
                    if hit {
                        return t.eval(row, ctx);
                    }
                }
                match otherwise {
                    Some(e) => e.eval(row, ctx)?,
                    None => Value::Null,
                }
            }
            Expr::Cast(e, t) => e.eval(row, ctx)?.cast(*t)?,
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => {
                let v = expr.eval(row, ctx)?;
                let p = pattern.eval(row, ctx)?;
                match (v, p) {
                    (Value::Null, _) | (_, Value::Null) => Value::Null,
                    (v, p) => {
                        let (v, p) = (text_of(&v), text_of(&p));
                        let m = if *case_insensitive {
                            like(&v.to_lowercase(), &p.to_lowercase())
                        } else {
                            like(&v, &p)
                        };
                        Value::Bool(m != *negated)
                    }
                }
            }
            Expr::Func(Func::Coalesce, args) => {
                for a in args {
                    let v = a.eval(row, ctx)?;
                    if !v.is_null() {
                        return Ok(v);
                    }
                }
                Value::Null
            }
            Expr::Func(f, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(a.eval(row, ctx)?);
                }
                call_function(*f, vals)?
            }
            Expr::Sequence { func, seq, args } => {
                // They commit on their own, but a read-only transaction
                // promised to write nothing (PostgreSQL: 25006).
                if matches!(func, SeqFunc::NextVal | SeqFunc::SetVal) && ctx.txn.options().read_only {
                    return Err(SqlError::new(
                        codes::READ_ONLY_TRANSACTION,
                        format!("cannot execute {}() in a read-only transaction", func.name()),
                    ));
                }
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(a.eval(row, ctx)?);
                }
                crate::sequence::call(*func, seq.as_deref(), &vals, ctx.txn)?
            }
            Expr::Agg(_) => return Err(SqlError::internal("aggregate evaluated outside aggregation")),
            Expr::Window(_) => {
                return Err(SqlError::internal("window function evaluated outside its window"));
            }
        })
    }
}

/// AND with three-valued logic.
pub fn and3(l: &Value, r: &Value) -> Result<Value> {
    let lf = !l.is_null() && !as_bool(l)?;
    let rf = !r.is_null() && !as_bool(r)?;
    Ok(if lf || rf {
        Value::Bool(false)
    } else if l.is_null() || r.is_null() {
        Value::Null
    } else {
        Value::Bool(true)
    })
}

pub fn not3(v: &Value) -> Result<Value> {
    Ok(match v {
        Value::Null => Value::Null,
        v => Value::Bool(!as_bool(v)?),
    })
}

fn as_bool(v: &Value) -> Result<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Int(i) => Ok(*i != 0),
        Value::Text(_) => Ok(v.cast(DataType::Bool)?.is_true()),
        other => Err(SqlError::mismatch(format!(
            "argument of boolean operator must be type boolean, not type {}",
            other.data_type().name()
        ))),
    }
}

fn as_bool_or_null(v: &Value) -> Result<bool> {
    if v.is_null() { Ok(false) } else { as_bool(v) }
}

fn text_of(v: &Value) -> String {
    v.to_text().unwrap_or_default()
}

/// `v IN (values)` with SQL NULL semantics.
pub fn in_values<'a>(v: &Value, values: impl Iterator<Item = &'a Value>, negated: bool) -> Result<Value> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let mut saw_null = false;
    for x in values {
        match v.sql_cmp(x)? {
            Some(Ordering::Equal) => return Ok(Value::Bool(!negated)),
            None => saw_null = true,
            _ => {}
        }
    }
    Ok(if saw_null {
        Value::Null
    } else {
        Value::Bool(negated)
    })
}

/// Evaluates a non-logical binary operator on two values.
pub fn binary(op: BinOp, l: &Value, r: &Value) -> Result<Value> {
    use Value::*;
    if op == BinOp::And {
        return and3(l, r);
    }
    if op == BinOp::Or {
        return not3(&and3(&not3(l)?, &not3(r)?)?);
    }
    if l.is_null() || r.is_null() {
        return Ok(Null);
    }
    if op.is_comparison() {
        let Some(ord) = l.sql_cmp(r)? else { return Ok(Null) };
        return Ok(Bool(match op {
            BinOp::Eq => ord == Ordering::Equal,
            BinOp::NotEq => ord != Ordering::Equal,
            BinOp::Lt => ord == Ordering::Less,
            BinOp::LtEq => ord != Ordering::Greater,
            BinOp::Gt => ord == Ordering::Greater,
            _ => ord != Ordering::Less,
        }));
    }
    if op == BinOp::Concat {
        return Ok(Text(format!("{}{}", text_of(l), text_of(r))));
    }
    if let Some(v) = datetime_arith(op, l, r)? {
        return Ok(v);
    }
    let (l, r) = (numeric_operand(l)?, numeric_operand(r)?);
    if let Some(v) = decimal_arith(op, &l, &r)? {
        return Ok(v);
    }
    Ok(match (l, r) {
        (Int(a), Int(b)) => {
            let res = match op {
                BinOp::Add => a.checked_add(b),
                BinOp::Sub => a.checked_sub(b),
                BinOp::Mul => a.checked_mul(b),
                BinOp::Div => {
                    if b == 0 {
                        return Err(SqlError::division_by_zero());
                    }
                    a.checked_div(b)
                }
                BinOp::Mod => {
                    if b == 0 {
                        return Err(SqlError::division_by_zero());
                    }
                    Some(a.checked_rem(b).unwrap_or(0))
                }
                _ => return Err(SqlError::internal("bad arithmetic operator")),
            };
            Int(res.ok_or_else(|| SqlError::overflow("bigint"))?)
        }
        (a, b) => {
            let (a, b) = (to_f64(&a), to_f64(&b));
            let res = match op {
                BinOp::Add => a + b,
                BinOp::Sub => a - b,
                BinOp::Mul => a * b,
                BinOp::Div => {
                    if b == 0.0 {
                        return Err(SqlError::division_by_zero());
                    }
                    a / b
                }
                BinOp::Mod => {
                    if b == 0.0 {
                        return Err(SqlError::division_by_zero());
                    }
                    a % b
                }
                _ => return Err(SqlError::internal("bad arithmetic operator")),
            };
            // As PostgreSQL's float8 operators: never a silent infinity or
            // a product/quotient silently flushed to zero.
            if res.is_infinite() && a.is_finite() && b.is_finite() {
                return Err(crate::math::float_overflow());
            }
            let underflow = match op {
                BinOp::Mul => a != 0.0 && b != 0.0,
                BinOp::Div => a != 0.0 && b.is_finite(),
                _ => false,
            };
            if res == 0.0 && underflow {
                return Err(crate::math::float_underflow());
            }
            Float(res)
        }
    })
}

/// Arithmetic when a NUMERIC meets an integer or NUMERIC (floats win).
fn decimal_arith(op: BinOp, l: &Value, r: &Value) -> Result<Option<Value>> {
    use crate::numeric::Decimal;
    let dec = |v: &Value| match v {
        Value::Numeric(d) => Some(*d),
        Value::Int(i) => Some(Decimal::from_i64(*i)),
        _ => None,
    };
    if !matches!(l, Value::Numeric(_)) && !matches!(r, Value::Numeric(_)) {
        return Ok(None);
    }
    let (Some(a), Some(b)) = (dec(l), dec(r)) else {
        return Ok(None);
    };
    Ok(Some(Value::Numeric(match op {
        BinOp::Add => a.add(&b)?,
        BinOp::Sub => a.sub(&b)?,
        BinOp::Mul => a.mul(&b)?,
        BinOp::Div => a.div(&b)?,
        BinOp::Mod => a.rem(&b)?,
        _ => return Err(SqlError::internal("bad arithmetic operator")),
    })))
}

/// Arithmetic on points in time and intervals: date ± integer, date -
/// date, timestamp/date ± interval, timestamp - timestamp, interval ±
/// interval, interval * or / a number. `None` when neither side is a date,
/// timestamp or interval.
///
/// Text beside them is an untyped literal and takes the type PostgreSQL's
/// operator resolution would give it: an interval beside an interval or
/// after `+`, a timestamp in `timestamp - '...'`.
fn datetime_arith(op: BinOp, l: &Value, r: &Value) -> Result<Option<Value>> {
    use Value::*;
    let coerce = |this: &Value, other: &Value| -> Result<Option<Value>> {
        Ok(match (this, other) {
            (Text(s), Interval(_)) => Some(Interval(crate::interval::parse(s)?)),
            (Text(s), Timestamp(_) | Date(_)) if op == BinOp::Add => {
                Some(Interval(crate::interval::parse(s)?))
            }
            (Text(s), Timestamp(_)) if op == BinOp::Sub => {
                Some(Timestamp(crate::datetime::parse_timestamp(s)?))
            }
            _ => None,
        })
    };
    if let Some(l) = coerce(l, r)? {
        return datetime_arith(op, &l, r);
    }
    if let Some(r) = coerce(r, l)? {
        return datetime_arith(op, l, &r);
    }
    // Dates are read and printed in years 1 to 9999 (see datetime).
    let shift = |d: i32, n: i64| -> Result<Value> {
        let out_of_range = || SqlError::new(codes::DATETIME_FIELD_OVERFLOW, "date out of range");
        let days = i64::from(d).checked_add(n).ok_or_else(out_of_range)?;
        // (Years 1 to 9999 are well within ±10^7 days of 1970.)
        if days.abs() > 10_000_000 || !(1..=9999).contains(&crate::datetime::civil_from_days(days).0) {
            return Err(out_of_range());
        }
        i32::try_from(days).map(Date).map_err(|_| out_of_range())
    };
    let ts = |d: &i32| crate::datetime::date_to_timestamp(*d);
    let factor = |v: &Value| match v {
        Int(i) => Some(*i as f64),
        Float(f) => Some(*f),
        Numeric(d) => Some(d.to_f64()),
        _ => None,
    };
    Ok(Some(match (op, l, r) {
        // Intervals: on timestamps and dates (a date becomes a timestamp),
        // with each other, and scaled by numbers.
        (BinOp::Add, Timestamp(t), Interval(iv)) | (BinOp::Add, Interval(iv), Timestamp(t)) => {
            Timestamp(iv.add_to(*t)?)
        }
        (BinOp::Add, Date(d), Interval(iv)) | (BinOp::Add, Interval(iv), Date(d)) => {
            Timestamp(iv.add_to(ts(d))?)
        }
        (BinOp::Sub, Timestamp(t), Interval(iv)) => Timestamp(iv.checked_neg()?.add_to(*t)?),
        (BinOp::Sub, Date(d), Interval(iv)) => Timestamp(iv.checked_neg()?.add_to(ts(d))?),
        (BinOp::Sub, Timestamp(a), Timestamp(b)) => Interval(crate::interval::Interval::between(*a, *b)?),
        (BinOp::Sub, Timestamp(a), Date(b)) => Interval(crate::interval::Interval::between(*a, ts(b))?),
        (BinOp::Sub, Date(a), Timestamp(b)) => Interval(crate::interval::Interval::between(ts(a), *b)?),
        (BinOp::Add, Interval(a), Interval(b)) => Interval(a.checked_add(b)?),
        (BinOp::Sub, Interval(a), Interval(b)) => Interval(a.checked_add(&b.checked_neg()?)?),
        (BinOp::Mul, Interval(iv), n) | (BinOp::Mul, n, Interval(iv)) if factor(n).is_some() => {
            Interval(iv.mul(factor(n).unwrap_or(1.0))?)
        }
        (BinOp::Div, Interval(iv), n) if factor(n).is_some() => Interval(iv.div(factor(n).unwrap_or(1.0))?),
        (BinOp::Add, Date(d), Int(n)) | (BinOp::Add, Int(n), Date(d)) => shift(*d, *n)?,
        (BinOp::Sub, Date(d), Int(n)) => shift(*d, n.checked_neg().unwrap_or(i64::MAX))?,
        (BinOp::Sub, Date(a), Date(b)) => Int(i64::from(*a) - i64::from(*b)),
        (_, Date(_) | Timestamp(_) | Bytes(_) | Interval(_) | Uuid(_), _)
        | (_, _, Date(_) | Timestamp(_) | Bytes(_) | Interval(_) | Uuid(_)) => {
            return Err(SqlError::new(
                codes::UNDEFINED_FUNCTION,
                format!(
                    "operator does not exist: {} {} {}",
                    l.data_type().name(),
                    op.symbol(),
                    r.data_type().name()
                ),
            ));
        }
        _ => return Ok(None),
    }))
}

fn numeric_operand(v: &Value) -> Result<Value> {
    match v {
        Value::Int(_) | Value::Float(_) | Value::Numeric(_) => Ok(v.clone()),
        Value::Text(s) => {
            if let Ok(i) = s.trim().parse::<i64>() {
                Ok(Value::Int(i))
            } else {
                v.cast(DataType::Float8)
            }
        }
        other => Err(SqlError::new(
            codes::UNDEFINED_FUNCTION,
            format!("operator does not exist for type {}", other.data_type().name()),
        )),
    }
}

fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Numeric(d) => d.to_f64(),
        _ => 0.0,
    }
}

/// SQL LIKE with `%` and `_` (backslash escapes the next character).
/// Runs in O(len(s) * len(p)) with the classic single-backtrack scan.
pub fn like(s: &str, p: &str) -> bool {
    enum Tok {
        Any,
        One,
        Lit(char),
    }
    let mut toks = Vec::new();
    let mut it = p.chars();
    while let Some(c) = it.next() {
        toks.push(match c {
            '%' => Tok::Any,
            '_' => Tok::One,
            '\\' => Tok::Lit(it.next().unwrap_or('\\')),
            c => Tok::Lit(c),
        });
    }
    let s: Vec<char> = s.chars().collect();
    let (mut si, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match toks.get(pi) {
            Some(Tok::Any) => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(Tok::One) => {
                si += 1;
                pi += 1;
            }
            Some(Tok::Lit(c)) if *c == s[si] => {
                si += 1;
                pi += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    toks[pi.min(toks.len())..].iter().all(|t| matches!(t, Tok::Any))
}

/// `random()`: uniform in [0, 1), from a per-thread xorshift generator
/// seeded from the process's random hasher keys and the clock. Not
/// cryptographic, like PostgreSQL's.
fn random_unit() -> f64 {
    use std::cell::Cell;
    use std::hash::{BuildHasher, Hasher};
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_i64(crate::datetime::now_micros());
            h.finish() | 1
        });
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    })
}

/// `pg_sleep`: waits `seconds` (none if not positive or NaN; until
/// cancelled if beyond any clock) in slices short enough that a cancel or
/// a statement timeout ends it within about 10 ms.
fn sleep(seconds: f64) -> Result<Value> {
    let total = if seconds.is_nan() {
        std::time::Duration::ZERO
    } else {
        std::time::Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(std::time::Duration::MAX)
    };
    let start = std::time::Instant::now();
    loop {
        crate::interrupt::check_current()?;
        let left = total.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Ok(Value::Text(String::new()));
        }
        std::thread::sleep(left.min(std::time::Duration::from_millis(10)));
    }
}

fn call_function(f: Func, args: Vec<Value>) -> Result<Value> {
    use Value::*;
    match f {
        Func::Greatest => return crate::strings::extreme(args, Ordering::Greater),
        Func::Least => return crate::strings::extreme(args, Ordering::Less),
        Func::Random => return Ok(Float(random_unit())),
        Func::ClockTimestamp => return Ok(Timestamp(crate::datetime::now_micros())),
        Func::GenRandomUuid => return Ok(Uuid(crate::uuid::random()?)),
        _ => {}
    }
    if f != Func::Concat && f != Func::NullIf && args.iter().any(|a| a.is_null()) {
        return Ok(Null);
    }
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Null);
    Ok(match f {
        Func::Abs => match arg(0) {
            Int(i) => Int(i.checked_abs().ok_or_else(|| SqlError::overflow("bigint"))?),
            Float(x) => Float(x.abs()),
            Numeric(d) => Numeric(d.abs()),
            v => numeric_operand(&v).and_then(|v| call_function(Func::Abs, vec![v]))?,
        },
        Func::NullIf => {
            let (a, b) = (arg(0), arg(1));
            if !a.is_null() && !b.is_null() && a.sql_cmp(&b)? == Some(Ordering::Equal) {
                Null
            } else {
                a
            }
        }
        Func::Coalesce => args.into_iter().find(|v| !v.is_null()).unwrap_or(Null),
        Func::Length => Int(text_of(&arg(0)).chars().count() as i64),
        Func::Lower => Text(text_of(&arg(0)).to_lowercase()),
        Func::Upper => Text(text_of(&arg(0)).to_uppercase()),
        Func::Round => {
            let digits = match arg(1) {
                Int(d) => d,
                Null => 0,
                _ => 0,
            };
            match arg(0) {
                Int(i) if digits >= 0 => Int(i),
                Int(i) => Numeric(crate::numeric::Decimal::from_i64(i).round(digits)?),
                Numeric(d) => Numeric(d.round(digits)?),
                v => {
                    let x = to_f64(&numeric_operand(&v)?);
                    let m = 10f64.powi(digits.clamp(-300, 300) as i32);
                    Float((x * m).round() / m)
                }
            }
        }
        Func::Floor => match arg(0) {
            Int(i) => Int(i),
            Numeric(d) => Numeric(d.floor_ceil(false)?),
            v => Float(to_f64(&numeric_operand(&v)?).floor()),
        },
        Func::Ceil => match arg(0) {
            Int(i) => Int(i),
            Numeric(d) => Numeric(d.floor_ceil(true)?),
            v => Float(to_f64(&numeric_operand(&v)?).ceil()),
        },
        Func::Mod => binary(BinOp::Mod, &arg(0), &arg(1))?,
        Func::Concat => Text(args.iter().filter_map(|a| a.to_text()).collect()),
        Func::Substr => {
            let s: Vec<char> = text_of(&arg(0)).chars().collect();
            let start = match arg(1) {
                Int(i) => i,
                v => to_f64(&numeric_operand(&v)?) as i64,
            };
            let len = match arg(2) {
                Null => i64::MAX / 4,
                Int(i) => i,
                v => to_f64(&numeric_operand(&v)?) as i64,
            };
            if len < 0 {
                return Err(SqlError::new(
                    codes::INVALID_PARAMETER_VALUE,
                    "negative substring length not allowed",
                ));
            }
            // SQL positions are 1-based; characters before position 1 count
            // against the length.
            let end = start.saturating_add(len);
            let from = start.max(1);
            if end <= from {
                Text(String::new())
            } else {
                let from = (from - 1) as usize;
                let to = ((end - 1) as usize).min(s.len());
                Text(
                    s.get(from.min(to)..to)
                        .map(|c| c.iter().collect())
                        .unwrap_or_default(),
                )
            }
        }
        Func::DateTrunc | Func::DatePart | Func::Extract => crate::datetime::call(f, &args)?,
        Func::Power
        | Func::Sqrt
        | Func::Cbrt
        | Func::Exp
        | Func::Ln
        | Func::Log
        | Func::Sign
        | Func::Trunc
        | Func::Pi => crate::math::call(f, &args)?,
        Func::PgSleep => match args.first().map(|a| a.cast(DataType::Float8)).transpose()? {
            Some(Float(seconds)) => sleep(seconds)?,
            other => return Err(SqlError::internal(format!("pg_sleep of {other:?}"))),
        },
        Func::Greatest | Func::Least | Func::Random | Func::ClockTimestamp | Func::GenRandomUuid => {
            return Err(SqlError::internal(format!(
                "{f:?} evaluated as a strict function"
            )));
        }
        f if f.is_regexp() => crate::regexp::call(f, &args)?,
        Func::MakeDate | Func::MakeTimestamp | Func::ToTimestamp => crate::datetime::construct(f, &args)?,
        Func::ToChar | Func::ToCharTz => {
            let format = args.get(1).and_then(Value::to_text).unwrap_or_default();
            crate::to_char::to_char(&arg(0), &format, f == Func::ToCharTz)?
        }
        // The rest are the string functions (it refuses anything else).
        f => crate::strings::call(f, &args)?,
    })
}

/// The static type of an expression given its input column types.
pub fn infer_type(e: &Expr, input: &[DataType]) -> DataType {
    match e {
        Expr::Literal(v) => v.data_type(),
        Expr::Column(i) => input.get(*i).copied().unwrap_or(DataType::Unknown),
        Expr::Outer { .. } | Expr::Agg(_) | Expr::Window(_) => DataType::Unknown,
        Expr::Unary(UnOp::Neg, e) => infer_type(e, input),
        Expr::Binary(op, l, r) => match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                let (l, r) = (infer_type(l, input), infer_type(r, input));
                let time =
                    |t: DataType| matches!(t, DataType::Date | DataType::Timestamp | DataType::TimestampTz);
                // An untyped literal beside a point in time is an interval
                // after `+` and the same type after `-` (see
                // `datetime_arith`).
                let untyped = |t: DataType| matches!(t, DataType::Text(_) | DataType::Unknown);
                let (l, r) = match (op, l, r) {
                    (BinOp::Add, t, u) if time(t) && untyped(u) => (t, DataType::Interval),
                    (BinOp::Add, u, t) if time(t) && untyped(u) => (DataType::Interval, t),
                    (BinOp::Sub, t, u) if time(t) && untyped(u) => (t, t),
                    (BinOp::Sub, u, t) if time(t) && untyped(u) => (t, t),
                    _ => (l, r),
                };
                if l == DataType::Interval || r == DataType::Interval {
                    // A point in time moved by an interval stays one (a
                    // date becomes a timestamp); else an interval.
                    match (l, r) {
                        (DataType::TimestampTz, _) | (_, DataType::TimestampTz) => DataType::TimestampTz,
                        (t, _) | (_, t) if time(t) => DataType::Timestamp,
                        _ => DataType::Interval,
                    }
                } else if time(l) && time(r) && !(l == DataType::Date && r == DataType::Date) {
                    DataType::Interval
                } else if l == DataType::Date && r == DataType::Date {
                    DataType::Int4
                } else if l == DataType::Date || r == DataType::Date {
                    DataType::Date
                } else if l.is_float() || r.is_float() {
                    DataType::Float8
                } else if matches!(l, DataType::Numeric(_)) || matches!(r, DataType::Numeric(_)) {
                    DataType::Numeric(None)
                } else {
                    DataType::common(l, r)
                }
            }
            BinOp::Concat => DataType::Text(None),
            _ => DataType::Bool,
        },
        Expr::Unary(UnOp::Not, _)
        | Expr::IsNull(..)
        | Expr::IsDistinct(..)
        | Expr::InList { .. }
        | Expr::InSubquery { .. }
        | Expr::Exists { .. }
        | Expr::Between { .. }
        | Expr::Like { .. } => DataType::Bool,
        Expr::ScalarSubquery(s) => s.ty,
        Expr::Case { whens, otherwise, .. } => {
            let mut t = DataType::Unknown;
            for (_, r) in whens {
                t = DataType::common(t, infer_type(r, input));
            }
            if let Some(o) = otherwise {
                t = DataType::common(t, infer_type(o, input));
            }
            t
        }
        Expr::Cast(_, t) => *t,
        Expr::Sequence { .. } => DataType::Int8,
        Expr::Func(f, args) => match f {
            Func::Length => DataType::Int4,
            Func::Lower | Func::Upper | Func::Concat | Func::Substr => DataType::Text(None),
            f if f.is_string() => crate::strings::result_type(*f),
            f if f.is_regexp() => crate::regexp::result_type(*f),
            Func::Random | Func::DatePart => DataType::Float8,
            Func::Extract => DataType::Numeric(None),
            Func::ClockTimestamp => DataType::Timestamp,
            Func::GenRandomUuid => DataType::Uuid,
            Func::ToChar | Func::ToCharTz => DataType::Text(None),
            Func::MakeDate => DataType::Date,
            Func::MakeTimestamp => DataType::Timestamp,
            Func::ToTimestamp => DataType::TimestampTz,
            Func::PgSleep => DataType::Text(None),
            Func::DateTrunc => match args.get(1).map(|a| infer_type(a, input)) {
                Some(DataType::TimestampTz) => DataType::TimestampTz,
                _ => DataType::Timestamp,
            },
            f if f.is_math() => {
                let types: Vec<DataType> = args.iter().map(|a| infer_type(a, input)).collect();
                crate::math::result_type(*f, &types)
            }
            _ => args.iter().fold(DataType::Unknown, |t, a| {
                DataType::common(t, infer_type(a, input))
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(
            binary(BinOp::Add, &Value::Int(i64::MAX), &Value::Int(1))
                .unwrap_err()
                .code,
            "22003"
        );
        assert_eq!(
            binary(BinOp::Div, &Value::Int(1), &Value::Int(0))
                .unwrap_err()
                .code,
            "22012"
        );
        assert_eq!(
            binary(BinOp::Div, &Value::Int(7), &Value::Int(2)).unwrap(),
            Value::Int(3)
        );
        assert_eq!(
            binary(BinOp::Add, &Value::Null, &Value::Int(1)).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn in_list_null_semantics() {
        let l = [Value::Int(1), Value::Null];
        assert_eq!(
            in_values(&Value::Int(1), l.iter(), false).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(in_values(&Value::Int(2), l.iter(), false).unwrap(), Value::Null);
        assert_eq!(
            in_values(&Value::Int(2), l[..1].iter(), true).unwrap(),
            Value::Bool(true)
        );
    }

    #[test]
    fn like_patterns() {
        assert!(like("hello", "h%o"));
        assert!(like("hello", "_ello"));
        assert!(!like("hello", "h_o"));
        assert!(like("a%b", "a\\%b"));
        assert!(!like("axb", "a\\%b"));
        assert!(like("", "%"));
        assert!(!like(&"a".repeat(200), &"%a".repeat(50).replace("%a%a", "%a%b")));
    }
}
