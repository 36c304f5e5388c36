//! Math functions with PostgreSQL's semantics: `power`/`pow` (and the
//! `^` operator), `sqrt` (`|/`), `cbrt` (`||/`), `exp`, `ln`,
//! `log`/`log10`, `log(b, x)`, `sign`, `trunc`, `trunc(x, n)` and `pi`.
//!
//! Overloads resolve as PostgreSQL resolves them ([`result_type`] is the
//! static type, [`call`] computes the value): a double precision (or real)
//! argument selects the double precision version; otherwise a NUMERIC
//! argument selects the NUMERIC version; integers alone select double
//! precision, PostgreSQL's preferred numeric type (`2 ^ 10` is `1024` as
//! double precision, `2.0 ^ 10` is `1024.0000000000000000` as NUMERIC).
//! `cbrt` and `pi` exist only for double precision, `log(b, x)` and
//! `trunc(x, n)` only for NUMERIC.
//!
//! Double precision follows PostgreSQL's `float.c`: `0 ^ -1` and a
//! negative number to a non-integer power are 2201F, as is the square
//! root of a negative number; the logarithm of zero or of a negative
//! number is 2201E; a finite input whose result overflows to infinity is
//! 22003 "value out of range: overflow" and one whose result underflows
//! to zero 22003 "value out of range: underflow" (never a silent `inf` or
//! `0`). Infinite or NaN inputs give IEEE results without error.
//!
//! NUMERIC follows `numeric.c`: the result scale is chosen as PostgreSQL
//! 15 chooses it (at least 16 significant digits and never less than the
//! inputs' scales; an integer power has scale max(16, scale of the base)),
//! and the value is computed in big-integer fixed point ([`BigUint`]) with
//! guard digits, then rounded half away from zero at that scale. A square
//! root is exact before rounding; so is an integer power whenever its
//! exact value has fewer digits than the working precision. Departure: a
//! [`Decimal`] holds 38 digits, so a result needing more is 22003 and a
//! result scale above 38 is cut to 38 (PostgreSQL would print more
//! digits; `exp(-100.0)` is zero at 38 places here).

use crate::bigint::BigUint;
use crate::error::{Result, SqlError, codes};
use crate::expr::Func;
use crate::numeric::{Decimal, MAX_SCALE};
use crate::types::{DataType, Value};

/// The static result type of a math function over arguments of `args` types.
pub fn result_type(f: Func, args: &[DataType]) -> DataType {
    match f {
        Func::Cbrt | Func::Pi => DataType::Float8,
        Func::Log | Func::Trunc if args.len() == 2 => DataType::Numeric(None),
        _ if args.iter().any(|t| t.is_float()) => DataType::Float8,
        _ if args.iter().any(|t| matches!(t, DataType::Numeric(_))) => DataType::Numeric(None),
        _ => DataType::Float8,
    }
}

/// Evaluates a math function on non-NULL arguments (arity already checked).
pub fn call(f: Func, args: &[Value]) -> Result<Value> {
    let numeric = match f {
        Func::Cbrt | Func::Pi => false,
        Func::Log | Func::Trunc if args.len() == 2 => true,
        _ => {
            !args.iter().any(|v| matches!(v, Value::Float(_)))
                && args.iter().any(|v| matches!(v, Value::Numeric(_)))
        }
    };
    let bad = || SqlError::internal(format!("{f:?} with {} arguments", args.len()));
    if numeric {
        if f == Func::Trunc {
            let x = decimal_arg(f, args, 0)?;
            let n = match args.get(1) {
                None => 0,
                Some(v) => int_arg(f, args, v)?,
            };
            return Ok(Value::Numeric(x.trunc(n)?));
        }
        let d = (0..args.len())
            .map(|i| decimal_arg(f, args, i))
            .collect::<Result<Vec<_>>>()?;
        return Ok(Value::Numeric(match (f, d.as_slice()) {
            (Func::Power, [a, b]) => numeric_power(a, b)?,
            (Func::Sqrt, [x]) => numeric_sqrt(x)?,
            (Func::Exp, [x]) => numeric_exp(x)?,
            (Func::Ln, [x]) => numeric_ln(x)?,
            (Func::Log, [x]) => numeric_log(&Decimal::from_i64(10), x)?,
            (Func::Log, [b, x]) => numeric_log(b, x)?,
            (Func::Sign, [x]) => x.signum(),
            _ => return Err(bad()),
        }));
    }
    let x = (0..args.len())
        .map(|i| float_arg(f, args, i))
        .collect::<Result<Vec<_>>>()?;
    Ok(Value::Float(match (f, x.as_slice()) {
        (Func::Power, [a, b]) => float_power(*a, *b)?,
        (Func::Sqrt, [x]) => float_sqrt(*x)?,
        (Func::Cbrt, [x]) => checked(x.cbrt(), *x)?,
        (Func::Exp, [x]) => float_exp(*x)?,
        (Func::Ln, [x]) => float_log(*x, f64::ln)?,
        (Func::Log, [x]) => float_log(*x, f64::log10)?,
        (Func::Sign, [x]) => {
            if *x > 0.0 {
                1.0
            } else if *x < 0.0 {
                -1.0
            } else {
                0.0
            }
        }
        (Func::Trunc, [x]) => {
            if *x >= 0.0 {
                x.floor()
            } else {
                -(-x).floor()
            }
        }
        (Func::Pi, []) => std::f64::consts::PI,
        _ => return Err(bad()),
    }))
}

/// 42883 for an argument no overload takes (a boolean, a date, ...).
fn no_such_function(f: Func, args: &[Value]) -> SqlError {
    let types: Vec<&str> = args.iter().map(|v| v.data_type().name()).collect();
    SqlError::new(
        codes::UNDEFINED_FUNCTION,
        format!(
            "function {}({}) does not exist",
            format!("{f:?}").to_lowercase(),
            types.join(", ")
        ),
    )
}

fn float_arg(f: Func, args: &[Value], i: usize) -> Result<f64> {
    Ok(match &args[i] {
        Value::Int(n) => *n as f64,
        Value::Float(x) => *x,
        Value::Numeric(d) => d.to_f64(),
        v @ Value::Text(_) => match v.cast(DataType::Float8)? {
            Value::Float(x) => x,
            _ => return Err(no_such_function(f, args)),
        },
        _ => return Err(no_such_function(f, args)),
    })
}

fn decimal_arg(f: Func, args: &[Value], i: usize) -> Result<Decimal> {
    Ok(match &args[i] {
        Value::Int(n) => Decimal::from_i64(*n),
        Value::Numeric(d) => *d,
        Value::Float(x) => Decimal::from_f64(*x)?,
        v @ Value::Text(_) => match v.cast(DataType::Numeric(None))? {
            Value::Numeric(d) => d,
            _ => return Err(no_such_function(f, args)),
        },
        _ => return Err(no_such_function(f, args)),
    })
}

fn int_arg(f: Func, args: &[Value], v: &Value) -> Result<i64> {
    match v {
        Value::Int(n) => Ok(*n),
        Value::Text(_) | Value::Numeric(_) | Value::Float(_) => match v.cast(DataType::Int4)? {
            Value::Int(n) => Ok(n),
            _ => Err(no_such_function(f, args)),
        },
        _ => Err(no_such_function(f, args)),
    }
}

// ---------------------------------------------------------------------
// Double precision

/// 22003 "value out of range: overflow" (a finite input, an infinite result).
pub fn float_overflow() -> SqlError {
    SqlError::new(codes::NUMERIC_OUT_OF_RANGE, "value out of range: overflow")
}

/// 22003 "value out of range: underflow" (a non-zero input, a zero result).
pub fn float_underflow() -> SqlError {
    SqlError::new(codes::NUMERIC_OUT_OF_RANGE, "value out of range: underflow")
}

fn power_error(message: &str) -> SqlError {
    SqlError::new(codes::INVALID_ARGUMENT_FOR_POWER_FUNCTION, message)
}

fn log_error(message: &str) -> SqlError {
    SqlError::new(codes::INVALID_ARGUMENT_FOR_LOG, message)
}

/// PostgreSQL's check of a one-argument result: infinity from a finite
/// input is an overflow, zero from a non-zero input an underflow.
fn checked(r: f64, x: f64) -> Result<f64> {
    if r.is_infinite() && x.is_finite() {
        return Err(float_overflow());
    }
    if r == 0.0 && x != 0.0 {
        return Err(float_underflow());
    }
    Ok(r)
}

/// `a ^ b` in double precision (PostgreSQL's `dpow`).
pub fn float_power(a: f64, b: f64) -> Result<f64> {
    if a.is_nan() || b.is_nan() {
        // NaN ^ 0 = 1, 1 ^ NaN = 1, otherwise NaN (POSIX, as pow() does).
        return Ok(a.powf(b));
    }
    if a == 0.0 && b < 0.0 {
        return Err(power_error("zero raised to a negative power is undefined"));
    }
    if a < 0.0 && b.floor() != b {
        return Err(power_error(
            "a negative number raised to a non-integer power yields a complex result",
        ));
    }
    let r = a.powf(b);
    if a.is_finite() && b.is_finite() {
        if r.is_infinite() {
            return Err(float_overflow());
        }
        if r == 0.0 && a != 0.0 {
            return Err(float_underflow());
        }
    }
    Ok(r)
}

fn float_sqrt(x: f64) -> Result<f64> {
    if x < 0.0 {
        return Err(power_error("cannot take square root of a negative number"));
    }
    checked(x.sqrt(), x)
}

fn float_exp(x: f64) -> Result<f64> {
    if x.is_nan() {
        return Ok(x);
    }
    if x.is_infinite() {
        return Ok(if x > 0.0 { x } else { 0.0 });
    }
    let r = x.exp();
    if r.is_infinite() {
        return Err(float_overflow());
    }
    if r == 0.0 {
        return Err(float_underflow());
    }
    Ok(r)
}

/// `ln` or `log10` (PostgreSQL's `dlog1` / `dlog10`).
fn float_log(x: f64, log: fn(f64) -> f64) -> Result<f64> {
    if x == 0.0 {
        return Err(log_error("cannot take logarithm of zero"));
    }
    if x < 0.0 {
        return Err(log_error("cannot take logarithm of a negative number"));
    }
    let r = log(x);
    if r.is_infinite() && x.is_finite() {
        return Err(float_overflow());
    }
    if r == 0.0 && x != 1.0 {
        return Err(float_underflow());
    }
    Ok(r)
}

// ---------------------------------------------------------------------
// NUMERIC

/// PostgreSQL's NUMERIC_MIN_SIG_DIGITS.
const MIN_SIG_DIGITS: i64 = 16;
/// PostgreSQL's NUMERIC_MAX_DISPLAY_SCALE.
const MAX_DISPLAY_SCALE: i64 = 1000;
/// PostgreSQL's NUMERIC_MAX_RESULT_SCALE.
const MAX_RESULT_SCALE: f64 = 2000.0;
/// log10(e) as numeric.c writes it, not `std::f64::consts::LOG10_E`: the
/// truncation of estimates multiplied by it decides result scales, so the
/// same (slightly larger) double is used.
#[allow(clippy::approx_constant)]
const LOG10_E: f64 = 0.434294481903252;
/// Fixed-point digits carried beyond what a result needs.
const GUARD: u32 = 16;
/// Above this decimal weight a result cannot fit a [`Decimal`].
const MAX_WEIGHT: f64 = 40.0;

/// A result beyond the 38 digits a Decimal holds.
fn numeric_overflow() -> SqlError {
    SqlError::overflow("numeric")
}

/// A result beyond what PostgreSQL's NUMERIC holds, with its message.
fn numeric_format_overflow() -> SqlError {
    SqlError::new(codes::NUMERIC_OUT_OF_RANGE, "value overflows numeric format")
}

/// A result scale clamped as PostgreSQL clamps it, and to what a Decimal holds.
fn result_scale(rscale: i64) -> u32 {
    rscale.clamp(0, MAX_DISPLAY_SCALE).min(i64::from(MAX_SCALE)) as u32
}

fn dscale(d: &Decimal) -> i64 {
    i64::from(d.scale())
}

fn one() -> BigUint {
    BigUint::from_u64(1)
}

/// PostgreSQL's NumericVar view of |d|: the base-10000 digits (without
/// leading or trailing zero groups) and the weight of the first one.
fn nbase(d: &Decimal) -> (i64, Vec<u32>) {
    let m = d.mantissa().unsigned_abs();
    if m == 0 {
        return (0, Vec::new());
    }
    let digits = m.to_string();
    let s = d.scale() as usize;
    let (int, frac) = if digits.len() > s {
        let (i, f) = digits.split_at(digits.len() - s);
        (i.to_string(), f.to_string())
    } else {
        (String::new(), format!("{}{digits}", "0".repeat(s - digits.len())))
    };
    let int_groups = int.len().div_ceil(4);
    let mut all = "0".repeat(int_groups * 4 - int.len());
    all.push_str(&int);
    all.push_str(&frac);
    all.push_str(&"0".repeat((4 - frac.len() % 4) % 4));
    let mut groups: Vec<u32> = all
        .as_bytes()
        .chunks(4)
        .map(|c| c.iter().fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0')))
        .collect();
    let lead = groups.iter().take_while(|g| **g == 0).count();
    groups.drain(..lead);
    while groups.last() == Some(&0) {
        groups.pop();
    }
    (int_groups as i64 - 1 - lead as i64, groups)
}

/// numeric.c's estimate_ln_dweight: the decimal weight of ln(x).
fn estimate_ln_dweight(x: &Decimal) -> i64 {
    if x.mantissa() <= 0 {
        return 0;
    }
    let (lo, hi) = (Decimal::new(9, 1), Decimal::new(11, 1));
    if *x >= lo && *x <= hi {
        // ln(1 + y) ~= y
        let Ok(y) = x.sub(&Decimal::from_i64(1)) else {
            return 0;
        };
        let (w, digits) = nbase(&y);
        return match digits.first() {
            Some(&d) => w * 4 + f64::from(d).log10() as i64,
            None => 0,
        };
    }
    let (w, digits) = nbase(x);
    let Some(&first) = digits.first() else {
        return 0;
    };
    let mut d = f64::from(first);
    let mut dweight = w * 4;
    if let Some(&second) = digits.get(1) {
        d = d * 10000.0 + f64::from(second);
        dweight -= 4;
    }
    let ln = d.ln() + dweight as f64 * std::f64::consts::LN_10;
    ln.abs().log10() as i64
}

/// |d| in fixed point with `p` fractional digits (truncated).
fn fixed(d: &Decimal, p: u32) -> BigUint {
    let m = BigUint::from_u128(d.mantissa().unsigned_abs());
    let s = d.scale();
    if p >= s {
        m.mul(&BigUint::pow10(p - s))
    } else {
        m.div(&BigUint::pow10(s - p))
    }
}

/// Fixed-point `v` (`p` fractional digits) at `rscale` digits, rounded
/// half away from zero.
fn round_fixed(v: &BigUint, p: u32, rscale: u32) -> BigUint {
    if p <= rscale {
        return v.mul(&BigUint::pow10(rscale - p));
    }
    let d = BigUint::pow10(p - rscale);
    let (q, r) = v.divrem(&d);
    if r.mul_small(2) >= d { q.add(&one()) } else { q }
}

/// The Decimal `±v / 10^p`, rounded to `rscale` fractional digits.
fn to_decimal(negative: bool, v: &BigUint, p: u32, rscale: u32) -> Result<Decimal> {
    let m = round_fixed(v, p, rscale)
        .to_u128()
        .filter(|m| *m < 10u128.pow(MAX_SCALE))
        .ok_or_else(numeric_overflow)? as i128;
    Ok(Decimal::new(if negative { -m } else { m }, rscale))
}

fn fixed_to_f64(v: &BigUint, p: u32) -> f64 {
    format!("{v}e-{p}").parse().unwrap_or(0.0)
}

/// ln(y) for 1 <= y <= 10 in fixed point (`p` >= 2 fractional digits):
/// square roots bring y below 1.01, then ln(y) = 2 atanh((y-1)/(y+1)).
fn ln_1_10(y: &BigUint, p: u32) -> BigUint {
    let unit = BigUint::pow10(p);
    let limit = BigUint::pow10(p - 2).mul_small(101);
    let mut y = y.clone();
    let mut roots = 0;
    while y > limit {
        y = y.mul(&unit).isqrt();
        roots += 1;
    }
    let z = y.sub(&unit).mul(&unit).div(&y.add(&unit));
    let z2 = z.mul(&z).div(&unit);
    let mut sum = z.clone();
    let mut power = z;
    let mut n = 1u32;
    loop {
        power = power.mul(&z2).div(&unit);
        n += 2;
        let term = power.divrem_small(n).0;
        if term.is_zero() {
            break;
        }
        sum = sum.add(&term);
    }
    sum.mul_small(1 << (roots + 1))
}

/// ln(10) in fixed point with `p` fractional digits; up to 200 digits
/// are computed once and truncated.
fn ln10(p: u32) -> BigUint {
    const CACHED: u32 = 200;
    static LN10: std::sync::OnceLock<BigUint> = std::sync::OnceLock::new();
    if p > CACHED - GUARD {
        return ln_1_10(&BigUint::pow10(p + 1), p);
    }
    let full = LN10.get_or_init(|| ln_1_10(&BigUint::pow10(CACHED + 1), CACHED));
    full.div(&BigUint::pow10(CACHED - p))
}

/// ln(x) for x > 0 in fixed point with `p` fractional digits, as
/// (negative, |ln x|); the absolute error is far below 10^(16 - p).
fn ln_fixed(x: &Decimal, p: u32) -> (bool, BigUint) {
    let m = BigUint::from_u128(x.mantissa().unsigned_abs());
    let nd = m.decimal_digits();
    // x = y * 10^k with 1 <= y < 10.
    let k = i64::from(nd) - 1 - i64::from(x.scale());
    let y = if p + 1 >= nd {
        m.mul(&BigUint::pow10(p + 1 - nd))
    } else {
        m.div(&BigUint::pow10(nd - 1 - p))
    };
    let ln_y = ln_1_10(&y, p);
    if k == 0 {
        return (false, ln_y);
    }
    let k_ln10 = ln10(p).mul_small(k.unsigned_abs() as u32);
    if k > 0 {
        (false, ln_y.add(&k_ln10))
    } else if k_ln10 >= ln_y {
        (true, k_ln10.sub(&ln_y))
    } else {
        (false, ln_y.sub(&k_ln10))
    }
}

/// e^x, or e^-x when `negative`, for fixed-point x >= 0 (`p` fractional
/// digits, p >= 3): halve x below 0.001, sum the Taylor series, square
/// back. The relative error is about 2^halvings units of 10^-p.
fn exp_fixed(negative: bool, x: &BigUint, p: u32) -> BigUint {
    let unit = BigUint::pow10(p);
    let small = BigUint::pow10(p - 3);
    let mut t = x.clone();
    let mut halvings = 0;
    while t > small {
        t = t.divrem_small(2).0;
        halvings += 1;
    }
    let mut sum = unit.clone();
    let mut term = unit.clone();
    let mut n = 1u32;
    loop {
        term = term.mul(&t).div(&unit).divrem_small(n).0;
        if term.is_zero() {
            break;
        }
        sum = sum.add(&term);
        n += 1;
    }
    for _ in 0..halvings {
        sum = sum.mul(&sum).div(&unit);
    }
    if negative { unit.mul(&unit).div(&sum) } else { sum }
}

/// sqrt(x) for NUMERIC (PostgreSQL's `numeric_sqrt`).
pub fn numeric_sqrt(x: &Decimal) -> Result<Decimal> {
    if x.mantissa() < 0 {
        return Err(power_error("cannot take square root of a negative number"));
    }
    let (weight, _) = nbase(x);
    let sweight = (weight + 1) * 4 / 2 - 1;
    let rscale = result_scale((MIN_SIG_DIGITS - sweight).max(dscale(x)));
    // The exact root truncated one digit further, rounded half up, is the
    // exact root rounded.
    let p = rscale + 1;
    let root = fixed(x, 2 * p).isqrt();
    to_decimal(false, &root, p, rscale)
}

/// exp(x) for NUMERIC (PostgreSQL's `numeric_exp`).
pub fn numeric_exp(x: &Decimal) -> Result<Decimal> {
    if x.to_f64() >= MAX_RESULT_SCALE * 3.0 {
        return Err(numeric_format_overflow());
    }
    let val = (x.to_f64() * LOG10_E).clamp(-MAX_RESULT_SCALE, MAX_RESULT_SCALE);
    let rscale = result_scale((MIN_SIG_DIGITS - val as i64).max(dscale(x)));
    if val > MAX_WEIGHT {
        return Err(numeric_overflow());
    }
    if val < -(f64::from(rscale) + 2.0) {
        return Ok(Decimal::new(0, rscale));
    }
    let p = rscale + val.max(0.0) as u32 + GUARD + 8;
    let e = exp_fixed(x.mantissa() < 0, &fixed(x, p), p);
    to_decimal(false, &e, p, rscale)
}

fn check_log_arg(x: &Decimal) -> Result<()> {
    match x.mantissa() {
        0 => Err(log_error("cannot take logarithm of zero")),
        m if m < 0 => Err(log_error("cannot take logarithm of a negative number")),
        _ => Ok(()),
    }
}

/// ln(x) for NUMERIC (PostgreSQL's `numeric_ln`).
pub fn numeric_ln(x: &Decimal) -> Result<Decimal> {
    check_log_arg(x)?;
    let rscale = result_scale((MIN_SIG_DIGITS - estimate_ln_dweight(x)).max(dscale(x)));
    let p = rscale + GUARD;
    let (negative, v) = ln_fixed(x, p);
    to_decimal(negative, &v, p, rscale)
}

/// log(base, x) for NUMERIC (PostgreSQL's `log_var`); `log(x)` is
/// `log(10, x)`, as PostgreSQL defines it.
pub fn numeric_log(base: &Decimal, x: &Decimal) -> Result<Decimal> {
    check_log_arg(base)?;
    check_log_arg(x)?;
    let (base_w, x_w) = (estimate_ln_dweight(base), estimate_ln_dweight(x));
    let result_w = x_w - base_w;
    let rscale = result_scale((MIN_SIG_DIGITS - result_w).max(dscale(base)).max(dscale(x)));
    // Digits of both logarithms, so that their quotient has rscale + GUARD.
    let p = (i64::from(rscale) + result_w - base_w.min(x_w)).max(2) as u32 + GUARD;
    let (base_neg, ln_base) = ln_fixed(base, p);
    if ln_base.is_zero() {
        return Err(SqlError::division_by_zero());
    }
    let (x_neg, ln_x) = ln_fixed(x, p);
    let q_scale = rscale + GUARD;
    let q = ln_x.mul(&BigUint::pow10(q_scale)).div(&ln_base);
    to_decimal(base_neg != x_neg, &q, q_scale, rscale)
}

/// `a ^ b` for NUMERIC (PostgreSQL 15's `numeric_power` / `power_var`).
pub fn numeric_power(a: &Decimal, b: &Decimal) -> Result<Decimal> {
    let (a_neg, b_neg) = (a.mantissa() < 0, b.mantissa() < 0);
    if a.is_zero() && b_neg {
        return Err(power_error("zero raised to a negative power is undefined"));
    }
    if a_neg && !b.is_integral() {
        return Err(power_error(
            "a negative number raised to a non-integer power yields a complex result",
        ));
    }
    let b_int = b.integral_i64();
    if let Some(e) = b_int.filter(|e| i32::try_from(*e).is_ok()) {
        let rscale = result_scale(MIN_SIG_DIGITS.max(dscale(a)));
        return power_int(a, e, rscale);
    }
    if a.is_zero() {
        return Ok(Decimal::new(0, result_scale(MIN_SIG_DIGITS)));
    }
    // A negative base has an integer exponent here: odd gives a negative result.
    let negative = a_neg && b.integral_is_odd();
    let abs_a = a.abs();
    let b_mantissa = BigUint::from_u128(b.mantissa().unsigned_abs());

    // PostgreSQL's low-precision b * ln(a) (ln(a) to about 8 significant
    // digits) decides the result scale.
    let local = (8 - estimate_ln_dweight(&abs_a)).max(0) as u32;
    let (ln_neg, ln) = ln_fixed(&abs_a, local + GUARD);
    let ln = round_fixed(&ln, local + GUARD, local);
    let product = round_fixed(&ln.mul(&b_mantissa), local + b.scale(), local);
    let mut val = fixed_to_f64(&product, local);
    if ln_neg != b_neg {
        val = -val;
    }
    if val.abs() > MAX_RESULT_SCALE * 3.01 {
        if val > 0.0 {
            return Err(numeric_format_overflow());
        }
        return Ok(Decimal::new(0, result_scale(MAX_DISPLAY_SCALE)));
    }
    let val = val * LOG10_E;
    let rscale = result_scale((MIN_SIG_DIGITS - val as i64).max(dscale(a)).max(dscale(b)));
    if val > MAX_WEIGHT {
        return Err(numeric_overflow());
    }
    if val < -(f64::from(rscale) + 2.0) {
        return Ok(Decimal::new(0, rscale));
    }
    // e^(b ln a) to p digits: ln(a) carries as many more as b has integer digits.
    let p = rscale + val.max(0.0) as u32 + GUARD + 8;
    let b_int_digits = b_mantissa.decimal_digits().saturating_sub(b.scale());
    let p_ln = p + b_int_digits + 2;
    let (ln_neg, ln) = ln_fixed(&abs_a, p_ln);
    let l = ln.mul(&b_mantissa).div(&BigUint::pow10(p_ln + b.scale() - p));
    let e = exp_fixed(ln_neg != b_neg, &l, p);
    to_decimal(negative, &e, p, rscale)
}

/// `a ^ e` for an int32 exponent (PostgreSQL 15's `power_var_int`).
fn power_int(a: &Decimal, e: i64, rscale: u32) -> Result<Decimal> {
    if e == 0 {
        return Decimal::from_i64(1).rescale(rscale);
    }
    if a.is_zero() {
        return Ok(Decimal::new(0, rscale));
    }
    // PostgreSQL's estimate of log10(|a|^e) from a's leading 16 digits.
    let (w, digits) = nbase(a);
    let mut lead = 0f64;
    let mut p10 = w * 4;
    for (i, d) in digits.iter().enumerate() {
        if i > 0 && i * 4 >= 16 {
            break;
        }
        if i > 0 {
            p10 -= 4;
        }
        lead = lead * 10000.0 + f64::from(*d);
    }
    let f = e as f64 * (lead.log10() + p10 as f64);
    if f > 3.0 * f64::from(i16::MAX) * 4.0 {
        return Err(numeric_format_overflow());
    }
    if f > MAX_WEIGHT {
        return Err(numeric_overflow());
    }
    if f + 1.0 < -f64::from(rscale) {
        return Ok(Decimal::new(0, rscale));
    }
    let n = e.unsigned_abs();
    // Repeated squaring multiplies the relative error by about |e|, and a
    // tiny intermediate loses relative precision in fixed point.
    let p = rscale + 2 * f.abs().ceil() as u32 + n.to_string().len() as u32 + GUARD;
    let unit = BigUint::pow10(p);
    let mut base = fixed(a, p);
    let mut acc = unit.clone();
    let mut bits = n;
    loop {
        if bits & 1 == 1 {
            acc = acc.mul(&base).div(&unit);
        }
        bits >>= 1;
        if bits == 0 {
            break;
        }
        base = base.mul(&base).div(&unit);
    }
    if e < 0 {
        if acc.is_zero() {
            return Err(numeric_overflow());
        }
        acc = unit.mul(&unit).div(&acc);
    }
    to_decimal(a.mantissa() < 0 && n % 2 == 1, &acc, p, rscale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    fn num(f: fn(&Decimal) -> Result<Decimal>, x: &str) -> String {
        f(&d(x)).map_or_else(|e| format!("{} {}", e.code, e.message), |v| v.to_string())
    }

    fn pow(a: &str, b: &str) -> String {
        numeric_power(&d(a), &d(b)).map_or_else(|e| format!("{} {}", e.code, e.message), |v| v.to_string())
    }

    #[test]
    fn cached_ln10_is_the_computed_one() {
        for p in [16, 40, 100, 183, 190] {
            let direct = ln_1_10(&BigUint::pow10(p + 1), p);
            let diff = if direct > ln10(p) {
                direct.sub(&ln10(p))
            } else {
                ln10(p).sub(&direct)
            };
            assert!(diff < BigUint::pow10(6), "p = {p}");
        }
        assert!(
            ln10(60)
                .to_string()
                .starts_with("2302585092994045684017991454684364207601101488628772976")
        );
    }

    #[test]
    fn nbase_matches_postgres() {
        assert_eq!(nbase(&d("2000000.0")), (1, vec![200]));
        assert_eq!(nbase(&d("0.0001")), (-1, vec![1]));
        assert_eq!(nbase(&d("0.0000000001")), (-3, vec![100]));
        assert_eq!(nbase(&d("12345.678")), (1, vec![1, 2345, 6780]));
        assert_eq!(nbase(&d("0")), (0, vec![]));
    }

    // Expected values are PostgreSQL 15's output.
    #[test]
    fn numeric_sqrt_scales() {
        assert_eq!(num(numeric_sqrt, "2.0"), "1.414213562373095");
        assert_eq!(num(numeric_sqrt, "16.00"), "4.000000000000000");
        assert_eq!(num(numeric_sqrt, "2000000.0"), "1414.2135623730950");
        assert_eq!(num(numeric_sqrt, "0.0"), "0.000000000000000");
        assert_eq!(num(numeric_sqrt, "1e-10"), "0.000010000000000000000");
        assert_eq!(num(numeric_sqrt, "0.0001"), "0.01000000000000000");
        assert_eq!(
            num(numeric_sqrt, "123456789012345678901234567890.12"),
            "351364182882014.43"
        );
        assert_eq!(
            num(numeric_sqrt, "-1"),
            "2201F cannot take square root of a negative number"
        );
    }

    #[test]
    fn numeric_exp_ln_log() {
        assert_eq!(num(numeric_exp, "1.0"), "2.7182818284590452");
        assert_eq!(num(numeric_exp, "0.0"), "1.0000000000000000");
        assert_eq!(num(numeric_exp, "50.0"), "5184705528587072464087.5");
        assert_eq!(
            num(numeric_exp, "-50.0"),
            "0.0000000000000000000001928749847963918"
        );
        assert_eq!(num(numeric_ln, "2.0"), "0.6931471805599453");
        assert_eq!(num(numeric_ln, "1.0"), "0.0000000000000000");
        assert_eq!(num(numeric_ln, "10.00"), "2.3025850929940457");
        assert_eq!(num(numeric_ln, "1.0000000001"), "0.00000000009999999999500000");
        assert_eq!(num(numeric_ln, "0.001"), "-6.9077552789821371");
        assert_eq!(num(numeric_ln, "1e20"), "46.051701859880914");
        assert_eq!(num(numeric_ln, "123456789.123"), "18.631401767164318");
        assert_eq!(num(numeric_ln, "0"), "2201E cannot take logarithm of zero");
        assert_eq!(
            num(numeric_ln, "-1.0"),
            "2201E cannot take logarithm of a negative number"
        );
        let log = |b: &str, x: &str| numeric_log(&d(b), &d(x)).map(|v| v.to_string());
        assert_eq!(log("10", "100.0").unwrap(), "2.0000000000000000");
        assert_eq!(log("10", "2.0").unwrap(), "0.3010299956639812");
        assert_eq!(log("10", "0.001").unwrap(), "-3.0000000000000000");
        assert_eq!(log("10", "1e-5").unwrap(), "-5.000000000000000");
        assert_eq!(log("2", "8").unwrap(), "3.0000000000000000");
        assert_eq!(log("1", "10").unwrap_err().code, "22012");
    }

    #[test]
    fn numeric_powers() {
        assert_eq!(pow("2.0", "10"), "1024.0000000000000000");
        assert_eq!(pow("2", "10.00000000000000000000"), "1024.0000000000000000");
        assert_eq!(pow("2.5", "2"), "6.2500000000000000");
        assert_eq!(pow("1.5", "3"), "3.3750000000000000");
        assert_eq!(pow("2.0", "-2"), "0.2500000000000000");
        assert_eq!(pow("0.5", "100"), "0.0000000000000000");
        assert_eq!(pow("0.5", "17"), "0.0000076293945313");
        assert_eq!(pow("1.1", "-3"), "0.7513148009015778");
        assert_eq!(pow("1.0001", "10000"), "2.7181459268252249");
        assert_eq!(pow("1.5", "100"), "406561177535215237.3972797075670417");
        assert_eq!(pow("0.99", "2000"), "0.0000000018637566");
        assert_eq!(pow("1.23456789012345678", "2"), "1.52415787532388365");
        assert_eq!(pow("-1.5", "3"), "-3.3750000000000000");
        assert_eq!(pow("0.0", "0"), "1.0000000000000000");
        assert_eq!(pow("2", "0.5"), "1.4142135623730950");
        assert_eq!(pow("4.0", "0.5"), "2.0000000000000000");
        assert_eq!(pow("100.0", "0.5"), "10.000000000000000");
        assert_eq!(pow("2", "0.25"), "1.1892071150027211");
        assert_eq!(pow("3", "0.5000000000000000000"), "1.7320508075688772935");
        assert_eq!(pow("12.5", "1.5"), "44.194173824159220");
        assert_eq!(pow("0.001", "0.5"), "0.03162277660168379");
        assert_eq!(pow("0.0", "0.5"), "0.0000000000000000");
        assert_eq!(pow("-2.0", "3.0"), "-8.0000000000000000");
        assert_eq!(
            pow("0", "-1"),
            "2201F zero raised to a negative power is undefined"
        );
        assert_eq!(
            pow("-8", "0.5"),
            "2201F a negative number raised to a non-integer power yields a complex result"
        );
        assert_eq!(pow("10.0", "400"), "22003 numeric out of range");
        assert_eq!(pow("1.5", "2147483647"), "22003 value overflows numeric format");
        assert_eq!(pow("0.5", "-2147483648"), "22003 value overflows numeric format");
        assert_eq!(pow("0.9", "2147483647"), "0.0000000000000000");
        assert_eq!(num(numeric_exp, "6000"), "22003 value overflows numeric format");
        assert_eq!(
            num(numeric_exp, "-6000"),
            "0.00000000000000000000000000000000000000"
        );
    }

    #[test]
    fn float_errors() {
        assert_eq!(float_power(2.0, 10.0).unwrap(), 1024.0);
        assert_eq!(float_power(0.0, -1.0).unwrap_err().code, "2201F");
        assert_eq!(float_power(-8.0, 0.5).unwrap_err().code, "2201F");
        assert_eq!(float_power(-2.0, 3.0).unwrap(), -8.0);
        assert_eq!(
            float_power(10.0, 400.0).unwrap_err().message,
            "value out of range: overflow"
        );
        assert_eq!(
            float_power(10.0, -400.0).unwrap_err().message,
            "value out of range: underflow"
        );
        assert_eq!(float_power(f64::INFINITY, 2.0).unwrap(), f64::INFINITY);
        assert_eq!(float_power(1.0, f64::NAN).unwrap(), 1.0);
        assert_eq!(float_exp(1000.0).unwrap_err().code, "22003");
        assert_eq!(
            float_exp(-1000.0).unwrap_err().message,
            "value out of range: underflow"
        );
        assert_eq!(float_exp(f64::NEG_INFINITY).unwrap(), 0.0);
        assert_eq!(float_log(0.0, f64::ln).unwrap_err().code, "2201E");
        assert_eq!(float_sqrt(-1.0).unwrap_err().code, "2201F");
    }
}
