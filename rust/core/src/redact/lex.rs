//! Byte classes, the tokenizer and the spoken-number lexicon shared by the scanners.
//!
//! The scanners never run a regular expression over the text. They walk it once, token by
//! token, and a token is classified with one table lookup per byte plus, for short alphabetic
//! tokens, one `match` on the token packed into a `u64` (which the compiler turns into a
//! binary search over constants). Most tokens are ordinary words that fall through that match
//! and are skipped.

/// Whitespace byte.
pub(crate) const C_WS: u8 = 0;
/// Letter, apostrophe, or any byte of a non-ASCII character (treated as part of a word).
pub(crate) const C_ALPHA: u8 = 1;
/// ASCII digit.
pub(crate) const C_DIGIT: u8 = 2;
/// Any other ASCII byte: punctuation and control characters.
pub(crate) const C_PUNCT: u8 = 3;

const fn build_classes() -> [u8; 256] {
    let mut t = [C_PUNCT; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if b.is_ascii_alphabetic() || b == b'\'' || b >= 0x80 {
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
    /// Letters only (apostrophes and non-ASCII bytes count as letters).
    Word,
    /// ASCII digits only.
    Digits,
    /// Letters and digits glued together (`x86`, `is415`): never part of a number.
    Mixed,
    /// One punctuation byte.
    Punct(u8),
}

/// One token: `text[start..end]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tok {
    pub start: usize,
    pub end: usize,
    pub kind: TokKind,
}

/// The next token at or after `i`, skipping whitespace.
#[inline]
pub(crate) fn next_token(b: &[u8], mut i: usize) -> Option<Tok> {
    while i < b.len() && CLASS[b[i] as usize] == C_WS {
        i += 1;
    }
    if i >= b.len() {
        return None;
    }
    let start = i;
    let c = CLASS[b[i] as usize];
    if c == C_PUNCT {
        return Some(Tok {
            start,
            end: i + 1,
            kind: TokKind::Punct(b[i]),
        });
    }
    let mut seen = 0u8;
    while i < b.len() {
        let c = CLASS[b[i] as usize];
        if c != C_ALPHA && c != C_DIGIT {
            break;
        }
        seen |= c;
        i += 1;
    }
    let kind = match seen {
        C_ALPHA => TokKind::Word,
        C_DIGIT => TokKind::Digits,
        _ => TokKind::Mixed,
    };
    Some(Tok {
        start,
        end: i,
        kind,
    })
}

/// The token that ends at or before `end`, skipping whitespace backwards.
pub(crate) fn prev_token(b: &[u8], end: usize) -> Option<Tok> {
    let mut e = end;
    while e > 0 && CLASS[b[e - 1] as usize] == C_WS {
        e -= 1;
    }
    if e == 0 {
        return None;
    }
    let c = CLASS[b[e - 1] as usize];
    if c == C_PUNCT {
        return Some(Tok {
            start: e - 1,
            end: e,
            kind: TokKind::Punct(b[e - 1]),
        });
    }
    let mut s = e;
    let mut seen = 0u8;
    while s > 0 {
        let c = CLASS[b[s - 1] as usize];
        if c != C_ALPHA && c != C_DIGIT {
            break;
        }
        seen |= c;
        s -= 1;
    }
    let kind = match seen {
        C_ALPHA => TokKind::Word,
        C_DIGIT => TokKind::Digits,
        _ => TokKind::Mixed,
    };
    Some(Tok {
        start: s,
        end: e,
        kind,
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
