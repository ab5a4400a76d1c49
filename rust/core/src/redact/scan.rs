//! The single pass over the text: tokens go to the digit-run accumulator, `@` and "at" go to
//! the email matchers, everything else is skipped after one table lookup.

use super::PiiKind;
use super::digits::{Hit, Run};
use super::email;
use super::lex::{self, C_ALPHA, C_DIGIT, C_WS, CLASS, Lex, TokKind, next_token};
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

/// Appends the built-in findings of `b` to `out`, in scanning order (not necessarily sorted,
/// possibly overlapping: the caller sorts and merges), and, with `opts.names`, the name spots
/// to `spots`.
pub(crate) fn scan_builtin(b: &[u8], opts: Opts, out: &mut Vec<Hit>, spots: &mut Vec<usize>) {
    let mut run = Run::new();
    let mut names = SpotFinder::new();
    let mut i = 0;
    let mut prev_end = 0;
    let mut prev_alnum = false;
    loop {
        if !run.busy() {
            // Fast path between entities: skip ordinary words (letters only, not possibly in
            // the lexicon) with one class test per byte and one filter test per word. Anything
            // else goes back to the general path below, from the token's start.
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
                if (k < b.len() && CLASS[b[k] as usize] == C_DIGIT)
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
                if run.busy() {
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
            }
        }
        prev_end = i;
        prev_alnum = !matches!(t.kind, TokKind::Punct(_));
    }
    run.end(out);
}
