//! Exact comparison of JSON number texts as decimal values (no float parsing).

use std::cmp::Ordering;

/// A JSON number text taken apart: sign, the digits of its significand (integer then fraction
/// part), and the decimal exponent of its first non-zero digit.
struct Decimal<'a> {
    negative: bool,
    int: &'a [u8],
    frac: &'a [u8],
    /// `None`: the value is zero.
    exponent: Option<i64>,
}

impl<'a> Decimal<'a> {
    fn of(text: &'a str) -> Decimal<'a> {
        let bytes = text.as_bytes();
        let (negative, unsigned) = match bytes.strip_prefix(b"-") {
            Some(rest) => (true, rest),
            None => (false, bytes),
        };
        let mant_end = unsigned
            .iter()
            .position(|b| matches!(b, b'e' | b'E'))
            .unwrap_or(unsigned.len());
        let mantissa = unsigned.get(..mant_end).unwrap_or(&[]);
        let (int, frac) = match mantissa.iter().position(|&b| b == b'.') {
            Some(dot) => mantissa
                .split_at_checked(dot)
                .map_or((mantissa, &[][..]), |(int, rest)| {
                    (int, rest.get(1..).unwrap_or(&[]))
                }),
            None => (mantissa, &[][..]),
        };
        let mut exp: i64 = 0;
        if mant_end < unsigned.len() {
            let rest = unsigned.get(mant_end + 1..).unwrap_or(&[]);
            let (neg, digits) = match rest.first() {
                Some(b'-') => (true, rest.get(1..).unwrap_or(&[])),
                Some(b'+') => (false, rest.get(1..).unwrap_or(&[])),
                _ => (false, rest),
            };
            for &b in digits {
                exp = exp.saturating_mul(10).saturating_add(i64::from(b - b'0'));
            }
            if neg {
                exp = -exp;
            }
        }
        let first = int.iter().chain(frac).position(|&b| b != b'0');
        let exponent = first.map(|k| (int.len() as i64 - 1 - k as i64).saturating_add(exp));
        Decimal {
            negative,
            int,
            frac,
            exponent,
        }
    }

    /// The significant digits, from the first non-zero one.
    fn digits(&self) -> impl Iterator<Item = u8> + 'a {
        self.int
            .iter()
            .chain(self.frac)
            .copied()
            .skip_while(|&b| b == b'0')
    }

    /// Order of the absolute values of two non-zero decimals.
    fn cmp_magnitude(&self, other: &Decimal<'_>) -> Ordering {
        self.exponent.cmp(&other.exponent).then_with(|| {
            let (mut a, mut b) = (self.digits(), other.digits());
            loop {
                match (a.next(), b.next()) {
                    (None, None) => return Ordering::Equal,
                    (x, y) => {
                        let (x, y) = (x.unwrap_or(b'0'), y.unwrap_or(b'0'));
                        if x != y {
                            return x.cmp(&y);
                        }
                    }
                }
            }
        })
    }
}

/// Exact order of two valid JSON number texts (`-0` equals `0`).
pub(crate) fn cmp(a: &str, b: &str) -> Ordering {
    let (x, y) = (Decimal::of(a), Decimal::of(b));
    let sign = |d: &Decimal<'_>| match (d.exponent, d.negative) {
        (None, _) => 0,
        (Some(_), true) => -1,
        (Some(_), false) => 1,
    };
    match sign(&x).cmp(&sign(&y)) {
        Ordering::Equal if sign(&x) == 0 => Ordering::Equal,
        Ordering::Equal if x.negative => y.cmp_magnitude(&x),
        Ordering::Equal => x.cmp_magnitude(&y),
        other => other,
    }
}

/// (2^54 − 1) · 2^970: halfway between the largest double and 2^1024. A magnitude at or above
/// it rounds (to even) to infinity.
const OVERFLOW_AT: &str = "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792";

/// Whether a valid JSON number text lies beyond the double range (reads as infinity).
pub(crate) fn overflows(text: &str) -> bool {
    if text.len() <= 308 && !text.bytes().any(|b| matches!(b, b'e' | b'E')) {
        // Without an exponent, at most 308 integer digits: below 10^308, within range.
        return false;
    }
    let d = Decimal::of(text);
    match d.exponent {
        None => false,
        Some(e) if e <= 307 => false,
        Some(e) if e >= 309 => true,
        Some(_) => d.cmp_magnitude(&Decimal::of(OVERFLOW_AT)) != Ordering::Less,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_exactly() {
        use Ordering::*;
        for (a, b, want) in [
            ("1", "1.0", Equal),
            ("100", "1e2", Equal),
            ("-0.0", "0", Equal),
            ("0e5", "-0", Equal),
            ("0.001", "1e-3", Equal),
            ("-1", "1", Less),
            ("-2", "-1", Less),
            ("1.5", "1.25", Greater),
            ("9007199254740993", "9007199254740992", Greater),
            ("1e-400", "0", Greater),
            ("-1e-400", "0", Less),
            ("10", "9.99", Greater),
            ("123.4560", "123.456", Equal),
        ] {
            assert_eq!(cmp(a, b), want, "{a} vs {b}");
            assert_eq!(cmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn the_overflow_threshold_is_the_rounding_midpoint() {
        assert!(!overflows("1.7976931348623157e308"));
        assert!(!overflows("1.7976931348623158e308"));
        assert!(!overflows(
            "1.79769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791e308"
        ));
        assert!(overflows(OVERFLOW_AT));
        assert!(overflows("1.7976931348623159e308"));
        assert!(overflows("-1e309"));
        assert!(!overflows("0e999999999999999999999"));
        // Without an exponent: 309 integer digits are needed to reach the threshold.
        let digits = |n: usize| "9".repeat(n);
        assert!(!overflows(&digits(308)));
        assert!(!overflows(&format!("-{}.{}", digits(308), digits(50))));
        assert!(overflows(&digits(309)));
        assert!(overflows(&format!("-{}", digits(309))));
        assert_eq!("1.7976931348623158e308".parse::<f64>(), Ok(f64::MAX));
        assert_eq!(OVERFLOW_AT.parse::<f64>().map(f64::is_infinite), Ok(true));
    }
}
