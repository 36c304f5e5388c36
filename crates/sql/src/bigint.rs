//! Unsigned big integers for the NUMERIC math functions ([`crate::math`]).
//!
//! A [`Decimal`](crate::numeric::Decimal) fits in 128 bits, but computing
//! its square root, logarithm, exponential or power to PostgreSQL's result
//! scale needs intermediate values of a few hundred digits. This is the
//! minimum for that: little-endian 32-bit limbs, schoolbook multiplication,
//! Knuth's long division (TAOCP 4.3.1, algorithm D) and Newton's integer
//! square root. Operand sizes stay in the hundreds of digits, where these
//! quadratic algorithms are fast enough.

use std::cmp::Ordering;
use std::fmt;

/// A non-negative integer of any size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BigUint {
    /// Little-endian base-2^32 digits, without high zero limbs (zero is empty).
    limbs: Vec<u32>,
}

const BASE: u64 = 1 << 32;

impl BigUint {
    pub fn zero() -> Self {
        Self { limbs: Vec::new() }
    }

    pub fn from_u128(mut v: u128) -> Self {
        let mut limbs = Vec::new();
        while v > 0 {
            limbs.push(v as u32);
            v >>= 32;
        }
        Self { limbs }
    }

    pub fn from_u64(v: u64) -> Self {
        Self::from_u128(u128::from(v))
    }

    /// The value, if it fits in 128 bits.
    pub fn to_u128(&self) -> Option<u128> {
        if self.limbs.len() > 4 {
            return None;
        }
        Some(
            self.limbs
                .iter()
                .rev()
                .fold(0u128, |acc, &l| (acc << 32) | u128::from(l)),
        )
    }

    pub fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    fn trimmed(mut limbs: Vec<u32>) -> Self {
        while limbs.last() == Some(&0) {
            limbs.pop();
        }
        Self { limbs }
    }

    /// 10^n.
    pub fn pow10(mut n: u32) -> Self {
        let mut r = Self::from_u64(1);
        while n >= 9 {
            r = r.mul_small(1_000_000_000);
            n -= 9;
        }
        r.mul_small(10u32.pow(n))
    }

    pub fn add(&self, o: &Self) -> Self {
        let (long, short) = if self.limbs.len() >= o.limbs.len() {
            (&self.limbs, &o.limbs)
        } else {
            (&o.limbs, &self.limbs)
        };
        let mut out = Vec::with_capacity(long.len() + 1);
        let mut carry = 0u64;
        for (i, &l) in long.iter().enumerate() {
            let s = u64::from(l) + u64::from(short.get(i).copied().unwrap_or(0)) + carry;
            out.push(s as u32);
            carry = s >> 32;
        }
        if carry > 0 {
            out.push(carry as u32);
        }
        Self::trimmed(out)
    }

    /// `self - o`; `o` must not exceed `self`.
    pub fn sub(&self, o: &Self) -> Self {
        debug_assert!(*self >= *o, "BigUint subtraction underflow");
        let mut out = Vec::with_capacity(self.limbs.len());
        let mut borrow = 0i64;
        for (i, &l) in self.limbs.iter().enumerate() {
            let mut d = i64::from(l) - i64::from(o.limbs.get(i).copied().unwrap_or(0)) - borrow;
            borrow = 0;
            if d < 0 {
                d += BASE as i64;
                borrow = 1;
            }
            out.push(d as u32);
        }
        Self::trimmed(out)
    }

    pub fn mul(&self, o: &Self) -> Self {
        if self.is_zero() || o.is_zero() {
            return Self::zero();
        }
        let mut out = vec![0u32; self.limbs.len() + o.limbs.len()];
        for (i, &a) in self.limbs.iter().enumerate() {
            let mut carry = 0u64;
            for (j, &b) in o.limbs.iter().enumerate() {
                let t = u64::from(a) * u64::from(b) + u64::from(out[i + j]) + carry;
                out[i + j] = t as u32;
                carry = t >> 32;
            }
            out[i + o.limbs.len()] = carry as u32;
        }
        Self::trimmed(out)
    }

    pub fn mul_small(&self, m: u32) -> Self {
        let mut out = Vec::with_capacity(self.limbs.len() + 1);
        let mut carry = 0u64;
        for &l in &self.limbs {
            let t = u64::from(l) * u64::from(m) + carry;
            out.push(t as u32);
            carry = t >> 32;
        }
        out.push(carry as u32);
        Self::trimmed(out)
    }

    /// Quotient and remainder by a non-zero `d`.
    pub fn divrem_small(&self, d: u32) -> (Self, u32) {
        assert!(d != 0, "BigUint division by zero");
        let mut out = vec![0u32; self.limbs.len()];
        let mut rem = 0u64;
        for (i, &l) in self.limbs.iter().enumerate().rev() {
            let cur = (rem << 32) | u64::from(l);
            out[i] = (cur / u64::from(d)) as u32;
            rem = cur % u64::from(d);
        }
        (Self::trimmed(out), rem as u32)
    }

    /// Quotient and remainder by a non-zero `d` (Knuth's algorithm D).
    pub fn divrem(&self, d: &Self) -> (Self, Self) {
        assert!(!d.is_zero(), "BigUint division by zero");
        if *self < *d {
            return (Self::zero(), self.clone());
        }
        if d.limbs.len() == 1 {
            let (q, r) = self.divrem_small(d.limbs[0]);
            return (q, Self::from_u64(u64::from(r)));
        }
        // Normalize so the divisor's top limb has its high bit set.
        let shift = d.limbs[d.limbs.len() - 1].leading_zeros();
        let vn = shl(&d.limbs, shift, false);
        let mut un = shl(&self.limbs, shift, true);
        let n = vn.len();
        let m = self.limbs.len() - n;
        let mut q = vec![0u32; m + 1];
        let (v1, v2) = (u64::from(vn[n - 1]), u64::from(vn[n - 2]));
        for j in (0..=m).rev() {
            let num = (u64::from(un[j + n]) << 32) | u64::from(un[j + n - 1]);
            let mut qhat = num / v1;
            let mut rhat = num % v1;
            while qhat >= BASE || qhat * v2 > ((rhat << 32) | u64::from(un[j + n - 2])) {
                qhat -= 1;
                rhat += v1;
                if rhat >= BASE {
                    break;
                }
            }
            // un[j..=j+n] -= qhat * vn
            let mut k = 0i64;
            for i in 0..n {
                let p = qhat * u64::from(vn[i]);
                let t = i64::from(un[i + j]) - k - (p & 0xFFFF_FFFF) as i64;
                un[i + j] = t as u32;
                k = (p >> 32) as i64 - (t >> 32);
            }
            let t = i64::from(un[j + n]) - k;
            un[j + n] = t as u32;
            if t < 0 {
                // qhat was one too large: add the divisor back.
                qhat -= 1;
                let mut carry = 0u64;
                for i in 0..n {
                    let s = u64::from(un[i + j]) + u64::from(vn[i]) + carry;
                    un[i + j] = s as u32;
                    carry = s >> 32;
                }
                un[j + n] = un[j + n].wrapping_add(carry as u32);
            }
            q[j] = qhat as u32;
        }
        un.truncate(n);
        let rem = shr(&un, shift);
        (Self::trimmed(q), Self::trimmed(rem))
    }

    pub fn div(&self, d: &Self) -> Self {
        self.divrem(d).0
    }

    fn bits(&self) -> u64 {
        match self.limbs.last() {
            None => 0,
            Some(&top) => self.limbs.len() as u64 * 32 - u64::from(top.leading_zeros()),
        }
    }

    /// `self * 2^n`.
    pub fn shl_bits(&self, n: u64) -> Self {
        if self.is_zero() {
            return Self::zero();
        }
        let mut limbs = vec![0u32; (n / 32) as usize];
        limbs.extend(shl(&self.limbs, (n % 32) as u32, true));
        Self::trimmed(limbs)
    }

    /// `self / 2^n`, truncated.
    pub fn shr_bits(&self, n: u64) -> Self {
        let skip = (n / 32) as usize;
        if skip >= self.limbs.len() {
            return Self::zero();
        }
        Self::trimmed(shr(&self.limbs[skip..], (n % 32) as u32))
    }

    /// floor(sqrt(self)), by Newton's iteration from above, starting from
    /// the double-precision root of the leading 64 bits.
    pub fn isqrt(&self) -> Self {
        if self.is_zero() {
            return Self::zero();
        }
        // self < (top + 1) * 2^shift, so sqrt(self) < (sqrt(top) + 1) * 2^(shift/2).
        let shift = self.bits().saturating_sub(64) & !1;
        let top = self.shr_bits(shift).to_u128().unwrap_or(u128::MAX) as f64;
        let guess = top.sqrt().ceil() as u128 + 2;
        let mut x = Self::from_u128(guess).shl_bits(shift / 2);
        loop {
            let y = x.add(&self.div(&x)).divrem_small(2).0;
            if y >= x {
                return x;
            }
            x = y;
        }
    }

    /// The number of decimal digits (0 for zero).
    pub fn decimal_digits(&self) -> u32 {
        if self.is_zero() {
            0
        } else {
            self.to_string().len() as u32
        }
    }
}

/// `limbs << shift` (shift < 32), with one more limb when `extra`.
fn shl(limbs: &[u32], shift: u32, extra: bool) -> Vec<u32> {
    let mut out = Vec::with_capacity(limbs.len() + 1);
    let mut carry = 0u32;
    for &l in limbs {
        if shift == 0 {
            out.push(l);
        } else {
            out.push((l << shift) | carry);
            carry = l >> (32 - shift);
        }
    }
    if extra {
        out.push(carry);
    }
    out
}

/// `limbs >> shift` (shift < 32).
fn shr(limbs: &[u32], shift: u32) -> Vec<u32> {
    if shift == 0 {
        return limbs.to_vec();
    }
    let mut out = vec![0u32; limbs.len()];
    for i in 0..limbs.len() {
        let hi = limbs.get(i + 1).map_or(0, |&h| h << (32 - shift));
        out[i] = (limbs[i] >> shift) | hi;
    }
    out
}

impl Ord for BigUint {
    fn cmp(&self, o: &Self) -> Ordering {
        self.limbs
            .len()
            .cmp(&o.limbs.len())
            .then_with(|| self.limbs.iter().rev().cmp(o.limbs.iter().rev()))
    }
}

impl PartialOrd for BigUint {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl fmt::Display for BigUint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        let mut chunks = Vec::new();
        let mut v = self.clone();
        while !v.is_zero() {
            let (q, r) = v.divrem_small(1_000_000_000);
            chunks.push(r);
            v = q;
        }
        let mut s = chunks.pop().map(|c| c.to_string()).unwrap_or_default();
        for c in chunks.iter().rev() {
            s.push_str(&format!("{c:09}"));
        }
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big(s: &str) -> BigUint {
        s.bytes().fold(BigUint::zero(), |acc, b| {
            acc.mul_small(10).add(&BigUint::from_u64(u64::from(b - b'0')))
        })
    }

    #[test]
    fn arithmetic_matches_u128() {
        // A deterministic spread of values, including limb boundaries.
        let mut vals = vec![
            0u128,
            1,
            2,
            9,
            10,
            u32::MAX as u128,
            1 << 32,
            (1 << 32) + 1,
            u64::MAX as u128,
        ];
        let mut x = 0x9E37_79B9_7F4A_7C15_u128;
        for _ in 0..60 {
            x = x
                .wrapping_mul(0x2545_F491_4F6C_DD1D)
                .wrapping_add(0x1234_5678_9ABC_DEF1);
            vals.push(x >> (x % 120));
        }
        for &a in &vals {
            for &b in &vals {
                let (ba, bb) = (BigUint::from_u128(a), BigUint::from_u128(b));
                assert_eq!(ba.cmp(&bb), a.cmp(&b));
                if let Some(s) = a.checked_add(b) {
                    assert_eq!(ba.add(&bb).to_u128(), Some(s));
                }
                if a >= b {
                    assert_eq!(ba.sub(&bb).to_u128(), Some(a - b));
                }
                if let Some(p) = a.checked_mul(b) {
                    assert_eq!(ba.mul(&bb).to_u128(), Some(p));
                }
                if let (Some(q), Some(r)) = (a.checked_div(b), a.checked_rem(b)) {
                    let (bq, br) = ba.divrem(&bb);
                    assert_eq!((bq.to_u128(), br.to_u128()), (Some(q), Some(r)), "{a} / {b}");
                }
            }
            assert_eq!(BigUint::from_u128(a).to_string(), a.to_string());
        }
    }

    #[test]
    fn long_division_and_sqrt() {
        let a = big("123456789012345678901234567890123456789012345678901234567890");
        let b = big("98765432109876543210987654321");
        let (q, r) = a.divrem(&b);
        assert_eq!(q.to_string(), "1249999988609375000142382812499");
        assert!(r < b);
        assert_eq!(q.mul(&b).add(&r), a);
        // A divisor whose normalized top limbs make qhat overshoot.
        let n = big("340282366920938463463374607431768211455340282366920938463463374607431768211455");
        let d = big("18446744073709551615000000000000000001");
        let (q, r) = n.divrem(&d);
        assert_eq!(q.mul(&d).add(&r), n);
        assert!(r < d);
        assert_eq!(BigUint::pow10(40).isqrt(), BigUint::pow10(20));
        assert_eq!(BigUint::pow10(41).isqrt().to_string(), "316227766016837933199");
        assert_eq!(big("15").isqrt().to_string(), "3");
        assert_eq!(BigUint::pow10(25).decimal_digits(), 26);
        for n in [0u128, 1, 2, 3, 4, 99, 100, u64::MAX as u128, u128::MAX] {
            let r = BigUint::from_u128(n).isqrt().to_u128().unwrap();
            assert!(
                r * r <= n && (r + 1).checked_mul(r + 1).is_none_or(|s| s > n),
                "isqrt({n})"
            );
        }
        let big = BigUint::pow10(77).add(&BigUint::from_u64(12345));
        let r = big.isqrt();
        assert!(r.mul(&r) <= big && r.add(&BigUint::from_u64(1)).mul(&r.add(&BigUint::from_u64(1))) > big);
        assert_eq!(
            BigUint::from_u64(5).shl_bits(70).shr_bits(70),
            BigUint::from_u64(5)
        );
        assert_eq!(
            BigUint::from_u64(5).shl_bits(70).shr_bits(72),
            BigUint::from_u64(1)
        );
    }
}
