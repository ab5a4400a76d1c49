//! Byte classes, the tokenizer and the spoken-number lexicon shared by the scanners.
//!
//! The scanners never run a regular expression over the text. They walk it once, token by
//! token, and a token is classified with one table lookup per byte plus, for short alphabetic
//! tokens, one `match` on the token packed into a `u64` (which the compiler turns into a
//! binary search over constants). Most tokens are ordinary words that fall through that match
//! and are skipped.
//!
//! Outside ASCII, the spaces and dashes that people and word processors put between digit groups
//! (`4111\u{a0}1111`, `078\u{2011}05\u{2011}1121`) are read as the ASCII space and `-` they
//! stand for (see [`sep_at`]); every other character outside ASCII is part of a word. Only the
//! few lead bytes such a separator can start with ([`C_LEAD`]) cost a second look, so ASCII text
//! pays nothing for it.

/// Whitespace byte.
pub(crate) const C_WS: u8 = 0;
/// Letter, apostrophe, or a byte of a character outside ASCII (treated as part of a word) other
/// than a [`C_LEAD`] byte.
pub(crate) const C_ALPHA: u8 = 1;
/// ASCII digit.
pub(crate) const C_DIGIT: u8 = 2;
/// Any other ASCII byte: punctuation and control characters.
pub(crate) const C_PUNCT: u8 = 3;
/// The first byte of a character outside ASCII that may be a space or a dash (`0xC2`, `0xE1`,
/// `0xE2`, `0xE3`, `0xEF`): [`sep_at`] tells; when it is neither, the character is part of a
/// word like any other outside ASCII.
pub(crate) const C_LEAD: u8 = 4;

const fn build_classes() -> [u8; 256] {
    let mut t = [C_PUNCT; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if matches!(b, 0xC2 | 0xE1 | 0xE2 | 0xE3 | 0xEF) {
            C_LEAD
        } else if b.is_ascii_alphabetic() || b == b'\'' || b >= 0x80 {
            C_ALPHA
        } else if b.is_ascii_digit() {
            C_DIGIT
        } else if b == b' ' || b == b'\t' || b == b'\n' || b == b'\r' || b == 0x0b || b == 0x0c {
            C_WS
        } else {
            C_PUNCT
        };
        i += 1;
    }
    t
}

/// Class of every byte value.
pub(crate) static CLASS: [u8; 256] = build_classes();

/// What a token is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokKind {
    /// Letters only (apostrophes and characters outside ASCII count as letters).
    Word,
    /// ASCII digits only.
    Digits,
    /// Letters and digits glued together (`x86`, `is415`): never part of a number.
    Mixed,
    /// One punctuation byte, or a dash outside ASCII as `b'-'` (then `end - start` is its
    /// length in bytes).
    Punct(u8),
}

/// One token: `text[start..end]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tok {
    pub start: usize,
    pub end: usize,
    pub kind: TokKind,
}

/// The space or dash outside ASCII that starts at `b[i]`, as the ASCII byte the scanners read
/// it as (`b' '` or `b'-'`) with its length in bytes; `None` for anything else.
///
/// The spaces are those with the Unicode `White_Space` property (what `char::is_whitespace`
/// and `str::split_whitespace` take, so the privacy layer splits words where the scanners do):
/// U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F and U+3000. The dashes
/// are the hyphens, dashes and minus signs found between digit groups: U+2010–U+2014, U+2212,
/// U+FE63 and U+FF0D. Matched on the UTF-8 bytes, with no decoding.
#[inline]
pub(crate) fn sep_at(b: &[u8], i: usize) -> Option<(u8, usize)> {
    if CLASS[*b.get(i)? as usize] == C_LEAD {
        sep_bytes(&b[i..])
    } else {
        None
    }
}

/// The separator that ends at `b[..e]` (see [`sep_at`]), `e` on a character boundary.
#[inline]
pub(crate) fn sep_before(b: &[u8], e: usize) -> Option<(u8, usize)> {
    // Every separator ends in a continuation byte, and is two bytes long after 0xC2 or three.
    if e < 2 || b[e - 1] < 0x80 {
        None
    } else if b[e - 2] == 0xC2 {
        sep_bytes(&b[e - 2..e])
    } else if e >= 3 && CLASS[b[e - 3] as usize] == C_LEAD {
        sep_bytes(&b[e - 3..e]).filter(|&(_, n)| n == 3)
    } else {
        None
    }
}

fn sep_bytes(s: &[u8]) -> Option<(u8, usize)> {
    match s {
        // U+0085, U+00A0.
        [0xC2, 0x85 | 0xA0, ..] => Some((b' ', 2)),
        // U+1680; U+2000–U+200A, U+2028, U+2029, U+202F; U+205F; U+3000.
        [0xE1, 0x9A, 0x80, ..]
        | [0xE2, 0x80, 0x80..=0x8A | 0xA8 | 0xA9 | 0xAF, ..]
        | [0xE2, 0x81, 0x9F, ..]
        | [0xE3, 0x80, 0x80, ..] => Some((b' ', 3)),
        // U+2010–U+2014; U+2212; U+FE63; U+FF0D.
        [0xE2, 0x80, 0x90..=0x94, ..]
        | [0xE2, 0x88, 0x92, ..]
        | [0xEF, 0xB9, 0xA3, ..]
        | [0xEF, 0xBC, 0x8D, ..] => Some((b'-', 3)),
        _ => None,
    }
}

/// True when the scanners read `c` as `-`: a dash outside ASCII (see [`sep_at`]). The privacy
/// layer, which reads tokens by characters, asks this to agree with them.
pub(crate) fn is_dash(c: char) -> bool {
    let mut buf = [0u8; 4];
    let s = c.encode_utf8(&mut buf);
    sep_at(s.as_bytes(), 0) == Some((b'-', s.len()))
}

/// The first byte at or after `i` that is not whitespace, ASCII or not.
#[inline]
pub(crate) fn skip_space(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        match CLASS[b[i] as usize] {
            C_WS => i += 1,
            C_LEAD => match sep_at(b, i) {
                Some((b' ', n)) => i += n,
                _ => break,
            },
            _ => break,
        }
    }
    i
}

/// The end of the letters and digits from `i` on, and the classes seen among them
/// (`C_ALPHA | C_DIGIT` bits).
#[inline]
pub(crate) fn alnum_end(b: &[u8], mut i: usize) -> (usize, u8) {
    let mut seen = 0u8;
    while i < b.len() {
        match CLASS[b[i] as usize] {
            c @ (C_ALPHA | C_DIGIT) => seen |= c,
            C_LEAD if sep_at(b, i).is_none() => seen |= C_ALPHA,
            _ => break,
        }
        i += 1;
    }
    (i, seen)
}

fn tok_kind(seen: u8) -> TokKind {
    match seen {
        C_ALPHA => TokKind::Word,
        C_DIGIT => TokKind::Digits,
        _ => TokKind::Mixed,
    }
}

/// The next token at or after `i`, skipping whitespace.
#[inline]
pub(crate) fn next_token(b: &[u8], i: usize) -> Option<Tok> {
    let start = skip_space(b, i);
    if start >= b.len() {
        return None;
    }
    match CLASS[b[start] as usize] {
        C_PUNCT => {
            return Some(Tok {
                start,
                end: start + 1,
                kind: TokKind::Punct(b[start]),
            });
        }
        // `skip_space` took the spaces: a separator here is a dash.
        C_LEAD => {
            if let Some((p, n)) = sep_at(b, start) {
                return Some(Tok {
                    start,
                    end: start + n,
                    kind: TokKind::Punct(p),
                });
            }
        }
        _ => {}
    }
    let (end, seen) = alnum_end(b, start);
    Some(Tok {
        start,
        end,
        kind: tok_kind(seen),
    })
}

/// The token that ends at or before `end`, skipping whitespace backwards.
pub(crate) fn prev_token(b: &[u8], end: usize) -> Option<Tok> {
    let mut e = end;
    loop {
        while e > 0 && CLASS[b[e - 1] as usize] == C_WS {
            e -= 1;
        }
        match sep_before(b, e) {
            Some((b' ', n)) => e -= n,
            _ => break,
        }
    }
    if e == 0 {
        return None;
    }
    if CLASS[b[e - 1] as usize] == C_PUNCT {
        return Some(Tok {
            start: e - 1,
            end: e,
            kind: TokKind::Punct(b[e - 1]),
        });
    }
    if let Some((p, n)) = sep_before(b, e) {
        return Some(Tok {
            start: e - n,
            end: e,
            kind: TokKind::Punct(p),
        });
    }
    let mut s = e;
    let mut seen = 0u8;
    while s > 0 {
        // A separator is seen at its last byte; a lead byte reached here starts a letter.
        match CLASS[b[s - 1] as usize] {
            C_ALPHA if sep_before(b, s).is_some() => break,
            C_ALPHA | C_LEAD => seen |= C_ALPHA,
            C_DIGIT => seen |= C_DIGIT,
            _ => break,
        }
        s -= 1;
    }
    Some(Tok {
        start: s,
        end: e,
        kind: tok_kind(seen),
    })
}

/// Packs up to 8 bytes, lower-cased, into a little-endian `u64`. Callers pass only alphabetic
/// tokens, for which `| 0x20` is ASCII lower-casing (apostrophes are unchanged by it).
#[inline]
pub(crate) const fn pack(w: &[u8]) -> u64 {
    let mut k = 0u64;
    let mut i = 0;
    while i < w.len() && i < 8 {
        k |= ((w[i] | 0x20) as u64) << (8 * i);
        i += 1;
    }
    k
}

/// What a word means to the digit-run scanner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lex {
    /// zero..nine.
    Digit(u8),
    /// "oh" / "o": a zero, but only next to other digits.
    WeakZero,
    /// ten..nineteen (the value).
    Teen(u8),
    /// twenty..ninety (the tens digit).
    Tens(u8),
    /// "double" / "triple": repeat the next digit.
    Repeat(u8),
    Hundred,
    Thousand,
    /// "plus": an international prefix when digits follow.
    Plus,
    /// Pause words and spoken separators allowed between digit groups.
    Filler,
    /// "at": a possible spoken email.
    At,
}

/// Bucket of a packed word in [`FILTER`].
#[inline]
const fn filter_slot(key: u64) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 52) as usize
}

const fn build_filter(keys: &[u64]) -> [u64; 64] {
    let mut f = [0u64; 64];
    let mut i = 0;
    while i < keys.len() {
        let slot = filter_slot(keys[i]);
        f[slot / 64] |= 1 << (slot % 64);
        i += 1;
    }
    f
}

macro_rules! lexicon {
    ($( $name:ident = $lit:literal => $val:expr ;)*) => {
        $( const $name: u64 = pack($lit); )*
        /// A 4096-bit set of the lexicon's packed words: an ordinary word is turned away by one
        /// bit test (about 1 % pass by collision and go on to the full `match`).
        static FILTER: [u64; 64] = build_filter(&[$( $name, )*]);
        /// Looks a packed word up (`len <= 8`).
        #[inline]
        fn lookup_packed(key: u64) -> Option<Lex> {
            match key {
                $( $name => Some($val), )*
                _ => None,
            }
        }
    };
}

lexicon! {
    W_ZERO = b"zero" => Lex::Digit(0);
    W_OH = b"oh" => Lex::WeakZero;
    W_O = b"o" => Lex::WeakZero;
    W_ONE = b"one" => Lex::Digit(1);
    W_TWO = b"two" => Lex::Digit(2);
    W_THREE = b"three" => Lex::Digit(3);
    W_FOUR = b"four" => Lex::Digit(4);
    W_FIVE = b"five" => Lex::Digit(5);
    W_SIX = b"six" => Lex::Digit(6);
    W_SEVEN = b"seven" => Lex::Digit(7);
    W_EIGHT = b"eight" => Lex::Digit(8);
    W_NINE = b"nine" => Lex::Digit(9);
    W_TEN = b"ten" => Lex::Teen(10);
    W_ELEVEN = b"eleven" => Lex::Teen(11);
    W_TWELVE = b"twelve" => Lex::Teen(12);
    W_THIRTEEN = b"thirteen" => Lex::Teen(13);
    W_FOURTEEN = b"fourteen" => Lex::Teen(14);
    W_FIFTEEN = b"fifteen" => Lex::Teen(15);
    W_SIXTEEN = b"sixteen" => Lex::Teen(16);
    W_EIGHTEEN = b"eighteen" => Lex::Teen(18);
    W_NINETEEN = b"nineteen" => Lex::Teen(19);
    W_TWENTY = b"twenty" => Lex::Tens(2);
    W_THIRTY = b"thirty" => Lex::Tens(3);
    W_FORTY = b"forty" => Lex::Tens(4);
    W_FOURTY = b"fourty" => Lex::Tens(4);
    W_FIFTY = b"fifty" => Lex::Tens(5);
    W_SIXTY = b"sixty" => Lex::Tens(6);
    W_SEVENTY = b"seventy" => Lex::Tens(7);
    W_EIGHTY = b"eighty" => Lex::Tens(8);
    W_NINETY = b"ninety" => Lex::Tens(9);
    W_DOUBLE = b"double" => Lex::Repeat(2);
    W_TRIPLE = b"triple" => Lex::Repeat(3);
    W_HUNDRED = b"hundred" => Lex::Hundred;
    W_THOUSAND = b"thousand" => Lex::Thousand;
    W_PLUS = b"plus" => Lex::Plus;
    W_UH = b"uh" => Lex::Filler;
    W_UM = b"um" => Lex::Filler;
    W_UHM = b"uhm" => Lex::Filler;
    W_ER = b"er" => Lex::Filler;
    W_ERM = b"erm" => Lex::Filler;
    W_AH = b"ah" => Lex::Filler;
    W_HMM = b"hmm" => Lex::Filler;
    W_MM = b"mm" => Lex::Filler;
    W_DASH = b"dash" => Lex::Filler;
    W_HYPHEN = b"hyphen" => Lex::Filler;
    W_AT = b"at" => Lex::At;
}

/// The lexicon entry of an alphabetic token, if any.
#[inline]
pub(crate) fn lookup(w: &[u8]) -> Option<Lex> {
    match w.len() {
        1..=8 => lookup_key(pack(w)),
        9 if w.eq_ignore_ascii_case(b"seventeen") => Some(Lex::Teen(17)),
        _ => None,
    }
}

/// A mask of the low `len` bytes of a `u64`, `1 <= len <= 8`, without a branch.
#[inline]
fn low_bytes(len: usize) -> u64 {
    debug_assert!((1..=8).contains(&len));
    u64::MAX >> (64 - 8 * len)
}

/// The lexicon entry of the alphabetic token `b[start..end]`, packing it with one 8-byte load
/// when the text allows.
#[inline]
pub(crate) fn lookup_at(b: &[u8], start: usize, end: usize) -> Option<Lex> {
    let len = end - start;
    if len > 8 || start + 8 > b.len() {
        return lookup(&b[start..end]);
    }
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&b[start..start + 8]);
    let mask = low_bytes(len);
    lookup_key((u64::from_le_bytes(raw) | 0x2020_2020_2020_2020) & mask)
}

#[inline]
fn lookup_key(key: u64) -> Option<Lex> {
    if !in_filter(key) {
        return None;
    }
    lookup_packed(key)
}

#[inline]
fn in_filter(key: u64) -> bool {
    let slot = filter_slot(key);
    FILTER[slot / 64] & (1 << (slot % 64)) != 0
}

/// False when the alphabetic token `b[start..end]` is certainly not in the lexicon (the fast
/// path of the scanner skips it); true when it may be.
#[inline]
pub(crate) fn maybe_lexeme(b: &[u8], start: usize, end: usize) -> bool {
    let len = end - start;
    if len > 8 || start + 8 > b.len() {
        return len <= 9;
    }
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&b[start..start + 8]);
    let mask = low_bytes(len);
    in_filter((u64::from_le_bytes(raw) | 0x2020_2020_2020_2020) & mask)
}

/// Case-insensitive comparison of a token with a lower-case ASCII word.
#[inline]
pub(crate) fn word_is(tok: &[u8], lower: &[u8]) -> bool {
    tok.len() == lower.len()
        && tok
            .iter()
            .zip(lower)
            .all(|(a, b)| a.to_ascii_lowercase() == *b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexicon_is_case_insensitive() {
        assert_eq!(lookup(b"Seventeen"), Some(Lex::Teen(17)));
        assert_eq!(lookup(b"OH"), Some(Lex::WeakZero));
        assert_eq!(lookup(b"Thousand"), Some(Lex::Thousand));
        assert_eq!(lookup(b"hello"), None);
        assert_eq!(lookup(b"ones"), None);
        let t = b"Double oh seventeen thousand, twelve.";
        assert_eq!(lookup_at(t, 0, 6), Some(Lex::Repeat(2)));
        assert_eq!(lookup_at(t, 7, 9), Some(Lex::WeakZero));
        assert_eq!(lookup_at(t, 10, 19), Some(Lex::Teen(17)));
        assert_eq!(lookup_at(t, 20, 28), Some(Lex::Thousand));
        assert_eq!(lookup_at(t, 30, 36), Some(Lex::Teen(12)));
    }

    /// Every character outside ASCII, alone and between digits: `sep_at` and `sep_before` read
    /// exactly the `White_Space` characters as spaces and the listed dashes as `-`, and the
    /// tokenizer splits there and nowhere else.
    #[test]
    fn spaces_and_dashes_outside_ascii() {
        const DASHES: [char; 8] = [
            '\u{2010}', '\u{2011}', '\u{2012}', '\u{2013}', '\u{2014}', '\u{2212}', '\u{fe63}',
            '\u{ff0d}',
        ];
        for c in ('\u{80}'..=char::MAX).filter(|c| !c.is_ascii()) {
            let want = if c.is_whitespace() {
                Some((b' ', c.len_utf8()))
            } else if DASHES.contains(&c) {
                Some((b'-', c.len_utf8()))
            } else {
                None
            };
            let text = format!("12{c}34");
            let b = text.as_bytes();
            let end = 2 + c.len_utf8();
            assert_eq!(sep_at(b, 2), want, "{c:?}");
            assert_eq!(sep_before(b, end), want, "{c:?}");
            assert_eq!(is_dash(c), DASHES.contains(&c), "{c:?}");
            if want.is_none() {
                assert_ne!(CLASS[b[2] as usize], C_WS, "{c:?}");
                for i in 3..end {
                    assert_eq!(sep_at(b, i), None, "{c:?} at {i}");
                }
            }
            let mut kinds = vec![];
            let mut i = 0;
            while let Some(t) = next_token(b, i) {
                kinds.push((t.start, t.end, t.kind));
                i = t.end;
            }
            let mut back = vec![];
            let mut e = b.len();
            while let Some(t) = prev_token(b, e) {
                back.push((t.start, t.end, t.kind));
                e = t.start;
            }
            back.reverse();
            let expected = match want {
                Some((b' ', _)) => vec![(0, 2, TokKind::Digits), (end, end + 2, TokKind::Digits)],
                Some((_, n)) => vec![
                    (0, 2, TokKind::Digits),
                    (2, 2 + n, TokKind::Punct(b'-')),
                    (end, end + 2, TokKind::Digits),
                ],
                None => vec![(0, b.len(), TokKind::Mixed)],
            };
            assert_eq!(kinds, expected, "{c:?}");
            assert_eq!(back, expected, "{c:?}");
        }
    }

    #[test]
    fn tokens_split_on_punctuation() {
        let t = b"(415)555-0132 x86";
        let mut i = 0;
        let mut kinds = vec![];
        while let Some(tok) = next_token(t, i) {
            kinds.push(tok.kind);
            i = tok.end;
        }
        assert_eq!(kinds.len(), 7);
        assert_eq!(kinds[6], TokKind::Mixed);
        let p = prev_token(t, t.len()).unwrap();
        assert_eq!((p.start, p.kind), (14, TokKind::Mixed));
    }
}
