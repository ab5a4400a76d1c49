//! The pass over the text: tokens go to the digit-run accumulator, `@` and "at" go to the email
//! matchers, everything else is skipped after one table lookup. A cheaper pass before it
//! ([`may_find`]) turns away the texts that cannot hold a finding, which is most utterances.

use super::PiiKind;
use super::digits::{Hit, MIN_DIGITS, Run};
use super::email;
use super::lex::{self, C_ALPHA, C_DIGIT, C_LEAD, C_PUNCT, C_WS, CLASS, Lex, TokKind, next_token};
use super::name::SpotFinder;

/// What the built-in scanner looks for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Opts {
    pub spoken: bool,
    pub digits: bool,
    pub email: bool,
    /// Collect the spots where a person name may be (see [`SpotFinder`]).
    pub names: bool,
}

/// False when `b` certainly holds no built-in finding, after one pass of byte-class lookups
/// with no run state (most utterances end here): fewer than [`MIN_DIGITS`] digits, counting
/// each digit byte and the most digits each number word could stand for ("thousand": three),
/// no `@`, and no "at" followed by a `.` or "dot" (a spoken address needs both). Counting
/// every alphabetic stretch, glued to digits or not, only errs towards scanning.
fn may_find(b: &[u8], opts: Opts) -> bool {
    let mut digits = 0;
    let mut at = false;
    let mut i = 0;
    while i < b.len() {
        let class = CLASS[b[i] as usize];
        if class == C_ALPHA {
            let start = i;
            i += 1;
            while i < b.len() && CLASS[b[i] as usize] == C_ALPHA {
                i += 1;
            }
            if !opts.spoken {
                continue;
            }
            let lexeme = if lex::maybe_lexeme(b, start, i) {
                lex::lookup_at(b, start, i)
            } else {
                None
            };
            match lexeme {
                Some(Lex::Digit(_) | Lex::WeakZero) => digits += 1,
                Some(Lex::Teen(_) | Lex::Tens(_) | Lex::Hundred) => digits += 2,
                Some(Lex::Repeat(times)) => digits += usize::from(times),
                Some(Lex::Thousand) => digits += 3,
                Some(Lex::At) => at = true,
                Some(Lex::Plus | Lex::Filler) => {}
                None => {
                    if at && opts.email && lex::word_is(&b[start..i], b"dot") {
                        return true;
                    }
                }
            }
        } else {
            if class == C_DIGIT {
                digits += 1;
            } else if class == C_PUNCT && opts.email && (b[i] == b'@' || (at && b[i] == b'.')) {
                return true;
            }
            // A space or dash outside ASCII is passed whole, so that the word after it is
            // looked up from its first letter ("four\u{a0}one"). Other characters outside ASCII
            // only split stretches, and a stretch with such a byte is no number word anyway.
            i += if class == C_LEAD {
                lex::sep_at(b, i).map_or(1, |(_, n)| n)
            } else {
                1
            };
        }
        if opts.digits && digits >= MIN_DIGITS {
            return true;
        }
    }
    false
}

/// Appends the built-in findings of `b` to `out`, in scanning order (not necessarily sorted,
/// possibly overlapping: the caller sorts and merges), and, with `opts.names`, the name spots
/// to `spots`.
pub(crate) fn scan_builtin(b: &[u8], opts: Opts, out: &mut Vec<Hit>, spots: &mut Vec<usize>) {
    if opts.names || may_find(b, opts) {
        scan_all(b, opts, out, spots);
    }
}

/// [`scan_builtin`] without the [`may_find`] pass.
fn scan_all(b: &[u8], opts: Opts, out: &mut Vec<Hit>, spots: &mut Vec<usize>) {
    let mut run = Run::new();
    let mut names = SpotFinder::new();
    let mut i = 0;
    let mut prev_end = 0;
    let mut prev_alnum = false;
    // The token before was letters and digits mixed (`9b7f`): part of an identifier.
    let mut prev_mixed = false;
    loop {
        if !run.busy() {
            // Fast path between entities: skip ordinary words (letters only, not possibly in
            // the lexicon) with one class test per byte and one filter test per word. Anything
            // else goes back to the general path below, from the token's start: a word glued to
            // digits, and one that runs into a character outside ASCII that may be a space or a
            // dash (`next_token` tells where such a word ends).
            let mut skipped = false;
            loop {
                let mut k = i;
                while k < b.len() && CLASS[b[k] as usize] == C_WS {
                    k += 1;
                }
                if k >= b.len() || CLASS[b[k] as usize] != C_ALPHA {
                    break;
                }
                let s = k;
                k += 1;
                while k < b.len() && CLASS[b[k] as usize] == C_ALPHA {
                    k += 1;
                }
                if (k < b.len() && matches!(CLASS[b[k] as usize], C_DIGIT | C_LEAD))
                    || (opts.spoken && lex::maybe_lexeme(b, s, k))
                {
                    break;
                }
                if opts.names {
                    names.word(b, s, k, spots);
                }
                i = k;
                skipped = true;
            }
            if skipped {
                prev_end = i;
                prev_alnum = true;
                prev_mixed = false;
            }
        }
        let Some(t) = next_token(b, i) else { break };
        let glued = t.start == prev_end && t.start > 0;
        if !glued && run.busy() {
            run.whitespace();
        }
        i = t.end;
        if opts.names {
            match t.kind {
                TokKind::Word => names.word(b, t.start, t.end, spots),
                TokKind::Digits | TokKind::Mixed => names.other(),
                TokKind::Punct(_) => {}
            }
        }
        match t.kind {
            TokKind::Word => {
                let lexeme = if opts.spoken {
                    lex::lookup_at(b, t.start, t.end)
                } else {
                    None
                };
                match lexeme {
                    None => {
                        if run.busy() {
                            run.end(out);
                        }
                    }
                    Some(Lex::At) => {
                        run.end(out);
                        if opts.email
                            && let Some((s, e)) = email::spoken_at(b, t)
                        {
                            out.push(Hit {
                                kind: PiiKind::Email,
                                start: s,
                                end: e,
                            });
                            i = e;
                        }
                    }
                    Some(l) => {
                        if opts.digits {
                            run.spoken(l, t.start, t.end, out);
                        }
                    }
                }
            }
            TokKind::Digits => {
                if opts.digits {
                    run.written(b, t.start, t.end, glued, out);
                }
            }
            TokKind::Mixed => {
                if glued {
                    run.end_before_identifier(out);
                } else if run.busy() {
                    run.end(out);
                }
            }
            TokKind::Punct(b'@') => {
                run.end(out);
                if opts.email
                    && let Some((s, e)) = email::written_at(b, t.start)
                {
                    out.push(Hit {
                        kind: PiiKind::Email,
                        start: s,
                        end: e,
                    });
                    i = e;
                }
            }
            TokKind::Punct(p) => {
                let next = b.get(t.end).copied().unwrap_or(0);
                run.punct(p, t.start, glued && prev_alnum, next, out);
                if glued && prev_mixed && matches!(p, b'-' | b'.') {
                    run.after_identifier();
                }
            }
        }
        prev_end = i;
        prev_alnum = !matches!(t.kind, TokKind::Punct(_));
        prev_mixed = matches!(t.kind, TokKind::Mixed);
    }
    run.end(out);
}

#[cfg(test)]
mod tests {
    use super::{Opts, may_find, scan_all};

    /// Words that feed runs and addresses, and ordinary ones, in random utterances: whenever
    /// the full scan finds something, the pre-pass must have said it might.
    #[test]
    fn may_find_never_hides_a_finding() {
        const WORDS: &[&str] = &[
            "four",
            "one",
            "oh",
            "O",
            "double",
            "triple",
            "twenty",
            "nineteen",
            "seventeen",
            "hundred",
            "thousand",
            "plus",
            "uh",
            "dash",
            "at",
            "dot",
            "gmail",
            "com",
            "john",
            "the",
            "card",
            "is",
            "4111",
            "1111",
            "555",
            "0132",
            "+44",
            "(415)",
            "-",
            ".",
            "@",
            "x@y.io",
            "is415",
            "a",
            "b",
            "c",
            ",",
            "j",
            "o",
            "h",
            "n",
            "twelve",
            "AT",
            "Dot",
            // Spaces and dashes outside ASCII, and characters that share their lead bytes.
            "\u{a0}",
            "\u{2009}",
            "\u{3000}",
            "\u{2011}",
            "\u{2212}",
            "\u{2019}",
            "four\u{a0}one",
            "one\u{202f}one\u{2013}one",
        ];
        let all = Opts {
            spoken: true,
            digits: true,
            email: true,
            names: false,
        };
        // The same utterances on every run.
        let mut next = crate::testing::xorshift(0x2545_f491_4f6c_dd1d_u64);
        let mut found = 0;
        for _ in 0..200_000 {
            let mut text = String::new();
            for k in 0..=next() % 14 {
                let r = next();
                // Mostly spaced, sometimes glued ("four-one", "is415", "x@y.io").
                if k > 0 && r & 0x300 != 0 {
                    text.push(' ');
                }
                text.push_str(WORDS[(r % WORDS.len() as u64) as usize]);
            }
            for opts in [
                all,
                Opts {
                    spoken: false,
                    ..all
                },
                Opts {
                    email: false,
                    ..all
                },
                Opts {
                    digits: false,
                    ..all
                },
            ] {
                let (mut hits, mut spots) = (Vec::new(), Vec::new());
                scan_all(text.as_bytes(), opts, &mut hits, &mut spots);
                if !hits.is_empty() {
                    found += 1;
                    assert!(may_find(text.as_bytes(), opts), "{text:?} with {opts:?}");
                }
            }
        }
        // Enough of the utterances hold a finding for the check to mean something.
        assert!(found > 10_000, "only {found} texts with findings");
    }
}
