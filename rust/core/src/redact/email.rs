//! Email addresses, written (`john.smith@gmail.com`) and spoken ("john dot smith at gmail dot
//! com", "j o h n at g mail dot com").
//!
//! The scanner calls in here only at an `@` byte or an "at" word, so the cost on ordinary speech
//! is one failed look at the next word or two ("at the end of the day" stops at "the").
//!
//! Spoken grammar, by token classes (letter = a single letter; digitish = digits or a number
//! word; word = any other word; dot = "dot" or `.`; sep = "underscore", "dash", "hyphen", `_`, `-`):
//!
//! ```text
//! email   = local AT domain
//! local   = segment (sep-or-dot segment)*
//! segment = (letter | digitish)+            -- spelled: "j o h n", "one two three"
//!         | word digitish (letter|digitish)*  -- "john one two three"
//!         | word                            -- "athreed", not a stop word
//! domain  = label (dot label)* dot TLD       -- TLD from a compact list, or spelled ("c o m")
//! label   = 1..6 tokens of letter|digitish|word (at most two words), not starting with a stop word
//! ```

use super::lex::{self, Lex, Tok, TokKind, next_token, prev_token};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ec {
    Letter,
    Digitish,
    Word,
    Dot,
    Sep,
    Other,
}

fn class(b: &[u8], t: Tok) -> Ec {
    let w = &b[t.start..t.end];
    match t.kind {
        TokKind::Digits => Ec::Digitish,
        TokKind::Mixed => Ec::Word,
        TokKind::Punct(b'.') => Ec::Dot,
        TokKind::Punct(b'_' | b'-') => Ec::Sep,
        TokKind::Punct(_) => Ec::Other,
        TokKind::Word => {
            if w.len() == 1 && w[0].is_ascii_alphabetic() {
                return Ec::Letter;
            }
            match lex::lookup(w) {
                Some(
                    Lex::Digit(_) | Lex::WeakZero | Lex::Teen(_) | Lex::Tens(_) | Lex::Repeat(_),
                ) => Ec::Digitish,
                Some(Lex::At) => Ec::Other,
                _ if lex::word_is(w, b"dot") => Ec::Dot,
                _ if lex::word_is(w, b"underscore")
                    || lex::word_is(w, b"dash")
                    || lex::word_is(w, b"hyphen") =>
                {
                    Ec::Sep
                }
                _ => Ec::Word,
            }
        }
    }
}

/// Lower-cases a short token into `buf`; None when it is too long to be a listed word.
fn lower<'a>(w: &[u8], buf: &'a mut [u8; 12]) -> Option<&'a [u8]> {
    if w.len() > buf.len() {
        return None;
    }
    for (o, c) in buf.iter_mut().zip(w) {
        *o = c.to_ascii_lowercase();
    }
    Some(&buf[..w.len()])
}

/// Words that sit next to "at" in ordinary speech and are never a local part or a domain.
fn is_stop(w: &[u8]) -> bool {
    let mut buf = [0u8; 12];
    let Some(w) = lower(w, &mut buf) else {
        return false;
    };
    matches!(
        w,
        b"the"
            | b"an"
            | b"this"
            | b"that"
            | b"these"
            | b"those"
            | b"my"
            | b"your"
            | b"our"
            | b"their"
            | b"his"
            | b"her"
            | b"its"
            | b"me"
            | b"us"
            | b"you"
            | b"him"
            | b"them"
            | b"it"
            | b"is"
            | b"are"
            | b"was"
            | b"were"
            | b"be"
            | b"been"
            | b"am"
            | b"here"
            | b"there"
            | b"where"
            | b"what"
            | b"who"
            | b"which"
            | b"look"
            | b"looking"
            | b"looked"
            | b"arrive"
            | b"arrived"
            | b"stay"
            | b"stayed"
            | b"call"
            | b"called"
            | b"email"
            | b"emailed"
            | b"reach"
            | b"reached"
            | b"available"
            | b"and"
            | b"or"
            | b"but"
            | b"good"
            | b"great"
            | b"best"
            | b"not"
            | b"all"
            | b"back"
            | b"out"
            | b"up"
            | b"down"
            | b"home"
            | b"work"
            | b"both"
            | b"once"
            | b"right"
            | b"only"
            | b"least"
            | b"most"
            | b"yes"
            | b"no"
            | b"so"
            | b"then"
            | b"now"
            | b"just"
            | b"still"
            | b"even"
            | b"also"
            | b"again"
            | b"address"
            | b"mail"
            | b"send"
            | b"sent"
            | b"number"
            | b"i"
            | b"we"
            | b"they"
            | b"he"
            | b"she"
            | b"i'm"
            | b"we're"
            | b"you're"
            | b"they're"
            | b"he's"
            | b"she's"
            | b"it's"
            | b"that's"
            | b"there's"
            | b"some"
            | b"any"
            | b"each"
            | b"every"
            | b"first"
            | b"last"
            | b"night"
            | b"noon"
            | b"time"
            | b"times"
            | b"day"
            | b"week"
            | b"month"
            | b"year"
            | b"office"
            | b"store"
            | b"point"
            | b"about"
            | b"around"
            | b"from"
            | b"to"
            | b"in"
            | b"on"
            | b"of"
            | b"for"
            | b"with"
            | b"by"
    )
}

/// Top-level domains accepted after a spoken "dot" (written addresses accept any alphabetic TLD).
fn is_tld(w: &[u8]) -> bool {
    let mut buf = [0u8; 12];
    let Some(w) = lower(w, &mut buf) else {
        return false;
    };
    matches!(
        w,
        b"com"
            | b"net"
            | b"org"
            | b"edu"
            | b"gov"
            | b"mil"
            | b"int"
            | b"io"
            | b"co"
            | b"uk"
            | b"us"
            | b"de"
            | b"fr"
            | b"ca"
            | b"au"
            | b"in"
            | b"info"
            | b"biz"
            | b"me"
            | b"ai"
            | b"app"
            | b"dev"
            | b"ru"
            | b"jp"
            | b"cn"
            | b"br"
            | b"it"
            | b"es"
            | b"nl"
            | b"ie"
            | b"nz"
            | b"mx"
            | b"ch"
            | b"se"
            | b"eu"
            | b"tv"
            | b"ly"
            | b"pl"
            | b"dk"
            | b"fi"
            | b"za"
            | b"sg"
            | b"hk"
            | b"kr"
            | b"il"
            | b"ph"
            | b"pk"
            | b"ng"
            | b"ke"
            | b"name"
            | b"pro"
            | b"mobi"
            | b"online"
            | b"site"
            | b"store"
            | b"tech"
            | b"email"
            | b"xyz"
            | b"cloud"
    )
}

/// A written address around the `@` at byte `at`: `(start, end)` of the address.
pub(crate) fn written_at(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let is_local =
        |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-' | b'\'');
    let is_domain = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-');
    let mut s = at;
    while s > 0 && is_local(b[s - 1]) {
        s -= 1;
    }
    while s < at && matches!(b[s], b'.' | b'\'' | b'-') {
        s += 1;
    }
    if s == at || b[at - 1] == b'.' {
        return None;
    }
    let mut e = at + 1;
    while e < b.len() && is_domain(b[e]) {
        e += 1;
    }
    while e > at + 1 && matches!(b[e - 1], b'.' | b'-') {
        e -= 1;
    }
    let dom = &b[at + 1..e];
    let mut labels = 0;
    let mut last: &[u8] = &[];
    for label in dom.split(|&c| c == b'.') {
        if label.is_empty()
            || label[0] == b'-'
            || label[label.len() - 1] == b'-'
            || label.len() > 63
        {
            return None;
        }
        labels += 1;
        last = label;
    }
    let tld_ok = (last.len() >= 2 && last.iter().all(u8::is_ascii_alphabetic))
        || (last.len() > 4 && last[..4].eq_ignore_ascii_case(b"xn--"));
    (labels >= 2 && tld_ok).then_some((s, e))
}

/// A spoken address around the "at" token `at`: `(start, end)` of the address.
pub(crate) fn spoken_at(b: &[u8], at: Tok) -> Option<(usize, usize)> {
    let end = domain_end(b, at.end)?;
    let start = local_start(b, at.start)?;
    Some((start, end))
}

fn domain_end(b: &[u8], mut pos: usize) -> Option<usize> {
    let mut dots = 0;
    let mut best = None;
    loop {
        let mut toks = [Tok {
            start: 0,
            end: 0,
            kind: TokKind::Mixed,
        }; 6];
        let mut cls = [Ec::Other; 6];
        let mut k = 0;
        let mut words = 0;
        let mut next = None;
        while let Some(t) = next_token(b, pos) {
            let c = class(b, t);
            if !matches!(c, Ec::Letter | Ec::Digitish | Ec::Word) || k == toks.len() {
                next = Some((t, c));
                break;
            }
            if c == Ec::Word {
                words += 1;
                if words > 2 {
                    next = Some((t, c));
                    break;
                }
            }
            toks[k] = t;
            cls[k] = c;
            k += 1;
            pos = t.end;
        }
        if k == 0 {
            break;
        }
        if dots == 0 && cls[0] == Ec::Word && is_stop(&b[toks[0].start..toks[0].end]) {
            return None;
        }
        let followed_by_dot = matches!(next, Some((_, Ec::Dot)));
        if dots > 0 {
            // The TLD may be the label's first word, or its first two or three spelled letters.
            let mut tld = None;
            if cls[0] != Ec::Digitish
                && is_tld(&b[toks[0].start..toks[0].end])
                && cls[0] == Ec::Word
            {
                tld = Some(1);
            } else if cls[0] == Ec::Letter {
                for l in (2..=3usize).rev() {
                    if l <= k && cls[..l].iter().all(|&c| c == Ec::Letter) {
                        let mut buf = [0u8; 3];
                        for (o, t) in buf.iter_mut().zip(&toks[..l]) {
                            *o = b[t.start];
                        }
                        if is_tld(&buf[..l]) {
                            tld = Some(l);
                            break;
                        }
                    }
                }
            }
            if let Some(l) = tld {
                best = Some(toks[l - 1].end);
                if l < k {
                    break;
                }
            }
        }
        match next {
            Some((t, Ec::Dot)) if followed_by_dot => {
                dots += 1;
                pos = t.end;
            }
            _ => break,
        }
    }
    best
}

fn seg_class(b: &[u8], t: Tok) -> Ec {
    let c = class(b, t);
    if c == Ec::Word && is_stop(&b[t.start..t.end]) {
        Ec::Other
    } else {
        c
    }
}

fn local_start(b: &[u8], at_start: usize) -> Option<usize> {
    let mut end = at_start;
    let mut start = None;
    loop {
        let t = prev_token(b, end)?;
        let seg_start = match seg_class(b, t) {
            Ec::Letter | Ec::Digitish => {
                let mut first = t;
                let mut n = 0;
                while let Some(p) = prev_token(b, first.start) {
                    if n >= 40 || !matches!(seg_class(b, p), Ec::Letter | Ec::Digitish) {
                        break;
                    }
                    first = p;
                    n += 1;
                }
                let mut s = first.start;
                if class(b, first) == Ec::Digitish
                    && let Some(p) = prev_token(b, first.start)
                    && seg_class(b, p) == Ec::Word
                {
                    s = p.start;
                }
                s
            }
            Ec::Word => t.start,
            _ => break,
        };
        start = Some(seg_start);
        // Another segment before a separator?
        let Some(sep) = prev_token(b, seg_start) else {
            break;
        };
        if !matches!(class(b, sep), Ec::Dot | Ec::Sep) {
            break;
        }
        match prev_token(b, sep.start) {
            Some(p) if matches!(seg_class(b, p), Ec::Letter | Ec::Digitish | Ec::Word) => {
                end = sep.start;
            }
            _ => break,
        }
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spoken(s: &str) -> Option<&str> {
        let b = s.as_bytes();
        let mut i = 0;
        while let Some(t) = next_token(b, i) {
            if lex::word_is(&b[t.start..t.end], b"at")
                && let Some((x, y)) = spoken_at(b, t)
            {
                return Some(&s[x..y]);
            }
            i = t.end;
        }
        None
    }

    #[test]
    fn spoken_forms() {
        assert_eq!(
            spoken("my email is john dot smith at gmail dot com thanks"),
            Some("john dot smith at gmail dot com")
        );
        assert_eq!(
            spoken("dot three at g mail dot com"),
            Some("three at g mail dot com")
        );
        assert_eq!(
            spoken("it is j o h n at a o l dot c o m ok"),
            Some("j o h n at a o l dot c o m")
        );
        assert_eq!(spoken("at the end of the day"), None);
        assert_eq!(spoken("look at this dot com"), None);
        assert_eq!(spoken("john at work dot"), None);
        assert_eq!(
            spoken("bob at example dot co dot uk"),
            Some("bob at example dot co dot uk")
        );
    }

    #[test]
    fn written_forms() {
        fn f(s: &str) -> Option<&str> {
            written_at(s.as_bytes(), s.find('@').unwrap()).map(|(a, b)| &s[a..b])
        }
        assert_eq!(f("mail info@presidio.site."), Some("info@presidio.site"));
        assert_eq!(f("my email is info@presidio."), None);
        assert_eq!(f("a@xn--d1acufc.xn--p1ai"), Some("a@xn--d1acufc.xn--p1ai"));
        assert_eq!(f("@home"), None);
    }
}
