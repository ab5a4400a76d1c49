//! Person names, found without a model and without a list of names: by spelling and by the set
//! phrases people use to give a name on a call.
//!
//! What counts as evidence (all case-insensitive unless said otherwise):
//!
//! - **Spelling.** A run of three or more single letters ("s m i t h", "S-M-I-T-H", "s as in sam
//!   m i t h", "h i double l") that spells the word just before it, possibly across a few
//!   connecting words ("smith, that's s m i t h", "smith spelled s m i t h"): the word and the
//!   letters are a name. The spelled word is then *confirmed*: its other uses in the same text are
//!   names too ("it is john smith that is smith s m i t h"), and so is one name word right before
//!   such a use when a cue ("it is", "i'm", "yeah", the start of the text) comes before that
//!   ("john" in "it is john smith").
//! - A spelled run right after a **name cue** ("my name is o s c a r", "last name is s m i t h",
//!   "it's spelled s m i t h"); its letters are confirmed as above.
//! - **Cue phrases** followed by up to [`MAX_NAME_WORDS`] name words: "my name is", "name is",
//!   "name's", "first/last name is", "surname is", "the name on the account is", "under the name".
//!   "this is X" counts only when X is capitalised (decorated text); a lower-case "this is smith"
//!   needs the spelling.
//! - **Answers.** "it is X Y", "it's X Y", "i'm X" … shortly after a request for a name ("can i
//!   have your first and last name"): in the same text, or — through [`crate::privacy`], which
//!   passes the offsets where an answer starts — in the next utterance of the other party.
//!
//! A *name word* is an alphabetic token of two or more characters that is neither a function word
//! ([`is_function`]: pronouns, articles, prepositions, auxiliaries, frequent adverbs, answers) nor
//! a common content word ([`is_content`]: frequent verbs, adjectives, nouns, days and months) nor
//! a number word. Those lists are what keep "my name is on the account", "it is what it is" and
//! "my name is spelled wrong" as they are. A content word can still be a name when spelled ("long
//! l o n g"), as a surname right after a first name given with a name cue ("my name is bradley
//! best"), or as a first name that a name word follows ("my name is will smith"). Without a cue
//! or a spelling nothing is a name: "john smith called" stays, and so does "dot a b c" (letters
//! that spell nothing before them, and no cue).
//!
//! The spelling rule also takes a two-letter name spelled right after itself ("wu w u").
//!
//! Cost: the scanner's single pass over the bytes also notes *spots* ([`SpotFinder`]: single
//! letters close together, a cue word, "this is" + a capital); most utterances have none and cost
//! one comparison per word more. The rules run on a window of tokens around each spot.

use super::PiiKind;
use super::digits::Hit;
use super::lex::{
    self, C_ALPHA, C_PUNCT, C_WS, CLASS, Tok, TokKind, next_token, prev_token, word_is,
};

/// Most name words taken after a cue ("my name is mary ann smith").
pub(crate) const MAX_NAME_WORDS: usize = 3;
/// Letters of a spelled run that are kept (a longer run is compared on these only).
const MAX_LETTERS: usize = 48;
/// Tokens from the start of an answer within which "it is X" counts as giving a name.
const ANSWER_TOKENS: usize = 8;
/// Tokens after a request for a name ("your first and last name") within which an answer cue
/// in the same text counts.
const REQUEST_REACH: usize = 24;
/// Connecting tokens allowed between a word and its spelling ("smith, that is s m i t h").
const MAX_CONNECTORS: usize = 4;
/// Tokens looked at from the end of a text to decide whether it ends in an open name cue.
const TAIL_TOKENS: usize = 12;

/// Appends the person names of `b` to `out`. `at` are the text's spots (see [`SpotFinder`]),
/// `answers` the byte offsets where an answer to a request for a name starts.
///
/// The rules run on windows of the text around the spots and answers; a confirmed name is then
/// looked for in the rest of the text too.
pub(crate) fn scan_names(b: &[u8], mut at: Vec<usize>, answers: &[usize], out: &mut Vec<Hit>) {
    at.extend(answers.iter().copied().filter(|&a| a < b.len()));
    if at.is_empty() {
        return;
    }
    at.sort_unstable();
    let windows = windows(b, &at);
    let whole = matches!(windows.as_slice(), [(0, e)] if *e >= b.len());
    let mut confirmed: Vec<Vec<u8>> = Vec::new();
    for &(start, end) in &windows {
        let t = Toks::new(b, tokens_in(b, start, end));
        let mut marks = Marks::new(t.len());
        let local: Vec<usize> = answers
            .iter()
            .copied()
            .filter(|&a| a >= start && a < end)
            .collect();
        t.find(&local, &mut marks);
        emit(&t, &marks.on, out);
        for w in marks.confirmed {
            if !confirmed.contains(&w) {
                confirmed.push(w);
            }
        }
    }
    if !whole && !confirmed.is_empty() {
        // Other uses of a confirmed name outside the windows (a long text): the same rule as
        // in a window, in one streaming pass (hits inside the windows again are merged).
        let mut i = 0;
        let mut prev: [Option<Tok>; 2] = [None, None];
        while let Some(t) = next_token(b, i) {
            i = t.end;
            let w = &b[t.start..t.end];
            if t.kind == TokKind::Word && confirmed.iter().any(|c| norm_eq(w, c)) && is_loose(w) {
                let mut start = t.start;
                if let [p2, Some(p1)] = prev
                    && p1.kind == TokKind::Word
                    && is_loose(&b[p1.start..p1.end])
                    && !confirmed.iter().any(|c| norm_eq(&b[p1.start..p1.end], c))
                    && p2.is_none_or(|p2| match p2.kind {
                        TokKind::Word => LEAD_INS.iter().any(|l| word_is(&b[p2.start..p2.end], l)),
                        TokKind::Punct(p) => matches!(p, b',' | b'.'),
                        _ => false,
                    })
                {
                    start = p1.start;
                }
                out.push(Hit {
                    kind: PiiKind::PersonName,
                    start,
                    end: t.end,
                });
            }
            prev = [prev[1], Some(t)];
        }
    }
}

/// `w` spelled (see [`norm`]) is `target`, without allocating.
fn norm_eq(w: &[u8], target: &[u8]) -> bool {
    let w = if w.len() > 2 && w[w.len() - 2] == b'\'' && (w[w.len() - 1] | 0x20) == b's' {
        &w[..w.len() - 2]
    } else {
        w
    };
    let mut k = 0;
    for &c in w {
        if c == b'\'' || c == b'-' {
            continue;
        }
        if k == target.len() || c.to_ascii_lowercase() != target[k] {
            return false;
        }
        k += 1;
    }
    k == target.len()
}

/// A name word or a common content word: alphabetic, two or more characters, not a function
/// word or a number word.
fn is_loose(w: &[u8]) -> bool {
    w.len() >= 2 && w[0] != b'\'' && lex::lookup(w).is_none() && !is_function(w)
}

/// Words at which a rule may start (besides single letters), by first letter and length
/// before any comparison.
#[inline]
fn is_key(w: &[u8]) -> bool {
    let is = |x: &[u8]| word_is(w, x);
    match (w[0] | 0x20, w.len()) {
        (b'i', 2) => is(b"it"),
        (b'i', 3) => is(b"its") || is(b"i'm"),
        (b'i', 4) => is(b"it's"),
        (b't', 4) => is(b"that") || is(b"this"),
        (b't', 5..=6) => is(b"thats") || is(b"that's") || is(b"triple"),
        (b't', 7) => is(b"talking"),
        (b'd', 6) => is(b"double"),
        (b'n', 4..=6) => is(b"name") || is(b"names") || is(b"name's"),
        (b's', 5..=9) => {
            is(b"surname")
                || is(b"surname's")
                || is(b"spell")
                || is(b"spelled")
                || is(b"spelt")
                || is(b"speaking")
        }
        (b'l', 8) => is(b"lastname"),
        (b'f', 9) => is(b"firstname"),
        _ => false,
    }
}

/// Pushes one hit per run of marked tokens.
fn emit(t: &Toks<'_>, on: &[bool], out: &mut Vec<Hit>) {
    let mut i = 0;
    while i < t.len() {
        if !on[i] {
            i += 1;
            continue;
        }
        let first = i;
        while i + 1 < t.len() && on[i + 1] {
            i += 1;
        }
        out.push(Hit {
            kind: PiiKind::PersonName,
            start: t.t[first].start,
            end: t.t[i].end,
        });
        i += 1;
    }
}

/// Bytes of context a window keeps before a spot (the word a spelling spells, "under the
/// name", a lead-in) and after it (the name words, a long spelling, an answer).
const WINDOW_BACK: usize = 160;
const WINDOW_AHEAD: usize = 640;

/// Merged windows `[start, end)` around the sorted spots, cut at whitespace.
fn windows(b: &[u8], at: &[usize]) -> Vec<(usize, usize)> {
    let back = |p: usize| {
        let mut s = p.saturating_sub(WINDOW_BACK);
        while s > 0 && !b[s - 1].is_ascii_whitespace() {
            s -= 1;
        }
        s
    };
    let ahead = |p: usize| {
        let mut e = (p + WINDOW_AHEAD).min(b.len());
        while e < b.len() && !b[e].is_ascii_whitespace() {
            e += 1;
        }
        e
    };
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &p in at {
        let (s, e) = (back(p), ahead(p));
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

fn tokens_in(b: &[u8], start: usize, end: usize) -> Vec<Tok> {
    let mut out = Vec::with_capacity((end - start) / 5 + 1);
    let mut i = start;
    while let Some(t) = next_token(b, i) {
        if t.start >= end {
            break;
        }
        out.push(t);
        i = t.end;
    }
    out
}

/// True when the text asks for a name: "your (first|last|full) name", "first and last name",
/// "spell your/that", "who am i speaking with".
pub(crate) fn asks_for_name(b: &[u8]) -> bool {
    let mut at = Vec::new();
    spots(b, &mut at);
    windows(b, &at).into_iter().any(|(start, end)| {
        let t = Toks::new(b, tokens_in(b, start, end));
        (0..t.len()).any(|i| t.request_ends_at(i))
    })
}

/// True when the text ends in a name cue that the next utterance may complete: "my name is",
/// "last name is", "that is", "it's", "spelled", or such a cue and up to [`MAX_NAME_WORDS`] name
/// words ("yeah it is john smith": a spelling may follow).
pub(crate) fn ends_open(b: &[u8]) -> bool {
    let t = Toks::new(b, tail_tokens(b));
    let open = |mut e: usize| {
        let mut words = 0;
        while e > 0 && words < MAX_NAME_WORDS && t.loose(e - 1) {
            e -= 1;
            words += 1;
            if e >= 2 && t.punct(e - 1) == Some(b'-') && t.loose(e - 2) {
                e -= 1;
            }
        }
        while e > 0 && (t.any(e - 1, FILLERS) || t.any(e - 1, TITLES)) {
            e -= 1;
        }
        e > 0 && t.cue_ends_at(e - 1)
    };
    // "… john smith that", "… john smith, spelled": a spelling may come next.
    let mut e = t.len();
    let mut skipped = 0;
    while e > 0
        && skipped < 2
        && (t.any(e - 1, TRAILERS) || matches!(t.punct(e - 1), Some(b',' | b'-' | b':')))
    {
        e -= 1;
        skipped += 1;
    }
    open(t.len()) || (skipped > 0 && open(e))
}

/// Words that may end an utterance between a name and its spelling.
const TRAILERS: &[&[u8]] = &[
    b"that", b"that's", b"thats", b"is", b"spelled", b"spelt", b"so", b"like", b"uh", b"um",
];

/// Where a name still being spelled at the end of interim text starts: a trailing run of two or
/// more single letters, from the word it spells so far ("smith s m i") when there is one.
pub(crate) fn pending_start(b: &[u8]) -> Option<usize> {
    let toks = Toks::new(b, tail_tokens(b));
    let len = toks.len();
    if len < 2 || toks.letter(len - 1).is_none() {
        return None;
    }
    // Walk back over the run to its first letter.
    let mut first = len - 1;
    let mut letters = 1;
    let mut k = len - 1;
    while k > 0 {
        let mut j = k - 1;
        if matches!(toks.punct(j), Some(b'-' | b',' | b'.')) && j > 0 {
            j -= 1;
        }
        if toks.letter(j).is_some() {
            first = j;
            letters += 1;
            k = j;
        } else {
            break;
        }
    }
    if letters < 2 {
        return None;
    }
    let run = toks.spelled_at(first)?;
    let mut start = toks.t[first].start;
    if let Some(p) = toks.word_before(first)
        && toks.loose(p)
        && norm(toks.bytes(p)).starts_with(&run.letters[..run.n])
    {
        start = toks.t[p].start;
    }
    Some(start)
}

/// True when the text starts as the continuation of a name: single letters being spelled within
/// its first few tokens ("smith s m i t h", "h i l l").
pub(crate) fn starts_spelling(b: &[u8]) -> bool {
    let mut i = 0;
    let mut toks = [Tok {
        start: 0,
        end: 0,
        kind: TokKind::Mixed,
    }; 6];
    let mut n = 0;
    while n < toks.len() {
        let Some(t) = next_token(b, i) else { break };
        toks[n] = t;
        n += 1;
        i = t.end;
    }
    let t = Toks::new(b, toks[..n].to_vec());
    (0..n.min(4)).any(|k| t.spelled_at(k).is_some_and(|r| r.n >= 2))
}

// -- the filter ---------------------------------------------------------------------------------

/// Finds the places where a name may be, word by word, for [`scan_names`]: three single letters
/// within 64 bytes ("s m i", "s as in sam m as in mary i"), a two-letter word spelled right after
/// itself ("wu w u"), a cue word ("name", "surname", "spelled", "speaking"), "this is" + a
/// capitalised word. The scanner's loop feeds it the words it walks anyway ([`super::scan`]);
/// [`spots`] walks a text on its own.
pub(crate) struct SpotFinder {
    /// Starts of the last two single letters (`usize::MAX`: none).
    letters: [usize; 2],
    prev_letter: u8,
    /// The last two-letter word and its end (`usize::MAX`: none).
    short: ([u8; 2], usize),
}

impl SpotFinder {
    pub(crate) fn new() -> Self {
        Self {
            letters: [usize::MAX; 2],
            prev_letter: 0,
            short: ([0; 2], usize::MAX),
        }
    }

    /// An alphabetic token `b[s..e]`.
    #[inline]
    pub(crate) fn word(&mut self, b: &[u8], s: usize, e: usize, out: &mut Vec<usize>) {
        match e - s {
            1 => {
                let c = b[s];
                if !c.is_ascii_alphabetic() {
                    return;
                }
                let c = c | 0x20;
                let [l0, l1] = self.letters;
                let three = l0 != usize::MAX && s - l0 <= 64;
                let short_spelled = l1 != usize::MAX
                    && self.short.1 <= l1
                    && self.short.0 == [self.prev_letter, c]
                    && blank(&b[self.short.1..l1])
                    && blank(&b[l1 + 1..s]);
                if three || short_spelled {
                    out.push(s);
                }
                self.letters = [l1, s];
                self.prev_letter = c;
            }
            2 => self.short = ([b[s] | 0x20, b[s + 1] | 0x20], e),
            4..=10 if is_trigger(&b[s..e]) => {
                if !word_is(&b[s..e], b"this") {
                    out.push(s);
                } else if let Some(is) = next_token(b, e)
                    && word_is(&b[is.start..is.end], b"is")
                    && let Some(x) = next_token(b, is.end)
                    && x.kind == TokKind::Word
                    && b[x.start].is_ascii_uppercase()
                {
                    out.push(s);
                }
            }
            _ => {}
        }
    }

    /// A token with digits: letters on either side of it are not one spelling.
    #[inline]
    pub(crate) fn other(&mut self) {
        self.letters = [usize::MAX; 2];
        self.short.1 = usize::MAX;
    }
}

fn blank(b: &[u8]) -> bool {
    lex::skip_space(b, 0) == b.len()
}

/// Appends the spots of `b` (see [`SpotFinder`]), walking it on its own.
pub(crate) fn spots(b: &[u8], out: &mut Vec<usize>) {
    let len = b.len();
    let mut finder = SpotFinder::new();
    let mut i = 0;
    while i < len {
        let c = CLASS[b[i] as usize];
        if c == C_WS || c == C_PUNCT {
            i += 1;
            continue;
        }
        // Spaces and dashes outside ASCII separate words as in `next_token`.
        if let Some((_, n)) = lex::sep_at(b, i) {
            i += n;
            continue;
        }
        let start = i;
        let (end, seen) = lex::alnum_end(b, i);
        i = end;
        if seen == C_ALPHA {
            finder.word(b, start, i, out);
        } else {
            finder.other();
        }
    }
}

/// Cue words of [`SpotFinder`], by first letter and length before any comparison.
#[inline]
fn is_trigger(w: &[u8]) -> bool {
    let is = |x: &[u8]| word_is(w, x);
    match (w[0] | 0x20, w.len()) {
        (b'n', 4..=6) => is(b"name") || is(b"names") || is(b"name's"),
        (b's', 5..=9) => {
            is(b"surname")
                || is(b"surname's")
                || is(b"spell")
                || is(b"spelled")
                || is(b"spelt")
                || is(b"spelling")
                || is(b"speaking")
        }
        (b'l', 8) => is(b"lastname"),
        (b'f', 9) => is(b"firstname"),
        (b't', 4) => is(b"this"),
        (b't', 7) => is(b"talking"),
        _ => false,
    }
}

// -- tokens -------------------------------------------------------------------------------------

fn tail_tokens(b: &[u8]) -> Vec<Tok> {
    let mut out = Vec::with_capacity(TAIL_TOKENS);
    let mut e = b.len();
    while out.len() < TAIL_TOKENS {
        let Some(t) = prev_token(b, e) else { break };
        out.push(t);
        e = t.start;
    }
    out.reverse();
    out
}

/// Lower-cases a short token into `buf`; None when it is longer than any listed word.
fn lower<'a>(w: &[u8], buf: &'a mut [u8; 16]) -> Option<&'a [u8]> {
    if w.len() > buf.len() {
        return None;
    }
    for (o, c) in buf.iter_mut().zip(w) {
        *o = c.to_ascii_lowercase();
    }
    Some(&buf[..w.len()])
}

/// A word as spelled: ASCII letters, lower-cased, without apostrophes, hyphens or a possessive
/// `'s`. Empty when the word has other characters (it cannot be spelled with ASCII letters).
fn norm(w: &[u8]) -> Vec<u8> {
    let w = if w.len() > 2 && w[w.len() - 2] == b'\'' && (w[w.len() - 1] | 0x20) == b's' {
        &w[..w.len() - 2]
    } else {
        w
    };
    let mut out = Vec::with_capacity(w.len());
    for &c in w {
        if c.is_ascii_alphabetic() {
            out.push(c.to_ascii_lowercase());
        } else if c != b'\'' && c != b'-' {
            return Vec::new();
        }
    }
    out
}

const FILLERS: &[&[u8]] = &[b"uh", b"um", b"er", b"erm", b"ah", b"hmm", b"uhm"];
const TITLES: &[&[u8]] = &[
    b"mr", b"mrs", b"ms", b"miss", b"mister", b"missus", b"dr", b"doctor",
];
/// Nouns after which "is" introduces a name.
const NAME_NOUNS: &[&[u8]] = &[b"name", b"names", b"surname", b"lastname", b"firstname"];
/// Words that make "X name is" something other than a person's name.
const NOT_PERSON: &[&[u8]] = &[
    b"company",
    b"business",
    b"user",
    b"file",
    b"product",
    b"brand",
    b"street",
    b"domain",
    b"screen",
    b"store",
    b"shop",
    b"model",
    b"item",
    b"plan",
    b"band",
    b"pet",
    b"dog's",
    b"cat's",
    b"network",
    b"wifi",
    b"project",
    b"team",
    b"restaurant",
    b"town",
    b"city",
    b"place",
    b"hotel",
    b"part",
    b"package",
    b"device",
    b"host",
    b"app",
    b"program",
    b"folder",
    b"document",
    b"song",
    b"book",
    b"movie",
    b"show",
    b"code",
    b"trade",
    b"organization",
    b"organisation",
    b"school",
    b"building",
    b"road",
    b"ship",
    b"boat",
];
/// Words that may stand between a word and its spelling.
const CONNECTORS: &[&[u8]] = &[
    b"that",
    b"that's",
    b"thats",
    b"is",
    b"it",
    b"it's",
    b"its",
    b"was",
    b"spelled",
    b"spelt",
    b"spelling",
    b"as",
    b"like",
    b"so",
    b"and",
    b"uh",
    b"um",
    b"er",
    b"ah",
    b"hmm",
    b"i",
    b"mean",
    b"or",
    b"just",
    b"which",
    b"okay",
    b"ok",
    b"yeah",
    b"yes",
    b"the",
    b"by",
    b"with",
];
/// Words after which a spelled run is a name.
const SPELL_CUES: &[&[u8]] = &[
    b"name",
    b"name's",
    b"names",
    b"surname",
    b"surname's",
    b"lastname",
    b"firstname",
    b"spell",
    b"spelled",
    b"spelt",
    b"spelling",
];
/// Words before a confirmed name after which one more name word is its first name.
const LEAD_INS: &[&[u8]] = &[
    b"is", b"it's", b"its", b"am", b"i'm", b"name", b"name's", b"this", b"was", b"yeah", b"yes",
    b"yep", b"sure", b"ok", b"okay", b"um", b"uh", b"hi", b"hello", b"so", b"mr", b"mrs", b"ms",
    b"miss", b"mister", b"dr", b"doctor", b"be",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Any name word.
    Any,
    /// Only capitalised name words (after "this is").
    Capital,
}

struct Spelled {
    first: usize,
    last: usize,
    letters: [u8; MAX_LETTERS],
    n: usize,
}

struct Marks {
    on: Vec<bool>,
    /// Confirmed names (spelled), normalised.
    confirmed: Vec<Vec<u8>>,
}

impl Marks {
    fn new(n: usize) -> Self {
        Self {
            on: vec![false; n],
            confirmed: Vec::new(),
        }
    }

    fn range(&mut self, first: usize, last: usize) {
        for m in &mut self.on[first..=last] {
            *m = true;
        }
    }

    fn confirm(&mut self, word: Vec<u8>) {
        if word.len() >= 2 && !self.confirmed.contains(&word) {
            self.confirmed.push(word);
        }
    }
}

struct Toks<'a> {
    b: &'a [u8],
    t: Vec<Tok>,
}

impl<'a> Toks<'a> {
    fn new(b: &'a [u8], t: Vec<Tok>) -> Self {
        Self { b, t }
    }

    fn len(&self) -> usize {
        self.t.len()
    }

    fn bytes(&self, i: usize) -> &'a [u8] {
        &self.b[self.t[i].start..self.t[i].end]
    }

    fn is_word(&self, i: usize) -> bool {
        i < self.t.len() && self.t[i].kind == TokKind::Word
    }

    fn is(&self, i: usize, w: &[u8]) -> bool {
        self.is_word(i) && word_is(self.bytes(i), w)
    }

    fn any(&self, i: usize, ws: &[&[u8]]) -> bool {
        self.is_word(i) && {
            let w = self.bytes(i);
            ws.iter().any(|x| word_is(w, x))
        }
    }

    fn punct(&self, i: usize) -> Option<u8> {
        match self.t.get(i)?.kind {
            TokKind::Punct(p) => Some(p),
            _ => None,
        }
    }

    fn letter(&self, i: usize) -> Option<u8> {
        if !self.is_word(i) {
            return None;
        }
        match self.bytes(i) {
            [c] if c.is_ascii_alphabetic() => Some(c.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn glued(&self, i: usize) -> bool {
        i > 0 && i < self.t.len() && self.t[i].start == self.t[i - 1].end
    }

    /// A name word: alphabetic, two or more characters, not a common word or a number word.
    fn candidate(&self, i: usize) -> bool {
        self.loose(i) && !is_content(self.bytes(i))
    }

    /// A name word or a common content word ("long", "will"): what a spelling can confirm.
    fn loose(&self, i: usize) -> bool {
        self.is_word(i) && is_loose(self.bytes(i))
    }

    fn capitalised(&self, i: usize) -> bool {
        self.is_word(i) && self.bytes(i)[0].is_ascii_uppercase()
    }

    /// The spelled run starting at `i`: letters, "double"/"triple" + letter ("double u" is w),
    /// separated by whitespace, one or two of `- , . /`, pause words, or "as in <word>".
    fn spelled_at(&self, i: usize) -> Option<Spelled> {
        let mut s = Spelled {
            first: i,
            last: i,
            letters: [0; MAX_LETTERS],
            n: 0,
        };
        let push = |s: &mut Spelled, c: u8, times: usize| {
            for _ in 0..times {
                if s.n < MAX_LETTERS {
                    s.letters[s.n] = c;
                    s.n += 1;
                }
            }
        };
        let mut k = i;
        loop {
            if let Some(c) = self.letter(k) {
                push(&mut s, c, 1);
                s.last = k;
                k += 1;
            } else if let Some((c, times)) = self.repeated_letter(k) {
                push(&mut s, c, times);
                s.last = k + 1;
                k += 2;
            } else {
                break;
            }
            // "s as in sam"
            if self.is(k, b"as")
                && self.is(k + 1, b"in")
                && self.is_word(k + 2)
                && self.letter(k + 2).is_none()
            {
                s.last = k + 2;
                k += 3;
            }
            let mut j = k;
            let mut marks = 0;
            while marks < 2
                && (matches!(self.punct(j), Some(b'-' | b',' | b'.' | b'/'))
                    || self.any(j, FILLERS))
            {
                j += 1;
                marks += 1;
            }
            if self.letter(j).is_some() || self.repeated_letter(j).is_some() {
                k = j;
            } else {
                break;
            }
        }
        (s.n > 0).then_some(s)
    }

    /// "double l" → (l, 2); "triple e" → (e, 3); "double u" → (w, 1).
    fn repeated_letter(&self, k: usize) -> Option<(u8, usize)> {
        let times = if self.is(k, b"double") {
            2
        } else if self.is(k, b"triple") {
            3
        } else {
            return None;
        };
        let c = self.letter(k + 1)?;
        Some(if times == 2 && c == b'u' {
            (b'w', 1)
        } else {
            (c, times)
        })
    }

    /// The first token before `i` that is not a connector (at most [`MAX_CONNECTORS`] skipped).
    fn word_before(&self, i: usize) -> Option<usize> {
        let mut k = i;
        let mut skipped = 0;
        while k > 0 {
            let p = k - 1;
            let connector = self.any(p, CONNECTORS)
                || matches!(self.punct(p), Some(b',' | b'-' | b':' | b'.' | b';'));
            if !connector {
                return Some(p);
            }
            skipped += 1;
            if skipped > MAX_CONNECTORS {
                return None;
            }
            k = p;
        }
        None
    }

    /// True when a spell cue ("name is", "spelled") stands before `i`, over connectors only.
    fn spell_cue_before(&self, i: usize) -> bool {
        let mut k = i;
        for _ in 0..=MAX_CONNECTORS {
            if k == 0 {
                return false;
            }
            let p = k - 1;
            if self.any(p, SPELL_CUES) && !(p > 0 && self.any(p - 1, NOT_PERSON)) {
                return true;
            }
            let connector = self.any(p, CONNECTORS)
                || matches!(self.punct(p), Some(b',' | b'-' | b':' | b'.' | b';'));
            if !connector {
                return false;
            }
            k = p;
        }
        false
    }

    /// Does a request for a name end at token `i`?
    fn request_ends_at(&self, i: usize) -> bool {
        if self.any(i, &[b"name", b"names", b"surname"]) {
            let from = i.saturating_sub(3);
            return (from..i).any(|k| self.any(k, &[b"your", b"full"]))
                || (i >= 3
                    && self.is(i - 1, b"last")
                    && self.is(i - 2, b"and")
                    && self.is(i - 3, b"first"));
        }
        if self.is(i, b"spell") {
            return self.any(i + 1, &[b"your", b"that", b"it", b"the"]);
        }
        if self.any(i, &[b"speaking", b"talking"]) && self.any(i + 1, &[b"with", b"to"]) {
            let from = i.saturating_sub(3);
            return (from..i).any(|k| self.is(k, b"who"));
        }
        false
    }

    /// The token index where name words may start after a name-noun cue at `i`, if any.
    fn after_name_noun(&self, i: usize) -> Option<usize> {
        if i > 0 && self.any(i - 1, NOT_PERSON) {
            return None;
        }
        let w = self.bytes(i);
        if self.any(i, &[b"name's", b"surname's"]) {
            return Some(i + 1);
        }
        if !self.any(i, NAME_NOUNS) {
            return None;
        }
        if self.any(i + 1, &[b"is", b"was", b"it's", b"its"]) {
            return Some(i + 2);
        }
        if self.punct(i + 1) == Some(b':') {
            return Some(i + 2);
        }
        // "the name will be", "name should be"
        if self.any(i + 1, &[b"will", b"would", b"should", b"must", b"might"])
            && self.is(i + 2, b"be")
        {
            return Some(i + 3);
        }
        // "my names john" (an apostrophe the recogniser dropped)
        if word_is(w, b"names") && i > 0 && self.any(i - 1, &[b"my", b"your"]) {
            return Some(i + 1);
        }
        // "the name on the account is", "name for the reservation is"
        if self.any(i + 1, &[b"on", b"for", b"under"]) {
            for k in i + 2..(i + 7).min(self.len()) {
                if self.any(k, &[b"is", b"was"]) {
                    return Some(k + 1);
                }
                if !self.is_word(k) {
                    break;
                }
            }
            return None;
        }
        // "in the name of", "under the name"
        if i > 0 && self.is(i - 1, b"the") {
            if self.is(i + 1, b"of") {
                return Some(i + 2);
            }
            if i > 1 && self.is(i - 2, b"under") {
                return Some(i + 1);
            }
        }
        None
    }

    /// The answer cue ending at token `i` ("it is", "it's", "that's", "this is", "i'm", "i am",
    /// "that is"): returns the index after it.
    fn answer_cue_at(&self, i: usize) -> Option<usize> {
        if self.any(i, &[b"it's", b"its", b"that's", b"i'm", b"thats"]) {
            return Some(i + 1);
        }
        if (self.any(i, &[b"it", b"that", b"this"]) && self.is(i + 1, b"is"))
            || (self.is(i, b"i") && self.is(i + 1, b"am"))
        {
            return Some(i + 2);
        }
        None
    }

    /// Does a cue that name words may follow end at token `i`? (For holding a final.)
    fn cue_ends_at(&self, i: usize) -> bool {
        if self.any(
            i,
            &[b"name's", b"surname's", b"spelled", b"spelt", b"spell"],
        ) {
            return true;
        }
        if self.any(i, NAME_NOUNS) {
            return i > 0 && self.any(i - 1, &[b"my", b"your", b"last", b"first", b"the", b"full"]);
        }
        if self.punct(i) == Some(b':') {
            return i > 0 && self.any(i - 1, NAME_NOUNS);
        }
        if self.any(i, &[b"is", b"was"]) {
            if i == 0 {
                return false;
            }
            if self.any(i - 1, &[b"it", b"that", b"this", b"spelling"]) {
                return true;
            }
            // "my name is", "the name on the account is"
            let from = i.saturating_sub(5);
            return (from..i)
                .any(|k| self.any(k, NAME_NOUNS) && !(k > 0 && self.any(k - 1, NOT_PERSON)));
        }
        if self.any(i, &[b"it's", b"its", b"that's", b"thats", b"i'm"]) {
            return true;
        }
        self.is(i, b"am") && i > 0 && self.is(i - 1, b"i")
    }

    /// Takes name words (or a spelled run) from `j`; true when something was marked. With
    /// `surname`, one common content word may follow the first name word.
    fn take(&self, j: usize, mode: Mode, max: usize, surname: bool, marks: &mut Marks) -> bool {
        let mut k = j;
        let mut skipped = 0;
        while skipped < 3 && (self.any(k, FILLERS) || self.any(k, TITLES)) {
            k += 1;
            skipped += 1;
            // "Dr. Jane Foster"
            if self.punct(k) == Some(b'.') && self.any(k - 1, TITLES) {
                k += 1;
            }
        }
        if k >= self.len() {
            return false;
        }
        if self.letter(k).is_some() || self.repeated_letter(k).is_some() {
            if let Some(run) = self.spelled_at(k)
                && run.n >= 3
            {
                marks.range(run.first, run.last);
                marks.confirm(run.letters[..run.n].to_vec());
                return true;
            }
            return false;
        }
        let cased = |k: usize| mode == Mode::Any || self.capitalised(k);
        let mut words = 0;
        // A first name that is also a common word ("will smith") counts when a name word
        // follows it.
        if self.loose(k) && !self.candidate(k) {
            if !(max > 1 && cased(k) && self.candidate(k + 1) && cased(k + 1)) {
                return false;
            }
            marks.on[k] = true;
            words += 1;
            k += 1;
        }
        let mut content = false;
        while words < max && cased(k) {
            if !self.candidate(k) {
                // "my name is bradley best": one common word as the surname.
                let surname_word = surname
                    && words > 0
                    && !content
                    && self.loose(k)
                    && !self.any(k + 1, NAME_NOUNS);
                if !surname_word {
                    break;
                }
                content = true;
            }
            marks.on[k] = true;
            words += 1;
            // "smith-jones"
            if self.punct(k + 1) == Some(b'-')
                && self.glued(k + 1)
                && self.glued(k + 2)
                && self.candidate(k + 2)
            {
                marks.on[k + 1] = true;
                marks.on[k + 2] = true;
                k += 3;
                continue;
            }
            k += 1;
        }
        words > 0
    }

    /// Runs every rule and marks the tokens that are part of a name.
    fn find(&self, answers: &[usize], marks: &mut Marks) {
        let n = self.len();
        // Token indices where answers start.
        let mut answer_at: Vec<usize> = answers
            .iter()
            .filter_map(|&off| self.t.iter().position(|t| t.start >= off))
            .collect();
        let mut i = 0;
        while i < n {
            // Most tokens start no rule: one lookup turns them away.
            if !self.is_word(i) || !(self.bytes(i).len() == 1 || is_key(self.bytes(i))) {
                i += 1;
                continue;
            }
            // Spelled runs.
            if (self.letter(i).is_some() || self.repeated_letter(i).is_some())
                && let Some(run) = self.spelled_at(i)
                && run.n >= 2
            {
                self.spelled_run(&run, marks);
                i = run.last + 1;
                continue;
            }
            if self.request_ends_at(i) {
                answer_at.push(i + 1);
            }
            let answering = answer_at.iter().any(|&a| {
                let reach = if a > 0 && self.request_ends_at(a - 1) {
                    REQUEST_REACH
                } else {
                    ANSWER_TOKENS
                };
                a <= i && i < a + reach
            });
            if let Some(j) = self.after_name_noun(i) {
                self.take(j, Mode::Any, MAX_NAME_WORDS, true, marks);
            } else if self.any(i, &[b"spelled", b"spelt"]) {
                self.take(i + 1, Mode::Any, 1, false, marks);
            } else if let Some(j) = self.answer_cue_at(i) {
                if answering {
                    self.take(j, Mode::Any, MAX_NAME_WORDS, false, marks);
                } else if self.is(i, b"this") {
                    self.take(j, Mode::Capital, MAX_NAME_WORDS, false, marks);
                }
            }
            i += 1;
        }
        self.propagate(marks);
    }

    /// Other uses of a confirmed name, and a first name right before one.
    fn propagate(&self, marks: &mut Marks) {
        let n = self.len();
        if marks.confirmed.is_empty() {
            return;
        }
        for i in 0..n {
            if marks.on[i] || !self.is_word(i) {
                continue;
            }
            let w = self.bytes(i);
            if marks.confirmed.iter().any(|c| norm_eq(w, c)) && self.loose(i) {
                marks.on[i] = true;
            }
        }
        for i in 1..n {
            if !marks.on[i] || marks.on[i - 1] || !self.is_word(i) || self.letter(i).is_some() {
                continue;
            }
            let p = i - 1;
            if self.loose(p)
                && (p == 0
                    || self.any(p - 1, LEAD_INS)
                    || matches!(self.punct(p - 1), Some(b',' | b'.')))
            {
                marks.on[p] = true;
            }
        }
    }

    /// A spelled run: a name when it spells the word(s) before it or (three letters or more)
    /// follows a spell cue. Two letters count only right after the word they spell ("wu w u").
    fn spelled_run(&self, run: &Spelled, marks: &mut Marks) {
        let letters = &run.letters[..run.n];
        if run.n < 3 {
            let p = run.first.wrapping_sub(1);
            if run.first > 0 && self.loose(p) && norm(self.bytes(p)) == letters {
                marks.on[p] = true;
                marks.range(run.first, run.last);
                marks.confirm(letters.to_vec());
            }
            return;
        }
        if let Some(p) = self.word_before(run.first)
            && self.is_word(p)
        {
            if self.loose(p) && norm(self.bytes(p)) == letters {
                marks.on[p] = true;
                marks.range(run.first, run.last);
                marks.confirm(letters.to_vec());
                return;
            }
            // Two words spelled together ("mary ann m a r y a n n"), or a hyphenated name.
            let mut q = p;
            if q >= 2 && self.punct(q - 1) == Some(b'-') && self.glued(q - 1) && self.glued(q) {
                q -= 1;
            }
            if q >= 1 && self.loose(q - 1) && self.loose(p) {
                let mut both = norm(self.bytes(q - 1));
                both.extend(norm(self.bytes(p)));
                if both == letters {
                    marks.range(q - 1, p);
                    marks.range(run.first, run.last);
                    marks.confirm(norm(self.bytes(q - 1)));
                    marks.confirm(norm(self.bytes(p)));
                    return;
                }
            }
        }
        if self.spell_cue_before(run.first) {
            marks.range(run.first, run.last);
            marks.confirm(letters.to_vec());
        }
    }
}

/// Words that are never a name (lower-case): pronouns, determiners, contractions, prepositions,
/// conjunctions, auxiliaries, the verbs of the call itself ("calling", "spelled"), frequent
/// adverbs and answers, the nouns a name is asked with, titles.
fn is_function(w: &[u8]) -> bool {
    let mut buf = [0u8; 16];
    let Some(w) = lower(w, &mut buf) else {
        return false;
    };
    matches!(
        w,
        b"i" | b"me"
            | b"my"
            | b"mine"
            | b"myself"
            | b"you"
            | b"your"
            | b"yours"
            | b"yourself"
            | b"he"
            | b"him"
            | b"his"
            | b"she"
            | b"her"
            | b"hers"
            | b"it"
            | b"its"
            | b"itself"
            | b"we"
            | b"us"
            | b"our"
            | b"ours"
            | b"they"
            | b"them"
            | b"their"
            | b"theirs"
            | b"this"
            | b"that"
            | b"these"
            | b"those"
            | b"an"
            | b"the"
            | b"some"
            | b"any"
            | b"all"
            | b"each"
            | b"every"
            | b"no"
            | b"none"
            | b"both"
            | b"either"
            | b"neither"
            | b"other"
            | b"another"
            | b"such"
            | b"what"
            | b"which"
            | b"who"
            | b"whom"
            | b"whose"
            | b"where"
            | b"when"
            | b"why"
            | b"how"
            | b"whatever"
            | b"there"
            | b"here"
            | b"something"
            | b"anything"
            | b"nothing"
            | b"everything"
            | b"someone"
            | b"anyone"
            | b"everyone"
            | b"nobody"
            | b"somebody"
            | b"anybody"
            | b"everybody"
            | b"own"
            | b"else"
            | b"i'm"
            | b"i've"
            | b"i'll"
            | b"i'd"
            | b"you're"
            | b"you've"
            | b"you'll"
            | b"you'd"
            | b"he's"
            | b"she's"
            | b"it's"
            | b"we're"
            | b"we've"
            | b"we'll"
            | b"we'd"
            | b"they're"
            | b"they've"
            | b"they'll"
            | b"they'd"
            | b"that's"
            | b"thats"
            | b"there's"
            | b"here's"
            | b"what's"
            | b"who's"
            | b"where's"
            | b"how's"
            | b"let's"
            | b"don't"
            | b"dont"
            | b"doesn't"
            | b"didn't"
            | b"can't"
            | b"cant"
            | b"cannot"
            | b"won't"
            | b"wont"
            | b"wouldn't"
            | b"shouldn't"
            | b"couldn't"
            | b"isn't"
            | b"aren't"
            | b"wasn't"
            | b"weren't"
            | b"haven't"
            | b"hasn't"
            | b"hadn't"
            | b"ain't"
            | b"gonna"
            | b"wanna"
            | b"gotta"
            | b"im"
            | b"ive"
            | b"youre"
            | b"it'll"
            | b"that'll"
            | b"name's"
            | b"and"
            | b"or"
            | b"but"
            | b"nor"
            | b"so"
            | b"yet"
            | b"for"
            | b"of"
            | b"to"
            | b"in"
            | b"on"
            | b"by"
            | b"with"
            | b"without"
            | b"from"
            | b"into"
            | b"onto"
            | b"about"
            | b"above"
            | b"below"
            | b"under"
            | b"over"
            | b"after"
            | b"before"
            | b"between"
            | b"through"
            | b"during"
            | b"since"
            | b"until"
            | b"till"
            | b"than"
            | b"then"
            | b"as"
            | b"if"
            | b"because"
            | b"cause"
            | b"though"
            | b"although"
            | b"while"
            | b"whether"
            | b"via"
            | b"per"
            | b"off"
            | b"out"
            | b"up"
            | b"down"
            | b"around"
            | b"against"
            | b"along"
            | b"across"
            | b"behind"
            | b"beyond"
            | b"near"
            | b"like"
            | b"unlike"
            | b"except"
            | b"also"
            | b"too"
            | b"within"
            | b"upon"
            | b"toward"
            | b"towards"
            | b"instead"
            | b"is"
            | b"am"
            | b"are"
            | b"was"
            | b"were"
            | b"be"
            | b"been"
            | b"being"
            | b"have"
            | b"has"
            | b"had"
            | b"having"
            | b"do"
            | b"does"
            | b"did"
            | b"doing"
            | b"done"
            | b"would"
            | b"shall"
            | b"should"
            | b"can"
            | b"could"
            | b"might"
            | b"must"
            | b"get"
            | b"got"
            | b"gets"
            | b"getting"
            | b"gotten"
            | b"go"
            | b"goes"
            | b"going"
            | b"gone"
            | b"went"
            | b"call"
            | b"called"
            | b"calling"
            | b"calls"
            | b"speak"
            | b"speaking"
            | b"spoke"
            | b"talk"
            | b"talking"
            | b"help"
            | b"helping"
            | b"assist"
            | b"assisting"
            | b"check"
            | b"checking"
            | b"hold"
            | b"holding"
            | b"wait"
            | b"waiting"
            | b"spell"
            | b"spelled"
            | b"spelt"
            | b"spelling"
            | b"spells"
            | b"misspelled"
            | b"say"
            | b"says"
            | b"said"
            | b"not"
            | b"never"
            | b"always"
            | b"still"
            | b"just"
            | b"only"
            | b"really"
            | b"actually"
            | b"already"
            | b"even"
            | b"ever"
            | b"again"
            | b"now"
            | b"soon"
            | b"later"
            | b"today"
            | b"tonight"
            | b"tomorrow"
            | b"yesterday"
            | b"very"
            | b"quite"
            | b"pretty"
            | b"rather"
            | b"almost"
            | b"maybe"
            | b"perhaps"
            | b"probably"
            | b"definitely"
            | b"exactly"
            | b"correctly"
            | b"incorrectly"
            | b"properly"
            | b"right"
            | b"wrong"
            | b"well"
            | b"much"
            | b"many"
            | b"more"
            | b"most"
            | b"less"
            | b"least"
            | b"few"
            | b"enough"
            | b"same"
            | b"different"
            | b"correct"
            | b"incorrect"
            | b"fine"
            | b"okay"
            | b"ok"
            | b"sure"
            | b"yes"
            | b"yeah"
            | b"yep"
            | b"yup"
            | b"nope"
            | b"nah"
            | b"please"
            | b"thanks"
            | b"thank"
            | b"sorry"
            | b"hello"
            | b"hi"
            | b"hey"
            | b"bye"
            | b"goodbye"
            | b"welcome"
            | b"oh"
            | b"hmm"
            | b"mhm"
            | b"alright"
            | b"anyway"
            | b"basically"
            | b"literally"
            | b"honestly"
            | b"totally"
            | b"usually"
            | b"name"
            | b"names"
            | b"surname"
            | b"number"
            | b"account"
            | b"address"
            | b"email"
            | b"mail"
            | b"phone"
            | b"first"
            | b"last"
            | b"middle"
            | b"maiden"
            | b"sir"
            | b"madam"
            | b"ma'am"
            | b"mister"
            | b"mr"
            | b"mrs"
            | b"ms"
            | b"miss"
            | b"dr"
            | b"doctor"
            | b"missus"
    )
}

/// Common content words (lower-case): frequent verbs, adjectives and nouns, days and months, and
/// words that are also first names ("will", "grace"). Not a name on their own, but one can be
/// confirmed by spelling ("long l o n g"), continue a name after a name cue ("my name is bradley
/// best"), or start one that a name word follows ("my name is will smith").
fn is_content(w: &[u8]) -> bool {
    let mut buf = [0u8; 16];
    let Some(w) = lower(w, &mut buf) else {
        return false;
    };
    matches!(
        w,
        b"will"
            | b"may"
            | b"let"
            | b"put"
            | b"make"
            | b"makes"
            | b"made"
            | b"making"
            | b"take"
            | b"takes"
            | b"took"
            | b"taken"
            | b"see"
            | b"saw"
            | b"seen"
            | b"know"
            | b"knew"
            | b"known"
            | b"think"
            | b"thought"
            | b"want"
            | b"wanted"
            | b"need"
            | b"needed"
            | b"needs"
            | b"give"
            | b"gave"
            | b"given"
            | b"tell"
            | b"told"
            | b"ask"
            | b"asked"
            | b"find"
            | b"found"
            | b"try"
            | b"trying"
            | b"tried"
            | b"use"
            | b"used"
            | b"using"
            | b"keep"
            | b"kept"
            | b"work"
            | b"works"
            | b"working"
            | b"change"
            | b"changed"
            | b"update"
            | b"updated"
            | b"read"
            | b"write"
            | b"written"
            | b"wrote"
            | b"print"
            | b"printed"
            | b"show"
            | b"showing"
            | b"shows"
            | b"shown"
            | b"list"
            | b"listed"
            | b"mean"
            | b"means"
            | b"meant"
            | b"sound"
            | b"sounds"
            | b"hear"
            | b"heard"
            | b"send"
            | b"sent"
            | b"pay"
            | b"paid"
            | b"order"
            | b"ordered"
            | b"ship"
            | b"shipped"
            | b"buy"
            | b"bought"
            | b"return"
            | b"returned"
            | b"cancel"
            | b"cancelled"
            | b"canceled"
            | b"confirm"
            | b"confirmed"
            | b"verify"
            | b"verified"
            | b"pull"
            | b"pulled"
            | b"placed"
            | b"received"
            | b"set"
            | b"run"
            | b"running"
            | b"leave"
            | b"left"
            | b"stay"
            | b"live"
            | b"lived"
            | b"living"
            | b"happen"
            | b"happened"
            | b"remember"
            | b"forgot"
            | b"guess"
            | b"suppose"
            | b"supposed"
            | b"believe"
            | b"understand"
            | b"appreciate"
            | b"apologize"
            | b"apologise"
            | b"hope"
            | b"love"
            | b"hate"
            | b"feel"
            | b"seems"
            | b"seem"
            | b"became"
            | b"become"
            | b"registered"
            | b"attached"
            | b"linked"
            | b"associated"
            | b"saved"
            | b"stored"
            | b"entered"
            | b"typed"
            | b"added"
            | b"removed"
            | b"missing"
            | b"showed"
            | b"come"
            | b"comes"
            | b"coming"
            | b"came"
            | b"look"
            | b"looking"
            | b"looked"
            | b"kind"
            | b"sort"
            | b"bit"
            | b"little"
            | b"lot"
            | b"lots"
            | b"good"
            | b"great"
            | b"bad"
            | b"blank"
            | b"empty"
            | b"new"
            | b"old"
            | b"full"
            | b"legal"
            | b"real"
            | b"whole"
            | b"long"
            | b"short"
            | b"hard"
            | b"easy"
            | b"weird"
            | b"funny"
            | b"common"
            | b"unusual"
            | b"simple"
            | b"complicated"
            | b"tricky"
            | b"difficult"
            | b"exact"
            | b"true"
            | b"false"
            | b"important"
            | b"available"
            | b"able"
            | b"unable"
            | b"happy"
            | b"glad"
            | b"perfect"
            | b"awesome"
            | b"cool"
            | b"nice"
            | b"terrible"
            | b"horrible"
            | b"ridiculous"
            | b"crazy"
            | b"urgent"
            | b"ready"
            | b"busy"
            | b"free"
            | b"open"
            | b"closed"
            | b"next"
            | b"previous"
            | b"current"
            | b"big"
            | b"small"
            | b"large"
            | b"larger"
            | b"smaller"
            | b"best"
            | b"better"
            | b"worse"
            | b"worst"
            | b"frustrating"
            | b"annoying"
            | b"interesting"
            | b"possible"
            | b"impossible"
            | b"necessary"
            | b"mentioned"
            | b"fast"
            | b"slow"
            | b"quick"
            | b"quickly"
            | b"slowly"
            | b"clearly"
            | b"obviously"
            | b"unfortunately"
            | b"fortunately"
            | b"hopefully"
            | b"certainly"
            | b"absolutely"
            | b"completely"
            | b"currently"
            | b"recently"
            | b"originally"
            | b"officially"
            | b"technically"
            | b"normally"
            | b"generally"
            | b"personally"
            | b"wrongly"
            | b"differently"
            | b"twice"
            | b"once"
            | b"somewhere"
            | b"anywhere"
            | b"everywhere"
            | b"nowhere"
            | b"away"
            | b"back"
            | b"home"
            | b"inside"
            | b"outside"
            | b"together"
            | b"apart"
            | b"ahead"
            | b"otherwise"
            | b"card"
            | b"code"
            | b"customer"
            | b"thing"
            | b"things"
            | b"way"
            | b"time"
            | b"times"
            | b"day"
            | b"days"
            | b"week"
            | b"weeks"
            | b"month"
            | b"months"
            | b"year"
            | b"years"
            | b"moment"
            | b"second"
            | b"seconds"
            | b"minute"
            | b"minutes"
            | b"hour"
            | b"hours"
            | b"dot"
            | b"underscore"
            | b"hyphen"
            | b"dash"
            | b"slash"
            | b"period"
            | b"comma"
            | b"space"
            | b"capital"
            | b"lowercase"
            | b"uppercase"
            | b"letter"
            | b"letters"
            | b"word"
            | b"words"
            | b"problem"
            | b"issue"
            | b"question"
            | b"reason"
            | b"system"
            | b"file"
            | b"record"
            | b"records"
            | b"reservation"
            | b"booking"
            | b"ticket"
            | b"case"
            | b"person"
            | b"people"
            | b"guy"
            | b"lady"
            | b"man"
            | b"woman"
            | b"husband"
            | b"wife"
            | b"son"
            | b"daughter"
            | b"mother"
            | b"father"
            | b"mom"
            | b"dad"
            | b"brother"
            | b"sister"
            | b"friend"
            | b"boss"
            | b"manager"
            | b"supervisor"
            | b"agent"
            | b"representative"
            | b"team"
            | b"company"
            | b"department"
            | b"office"
            | b"store"
            | b"bank"
            | b"part"
            | b"item"
            | b"package"
            | b"delivery"
            | b"invoice"
            | b"payment"
            | b"refund"
            | b"credit"
            | b"debit"
            | b"visa"
            | b"mastercard"
            | b"amex"
            | b"policy"
            | b"plan"
            | b"service"
            | b"support"
            | b"information"
            | b"info"
            | b"details"
            | b"detail"
            | b"password"
            | b"username"
            | b"login"
            | b"pin"
            | b"birthday"
            | b"date"
            | b"birth"
            | b"social"
            | b"security"
            | b"zip"
            | b"street"
            | b"road"
            | b"avenue"
            | b"apartment"
            | b"unit"
            | b"suite"
            | b"morning"
            | b"afternoon"
            | b"evening"
            | b"night"
            | b"noon"
            | b"weekend"
            | b"dollars"
            | b"dollar"
            | b"cents"
            | b"percent"
            | b"total"
            | b"amount"
            | b"price"
            | b"cost"
            | b"fee"
            | b"charge"
            | b"charged"
            | b"shipping"
            | b"version"
            | b"model"
            | b"size"
            | b"color"
            | b"colour"
            | b"type"
            | b"option"
            | b"options"
            | b"side"
            | b"end"
            | b"start"
            | b"top"
            | b"bottom"
            | b"front"
            | b"rest"
            | b"point"
            | b"idea"
            | b"deal"
            | b"fact"
            | b"matter"
            | b"sense"
            | b"place"
            | b"site"
            | b"website"
            | b"online"
            | b"app"
            | b"monday"
            | b"tuesday"
            | b"wednesday"
            | b"thursday"
            | b"friday"
            | b"saturday"
            | b"sunday"
            | b"january"
            | b"february"
            | b"march"
            | b"july"
            | b"september"
            | b"october"
            | b"november"
            | b"december"
            | b"faith"
            | b"grace"
            | b"joy"
            | b"bill"
            | b"mark"
            | b"pat"
            | b"sue"
            | b"art"
            | b"rich"
            | b"frank"
            | b"grant"
            | b"rose"
            | b"dawn"
            | b"chase"
            | b"drew"
            | b"sky"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &str) -> Vec<&str> {
        names_answering(s, &[])
    }

    fn names_answering<'a>(s: &'a str, answers: &[usize]) -> Vec<&'a str> {
        let mut hits = Vec::new();
        let mut at = Vec::new();
        spots(s.as_bytes(), &mut at);
        scan_names(s.as_bytes(), at, answers, &mut hits);
        hits.iter().map(|h| &s[h.start..h.end]).collect()
    }

    #[test]
    fn spelling_confirms_the_word_before_it_and_its_other_uses() {
        assert_eq!(
            names("yeah it is john smith that is smith s m i t h"),
            ["john smith", "smith s m i t h"]
        );
        assert_eq!(
            names("yeah it is john smith that is Smith S M I T H"),
            ["john smith", "Smith S M I T H"]
        );
        assert_eq!(names("it's hill, h i double l"), ["hill", "h i double l"]);
        assert_eq!(names("smith, that's s-m-i-t-h"), ["smith", "s-m-i-t-h"]);
        assert_eq!(
            names("lopez l as in larry o p e z okay"),
            ["lopez l as in larry o p e z"]
        );
        assert_eq!(names("mary ann m a r y a n n"), ["mary ann m a r y a n n"]);
        assert_eq!(names("that is lee l e e"), ["lee l e e"]);
    }

    #[test]
    fn spelled_runs_after_a_cue() {
        assert_eq!(names("my name is o s c a r"), ["o s c a r"]);
        assert_eq!(names("My name is o s c a r."), ["o s c a r"]);
        assert_eq!(names("my last name is s m i t h"), ["s m i t h"]);
        assert_eq!(names("it's spelled w-r-i-g-h-t"), ["w-r-i-g-h-t"]);
        assert_eq!(
            names("last name is s m i t h and yes smith is right"),
            ["s m i t h", "smith"]
        );
    }

    #[test]
    fn cue_phrases() {
        assert_eq!(
            names("thank you for calling acme my name is alex how can i help you today"),
            ["alex"]
        );
        assert_eq!(
            names("hi my name is john smith and i have a question"),
            ["john smith"]
        );
        assert_eq!(names("my name's mary-kate o'brien"), ["mary-kate o'brien"]);
        assert_eq!(names("the name on the account is jane doe"), ["jane doe"]);
        assert_eq!(names("my first name is uh maria"), ["maria"]);
        assert_eq!(names("surname: Nguyen."), ["Nguyen"]);
        assert_eq!(names("the name will be john smith"), ["john smith"]);
        assert_eq!(names("it is under the name garcia"), ["garcia"]);
        assert_eq!(names("This is Alex from billing"), ["Alex"]);
        assert_eq!(names("my name is mr smith"), ["smith"]);
        assert_eq!(names("my name is will smith"), ["will smith"]);
        assert_eq!(names("my name is will"), Vec::<&str>::new());
        assert_eq!(
            names("hi this is Dr. Jane Foster calling back"),
            ["Jane Foster"]
        );
    }

    #[test]
    fn answers_after_a_request() {
        assert_eq!(
            names("can i have your first and last name please yeah it is john smith"),
            ["john smith"]
        );
        let s = "yeah it's john smith";
        assert_eq!(names(s), Vec::<&str>::new());
        assert_eq!(names_answering(s, &[0]), ["john smith"]);
        assert_eq!(
            names_answering("it is what it is", &[0]),
            Vec::<&str>::new()
        );
        assert!(asks_for_name(
            b"sure can i have your first and last name please"
        ));
        assert!(asks_for_name(b"and who am i speaking with today"));
        assert!(!asks_for_name(b"my name is on the account"));
    }

    #[test]
    fn ordinary_speech_is_not_a_name() {
        for s in [
            "this is great",
            "this is the one i ordered",
            "my name is on the account",
            "my name is not on the account",
            "the name is spelled wrong on the invoice",
            "my name is kind of hard to spell",
            "it is what it is",
            "it's fine",
            "you can find us at amazon dot a b c",
            "dot a b c",
            "a b c",
            "the u s a",
            "john smith called yesterday",
            "can i have your first and last name please",
            "what is your name",
            "the company name is acme",
            "in the name of the father",
            "i'm good thanks",
            "[PERSON_NAME] [CREDIT_CARD]",
            "my name is [PERSON_NAME]",
            "yes y e s",
            "that is correct",
            "x eighty six",
            "just dot the i's and cross the t's",
        ] {
            assert_eq!(names(s), Vec::<&str>::new(), "{s:?}");
        }
    }

    #[test]
    fn the_scanner_finds_the_same_spots() {
        use super::super::scan::{Opts, scan_builtin};
        for s in [
            "yeah it is john smith that is smith s m i t h",
            "my card is four one one one and my name is o s c a r",
            "wu w u, call 415-555-0132 s 4 m i t",
            "This is Alex, j o h n at gmail dot com, spelled s-m-i",
            "x a b 12 c d e speaking with me",
            // Spaces and dashes outside ASCII separate words in both walks; other characters
            // outside ASCII are letters in both.
            "wu\u{a0}w\u{2009}u, my\u{202f}name\u{a0}is o\u{3000}s c\u{2011}a r",
            "it\u{2019}s s m i t h, caf\u{e9} s\u{2013}m\u{2013}i",
        ] {
            let b = s.as_bytes();
            let mut alone = Vec::new();
            spots(b, &mut alone);
            let mut hits = Vec::new();
            let mut by_scanner = Vec::new();
            let opts = Opts {
                spoken: true,
                digits: true,
                email: false,
                names: true,
            };
            scan_builtin(b, opts, &mut hits, &mut by_scanner);
            assert_eq!(alone, by_scanner, "{s:?}");
            assert!(!alone.is_empty(), "{s:?}");
        }
    }

    #[test]
    fn open_endings_and_pending_spelling() {
        for s in [
            "my name is",
            "yeah it is john smith",
            "that is",
            "my last name is",
            "it's spelled",
            "the name on the account is",
        ] {
            assert!(ends_open(s.as_bytes()), "{s:?}");
        }
        for s in [
            "thanks for calling how can i help",
            "that is correct",
            "it is the larger size",
            "yes that is right",
        ] {
            assert!(!ends_open(s.as_bytes()), "{s:?}");
        }
        let s = "that is smith s m i";
        assert_eq!(pending_start(s.as_bytes()), Some(8));
        assert_eq!(pending_start(b"it is a b"), Some(6));
        assert_eq!(pending_start(b"it is a"), None);
        assert!(starts_spelling(b"smith s m i t h"));
        assert!(starts_spelling(b"h i l l"));
        assert!(!starts_spelling(b"i think so"));
    }
}
