//! The number rules: payment-card issuer prefixes and Luhn, SSN structure and written grouping.

use super::digits::Chunk;

/// Written SSN grouping: `123456789`, `123-456789`, `12345-6789`, `123-45-6789` with one kind of
/// separator (`-`, `.` or space).
pub(crate) fn ssn_shape(cs: &[Chunk]) -> bool {
    let lens: ([u8; 3], usize) = {
        let mut l = [0u8; 3];
        if cs.len() > 3 {
            return false;
        }
        for (k, c) in cs.iter().enumerate() {
            l[k] = c.dn;
        }
        (l, cs.len())
    };
    let seps_ok = cs[1..].iter().all(|c| matches!(c.sep, b'-' | b'.' | b' '))
        && cs[1..].windows(2).all(|w| w[0].sep == w[1].sep);
    seps_ok
        && matches!(
            (lens.1, lens.0),
            (1, [9, 0, 0]) | (2, [3, 6, 0] | [5, 4, 0]) | (3, [3, 2, 4])
        )
}

/// Structural SSN rules (digits as values 0–9): no area 000, 666 or 9xx; no group 00; no
/// serial 0000; not all one digit; not the advertised samples 078-05-1120 and 123-45-6789.
pub(crate) fn ssn_valid(d: &[u8]) -> bool {
    d.len() == 9
        && d[..3] != [0, 0, 0]
        && d[..3] != [6, 6, 6]
        && d[0] != 9
        && d[3..5] != [0, 0]
        && d[5..] != [0, 0, 0, 0]
        && d.iter().any(|&x| x != d[0])
        && d != [0, 7, 8, 0, 5, 1, 1, 2, 0]
        && d != [1, 2, 3, 4, 5, 6, 7, 8, 9]
}

/// Issuer prefixes and lengths of the major brands (digits as values 0–9).
/// UATP `1` (15), Mastercard 2-series `2221`–`2720` (16), Amex `34`/`37` (15), Diners `30`/`36`/
/// `38`/`39` (14–19), JCB `35` (16–19), Visa `4` (13, 16, 19), Mastercard/Maestro `5` (13–19),
/// Discover/UnionPay/Maestro/RuPay `6` (13–19), `UnionPay` `81` (16–19).
pub(crate) fn card_prefix_ok(d: &[u8]) -> bool {
    let n = d.len();
    match d[0] {
        1 => n == 15,
        2 => {
            let p = u32::from(d[0]) * 1000
                + u32::from(d[1]) * 100
                + u32::from(d[2]) * 10
                + u32::from(d[3]);
            (2221..=2720).contains(&p) && n == 16
        }
        3 => match d[1] {
            4 | 7 => n == 15,
            0 | 6 | 8 | 9 => n >= 14,
            5 => n >= 16,
            _ => false,
        },
        4 => matches!(n, 13 | 16 | 19),
        5 | 6 => true,
        8 => d[1] == 1 && n >= 16,
        _ => false,
    }
}

/// Luhn check over digit values 0–9.
pub(crate) fn luhn_digits(d: &[u8]) -> bool {
    let mut sum = 0u32;
    for (k, &x) in d.iter().rev().enumerate() {
        let mut v = u32::from(x);
        if k % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum % 10 == 0
}

/// Luhn check of a number given as ASCII digits (`b"4111111111111111"`). False when empty or
/// when any byte is not an ASCII digit.
#[must_use]
pub fn luhn_valid(digits: &[u8]) -> bool {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut sum = 0u32;
    for (k, &x) in digits.iter().rev().enumerate() {
        let mut v = u32::from(x - b'0');
        if k % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum % 10 == 0
}
