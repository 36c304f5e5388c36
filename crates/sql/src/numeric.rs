//! NUMERIC: exact decimal numbers.
//!
//! A [`Decimal`] is `mantissa / 10^scale` with a 128-bit mantissa, so it
//! holds up to 38 significant digits (PostgreSQL's NUMERIC is unbounded;
//! beyond 38 digits we return 22003 rather than lose digits). The scale is
//! kept as written (`1.50` stays `1.50`), as PostgreSQL does, and equality
//! ignores it (`1.50 = 1.5`). Division keeps at least 16 fractional digits
//! (PostgreSQL's minimum display scale for division) and rounds half away
//! from zero, as do casts to integers.
//!
//! `sqrt`, `exp`, `ln`, `log` and `power` on NUMERIC are in
//! [`crate::math`]; `trunc`, `sign`, rounding and the arithmetic are here.
//!
//! Keys: [`Decimal::key_bytes`] is an order-preserving, scale-independent
//! byte string (sign, decimal exponent, digits), stored as keycode bytes.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::error::{Result, SqlError, codes};

pub const MAX_SCALE: u32 = 38;
const MIN_DIV_SCALE: u32 = 16;

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Decimal {
    mantissa: i128,
    scale: u32,
}

fn overflow() -> SqlError {
    SqlError::overflow("numeric")
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// Divides rounding half away from zero.
fn div_round(n: i128, d: i128) -> Option<i128> {
    let q = n.checked_div(d)?;
    let r = n.checked_rem(d)?;
    if r.unsigned_abs().checked_mul(2)? >= d.unsigned_abs() {
        if (n < 0) == (d < 0) {
            q.checked_add(1)
        } else {
            q.checked_sub(1)
        }
    } else {
        Some(q)
    }
}

impl Decimal {
    pub fn new(mantissa: i128, scale: u32) -> Self {
        Self { mantissa, scale }
    }

    pub fn from_i64(i: i64) -> Self {
        Self {
            mantissa: i128::from(i),
            scale: 0,
        }
    }

    pub fn scale(&self) -> u32 {
        self.scale
    }

    /// The value is `mantissa / 10^scale`.
    pub fn mantissa(&self) -> i128 {
        self.mantissa
    }

    /// True when the value has no fractional part (`2.00` included).
    pub fn is_integral(&self) -> bool {
        pow10(self.scale).is_none_or(|p| self.mantissa % p == 0)
    }

    /// The value as an i64, when it is integral and fits.
    pub fn integral_i64(&self) -> Option<i64> {
        let p = pow10(self.scale)?;
        if self.mantissa % p != 0 {
            return None;
        }
        i64::try_from(self.mantissa / p).ok()
    }

    /// True when the value is an odd integer.
    pub fn integral_is_odd(&self) -> bool {
        pow10(self.scale).is_some_and(|p| self.mantissa % p == 0 && (self.mantissa / p) % 2 != 0)
    }

    /// -1, 0 or 1 (scale 0), as PostgreSQL's sign(numeric).
    pub fn signum(&self) -> Self {
        Decimal {
            mantissa: self.mantissa.signum(),
            scale: 0,
        }
    }

    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    pub fn parse(s: &str) -> Result<Self> {
        let bad = || {
            SqlError::new(
                codes::INVALID_TEXT_REPRESENTATION,
                format!("invalid input syntax for type numeric: \"{s}\""),
            )
        };
        let t = s.trim();
        let (mant, exp) = match t.find(['e', 'E']) {
            Some(i) => (&t[..i], t[i + 1..].parse::<i32>().map_err(|_| bad())?),
            None => (t, 0),
        };
        let (neg, digits) = match mant.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, mant.strip_prefix('+').unwrap_or(mant)),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if (int.is_empty() && frac.is_empty()) || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let mut m: i128 = 0;
        for c in int.chars().chain(frac.chars()) {
            m = m
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(c as u8 - b'0')))
                .ok_or_else(overflow)?;
        }
        let mut scale = frac.len() as i64 - i64::from(exp);
        if scale < 0 {
            m = m
                .checked_mul(pow10(u32::try_from(-scale).map_err(|_| overflow())?).ok_or_else(overflow)?)
                .ok_or_else(overflow)?;
            scale = 0;
        }
        let mut d = Decimal {
            mantissa: if neg { -m } else { m },
            scale: u32::try_from(scale).map_err(|_| overflow())?,
        };
        if d.scale > MAX_SCALE {
            d = d.round(i64::from(MAX_SCALE))?;
        }
        d.checked()
    }

    pub fn from_f64(f: f64) -> Result<Self> {
        if !f.is_finite() {
            return Err(SqlError::new(
                codes::FEATURE_NOT_SUPPORTED,
                "cannot convert infinity or NaN to numeric",
            ));
        }
        // The shortest round-trip form, as PostgreSQL's float8 -> numeric.
        Self::parse(&format!("{f:e}"))
    }

    pub fn to_f64(&self) -> f64 {
        self.mantissa as f64 / 10f64.powi(self.scale as i32)
    }

    /// Rescales to `scale` digits after the point (rounding when reducing).
    pub fn rescale(&self, scale: u32) -> Result<Self> {
        let m = match scale.cmp(&self.scale) {
            Ordering::Equal => self.mantissa,
            Ordering::Greater => self
                .mantissa
                .checked_mul(pow10(scale - self.scale).ok_or_else(overflow)?)
                .ok_or_else(overflow)?,
            Ordering::Less => {
                let d = pow10(self.scale - scale).ok_or_else(overflow)?;
                div_round(self.mantissa, d).ok_or_else(overflow)?
            }
        };
        Ok(Decimal { mantissa: m, scale })
    }

    /// round(x, n); negative `n` rounds to tens, hundreds, ...
    pub fn round(&self, n: i64) -> Result<Self> {
        if n >= 0 {
            return self.rescale((n as u64).min(u64::from(MAX_SCALE)) as u32);
        }
        let shift = u32::try_from(-n).map_err(|_| overflow())?;
        let p = pow10(self.scale + shift).ok_or_else(overflow)?;
        let q = div_round(self.mantissa, p).ok_or_else(overflow)?;
        Ok(Decimal {
            mantissa: q
                .checked_mul(pow10(shift).ok_or_else(overflow)?)
                .ok_or_else(overflow)?,
            scale: 0,
        })
    }

    /// trunc(x, n): toward zero at `n` fractional digits (negative `n`
    /// truncates to tens, hundreds, ...). The result has scale max(n, 0),
    /// as in PostgreSQL (`trunc(1.5, 3)` is `1.500`).
    pub fn trunc(&self, n: i64) -> Result<Self> {
        let n = n.clamp(-i64::from(MAX_SCALE) - 1, i64::from(MAX_SCALE));
        if n >= i64::from(self.scale) {
            return self.rescale(n as u32)?.checked();
        }
        // Digits to drop; beyond 10^38 every digit goes.
        let drop = (i64::from(self.scale) - n) as u32;
        let q = pow10(drop).map_or(0, |p| self.mantissa / p);
        if n >= 0 {
            return Ok(Decimal {
                mantissa: q,
                scale: n as u32,
            });
        }
        let shift = pow10((-n) as u32);
        let mantissa = if q == 0 {
            0
        } else {
            shift.and_then(|p| q.checked_mul(p)).ok_or_else(overflow)?
        };
        Decimal { mantissa, scale: 0 }.checked()
    }

    /// Integer part toward negative (`up` = false) or positive infinity.
    pub fn floor_ceil(&self, up: bool) -> Result<Self> {
        let p = pow10(self.scale).ok_or_else(overflow)?;
        let mut q = self.mantissa.div_euclid(p);
        if up && self.mantissa.rem_euclid(p) != 0 {
            q += 1;
        }
        Ok(Decimal {
            mantissa: q,
            scale: 0,
        })
    }

    /// Rounds to an integer (half away from zero).
    pub fn to_i64(&self) -> Result<i64> {
        let q = div_round(self.mantissa, pow10(self.scale).ok_or_else(overflow)?).ok_or_else(overflow)?;
        i64::try_from(q).map_err(|_| SqlError::overflow("bigint"))
    }

    fn aligned(a: &Decimal, b: &Decimal) -> Result<(i128, i128, u32)> {
        let s = a.scale.max(b.scale);
        Ok((a.rescale(s)?.mantissa, b.rescale(s)?.mantissa, s))
    }

    /// Enforces the 38-digit limit.
    fn checked(self) -> Result<Self> {
        if self.mantissa.unsigned_abs() >= 10u128.pow(MAX_SCALE) {
            Err(overflow())
        } else {
            Ok(self)
        }
    }

    pub fn add(&self, o: &Decimal) -> Result<Self> {
        let (a, b, s) = Self::aligned(self, o)?;
        Decimal {
            mantissa: a.checked_add(b).ok_or_else(overflow)?,
            scale: s,
        }
        .checked()
    }

    pub fn sub(&self, o: &Decimal) -> Result<Self> {
        self.add(&o.neg())
    }

    pub fn neg(&self) -> Self {
        Decimal {
            mantissa: -self.mantissa,
            scale: self.scale,
        }
    }

    pub fn abs(&self) -> Self {
        Decimal {
            mantissa: self.mantissa.abs(),
            scale: self.scale,
        }
    }

    pub fn mul(&self, o: &Decimal) -> Result<Self> {
        let m = self.mantissa.checked_mul(o.mantissa).ok_or_else(overflow)?;
        let d = Decimal {
            mantissa: m,
            scale: self.scale + o.scale,
        };
        if d.scale > MAX_SCALE {
            d.rescale(MAX_SCALE)?.checked()
        } else {
            d.checked()
        }
    }

    pub fn div(&self, o: &Decimal) -> Result<Self> {
        if o.mantissa == 0 {
            return Err(SqlError::division_by_zero());
        }
        // result = (a / 10^sa) / (b / 10^sb) at scale rs:
        // mantissa = a * 10^(rs - sa + sb) / b.
        // PostgreSQL's select_div_scale: about 16 significant digits.
        let (w1, f1) = self.weight_and_first_group();
        let (w2, f2) = o.weight_and_first_group();
        let qweight = w1 - w2 - i64::from(f1 <= f2);
        let rs = (i64::from(MIN_DIV_SCALE) - qweight * 4)
            .max(i64::from(self.scale))
            .max(i64::from(o.scale));
        let mut rs = rs.clamp(0, i64::from(MAX_SCALE)) as u32;
        loop {
            let shift = i64::from(rs) - i64::from(self.scale) + i64::from(o.scale);
            let r = if shift >= 0 {
                pow10(shift as u32)
                    .and_then(|p| self.mantissa.checked_mul(p))
                    .and_then(|n| div_round(n, o.mantissa))
            } else {
                pow10((-shift) as u32)
                    .and_then(|p| o.mantissa.checked_mul(p))
                    .and_then(|d| div_round(self.mantissa, d))
            };
            match r {
                Some(m) if m.unsigned_abs() < 10u128.pow(MAX_SCALE) => {
                    return Ok(Decimal {
                        mantissa: m,
                        scale: rs,
                    });
                }
                _ if rs > 0 => rs -= 1,
                _ => return Err(overflow()),
            }
        }
    }

    pub fn rem(&self, o: &Decimal) -> Result<Self> {
        if o.mantissa == 0 {
            return Err(SqlError::division_by_zero());
        }
        let (a, b, s) = Self::aligned(self, o)?;
        Ok(Decimal {
            mantissa: a % b,
            scale: s,
        })
    }

    /// PostgreSQL's base-10000 weight of the leading digit group of |self|
    /// and that group's value (used to choose a division's scale).
    fn weight_and_first_group(&self) -> (i64, u32) {
        let digits = self.mantissa.unsigned_abs().to_string();
        if self.mantissa == 0 {
            return (0, 0);
        }
        let n = digits.len() as i64;
        let int_digits = n - i64::from(self.scale);
        let take = |k: usize| -> u32 {
            let mut g: String = digits.chars().take(k).collect();
            while g.len() < k {
                g.push('0');
            }
            g.parse().unwrap_or(0)
        };
        if int_digits > 0 {
            ((int_digits - 1) / 4, take(((int_digits - 1) % 4 + 1) as usize))
        } else {
            let z = -int_digits;
            (-(z / 4) - 1, take((4 - z % 4) as usize))
        }
    }

    /// The value with trailing fractional zeros removed.
    fn normalized(&self) -> Decimal {
        let mut d = *self;
        while d.scale > 0 && d.mantissa % 10 == 0 {
            d.mantissa /= 10;
            d.scale -= 1;
        }
        d
    }

    /// Order-preserving, scale-independent key bytes.
    pub fn key_bytes(&self) -> Vec<u8> {
        let n = self.normalized();
        if n.mantissa == 0 {
            return vec![0x02];
        }
        let digits = n.mantissa.unsigned_abs().to_string();
        let digits = digits.trim_end_matches('0');
        // value = 0.DIGITS x 10^exp
        let exp = n.mantissa.unsigned_abs().to_string().len() as i64 - i64::from(n.scale);
        let e = (exp + 128).clamp(0, 255) as u8;
        let mut out = Vec::with_capacity(digits.len() + 3);
        if n.mantissa > 0 {
            out.push(0x03);
            out.push(e);
            out.extend(digits.bytes());
            out.push(0x00);
        } else {
            out.push(0x01);
            out.push(!e);
            out.extend(digits.bytes().map(|b| !b));
            out.push(0xFF);
        }
        out
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Decimal {}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        match Self::aligned(self, other) {
            Ok((a, b, _)) => a.cmp(&b),
            Err(_) => self.key_bytes().cmp(&other.key_bytes()),
        }
    }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits = self.mantissa.unsigned_abs().to_string();
        let scale = self.scale as usize;
        let sign = if self.mantissa < 0 { "-" } else { "" };
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn parses_and_prints_keeping_scale() {
        assert_eq!(d("1.50").to_string(), "1.50");
        assert_eq!(d("-0.05").to_string(), "-0.05");
        assert_eq!(d("1e3").to_string(), "1000");
        assert_eq!(d("12.5e-1").to_string(), "1.25");
        assert_eq!(Decimal::parse("abc").unwrap_err().code, "22P02");
    }

    #[test]
    fn exact_arithmetic() {
        assert_eq!(d("0.1").add(&d("0.2")).unwrap().to_string(), "0.3");
        assert_eq!(d("1.5").mul(&d("2.25")).unwrap().to_string(), "3.375");
        assert_eq!(d("1").div(&d("3")).unwrap().to_string(), "0.33333333333333333333");
        assert_eq!(
            d("1").div(&d("3.0")).unwrap().to_string(),
            "0.33333333333333333333"
        );
        assert_eq!(d("2").div(&d("3")).unwrap().to_string(), "0.66666666666666666667");
        assert_eq!(
            d("110.10").div(&d("3")).unwrap().to_string(),
            "36.7000000000000000"
        );
        assert_eq!(
            d("0.05").div(&d("7")).unwrap().to_string(),
            "0.00714285714285714286"
        );
        assert_eq!(d("7").div(&d("2")).unwrap().to_string(), "3.5000000000000000");
        assert_eq!(d("1").div(&d("0")).unwrap_err().code, "22012");
        assert_eq!(d("2.5").to_i64().unwrap(), 3);
        assert_eq!(d("-2.5").to_i64().unwrap(), -3);
        assert_eq!(d("123.456").round(-1).unwrap().to_string(), "120");
        assert_eq!(d("-1.5").floor_ceil(false).unwrap().to_string(), "-2");
        assert_eq!(
            d("99999999999999999999999999999999999999")
                .add(&d("1"))
                .unwrap_err()
                .code,
            "22003"
        );
    }

    #[test]
    fn trunc_sign_and_integrality() {
        let t = |x: &str, n: i64| d(x).trunc(n).map(|v| v.to_string());
        assert_eq!(t("42.4382", 2).unwrap(), "42.43");
        assert_eq!(t("-1.999", 1).unwrap(), "-1.9");
        assert_eq!(t("1.5", 3).unwrap(), "1.500");
        assert_eq!(t("123.45", -1).unwrap(), "120");
        assert_eq!(t("99.5", -2).unwrap(), "0");
        assert_eq!(t("-0.5", 0).unwrap(), "0");
        assert_eq!(t("5", 1).unwrap(), "5.0");
        assert_eq!(t("123.45", -100).unwrap(), "0");
        assert_eq!(t("1.5", 1000).unwrap_err().code, "22003");
        assert_eq!(d("-2.50").signum().to_string(), "-1");
        assert_eq!(d("0.00").signum().to_string(), "0");
        assert!(d("2.00").is_integral() && !d("2.01").is_integral());
        assert_eq!(d("-3.0").integral_i64(), Some(-3));
        assert_eq!(d("2.5").integral_i64(), None);
        assert!(d("-3.00").integral_is_odd() && !d("4").integral_is_odd() && !d("3.5").integral_is_odd());
    }

    #[test]
    fn keys_preserve_order_and_ignore_scale() {
        let vals = [
            "-100", "-1.5", "-1", "-0.55", "-0.5", "0", "0.001", "0.5", "0.55", "1", "1.5", "10", "100.25",
        ];
        let keys: Vec<Vec<u8>> = vals.iter().map(|v| d(v).key_bytes()).collect();
        for w in keys.windows(2) {
            assert!(w[0] < w[1]);
        }
        assert_eq!(d("1.50").key_bytes(), d("1.5").key_bytes());
        assert_eq!(d("1.50"), d("1.5"));
    }
}
