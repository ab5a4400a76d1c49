//! Digit runs: accumulation of written and spoken digit groups, and the card / SSN / phone rules.
//!
//! Theory of operation. A *run* is a sequence of *chunks* (a written digit token such as `4111`,
//! or a spoken group such as "four", "double five", "twenty four", "eight hundred") joined by
//! *gaps* (whitespace, one or two of `- . ( ) ,`, pause words such as "uh" or "dash"). The scanner
//! feeds tokens in; any other token ends the run, which is then *evaluated*:
//!
//! 1. find the window of consecutive chunks that covers the most digits and passes a rule
//!    (card: 13–19 digits, brand prefix, Luhn; phone; SSN), earliest first on ties;
//! 2. repeat on the chunks left of it and right of it;
//! 3. spoken leftovers next to a window are absorbed into it, so that "four one two three …"
//!    never leaves part of a spoken number readable.
//!
//! A written window must be delimited at least as strongly as it is grouped inside (a space
//! between `078-051121` and `07805-1121` separates two numbers; the dashes only group digits).
//!
//! Spoken groups are merged while they arrive: "twenty" then "four" becomes one chunk `24`,
//! "eight hundred" becomes `800`, "five hundred twenty" becomes `520`. A unit after "hundred" is
//! *not* merged ("eight hundred five five five" is `800 5 5 5`), because that is how people read
//! phone numbers.

use std::cell::Cell;

use super::PiiKind;
use super::rules::{card_prefix_ok, luhn_digits, ssn_shape, ssn_valid};

/// Most chunks a run keeps before it is evaluated and restarted.
const MAX_CHUNKS: usize = 40;
/// Most digits a run keeps.
const MAX_DIGITS: usize = 120;
/// A written digit token longer than this is not one of our entities (and not split up).
const MAX_TOKEN_DIGITS: usize = 19;
/// Fewest digits of any finding (a seven-digit local phone number): a shorter run is not
/// evaluated, and a text with fewer digits in all is not scanned (see `scan::may_find`).
pub(crate) const MIN_DIGITS: usize = 7;
/// Most pause words or punctuation marks in one gap.
const MAX_GAP_MARKS: u8 = 3;

/// How the last spoken chunk may still be completed by the next number word.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
enum Merge {
    #[default]
    No,
    /// Ends in the `0` of a tens word: a unit word replaces it.
    Tens,
    /// Ends in the `00` of "hundred" / "thousand": a teen or tens word replaces them.
    Hundreds,
}

#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct Chunk {
    /// End of the chunk's own words or digits (byte offset).
    end: usize,
    /// Where a finding that starts at this chunk starts: before a directly preceding `(`, `+`
    /// or "plus".
    lead: usize,
    /// Number of digits of this chunk (they sit in `Run::digits` in chunk order).
    pub(crate) dn: u8,
    written: bool,
    /// Preceded by `+` or "plus".
    plus: bool,
    /// Glued to a preceding non-number token (`is415-555`): no window may start here.
    no_start: bool,
    /// Separator before this chunk: 0 (first), `b' '`, `b'-'`, `b'.'`, `b'('` (any paren),
    /// `b','`, `b'f'` (pause word), `b'm'` (mixed).
    pub(crate) sep: u8,
    merge: Merge,
    /// Spoken single digit 1–9 that "hundred"/"thousand" may multiply.
    unit: bool,
}

/// A run of digit chunks being accumulated. See the module comment.
pub(crate) struct Run {
    /// `MAX_CHUNKS` chunks, allocated at the first digit of a scan (most utterances have none).
    chunks: Vec<Chunk>,
    n: usize,
    /// `MAX_DIGITS` digit values, allocated with `chunks`.
    digits: Vec<u8>,
    nd: usize,
    // The gap since the last chunk.
    gap_sep: u8,
    gap_marks: u8,
    gap_ws: bool,
    // Things waiting for the next chunk.
    lead: Option<(usize, bool)>,
    repeat: Option<(usize, u8)>,
    no_start_next: bool,
    /// The next chunk is glued by `-` or `.` to a token mixing letters and digits, and so the
    /// run that starts with it (see [`Run::after_identifier`]).
    identifier_next: bool,
    identifier: bool,
}

thread_local! {
    /// The buffers of this thread's last run, for the next one: a scan that meets a number word
    /// (most do: "one second", "at five") would otherwise allocate and zero them every time.
    static SPARE: Cell<(Vec<Chunk>, Vec<u8>)> = const { Cell::new((Vec::new(), Vec::new())) };
}

impl Drop for Run {
    fn drop(&mut self) {
        if self.chunks.is_empty() {
            return;
        }
        let spare = (
            std::mem::take(&mut self.chunks),
            std::mem::take(&mut self.digits),
        );
        // During thread teardown the slot may be gone: the buffers are then simply freed.
        let _ = SPARE.try_with(|s| s.set(spare));
    }
}

impl Run {
    /// A run with no chunks and no buffers yet: they are taken at the first chunk (see
    /// [`Run::push_chunk`]), so a text without a number costs no thread-local access.
    pub(crate) fn new() -> Self {
        Self {
            chunks: Vec::new(),
            n: 0,
            digits: Vec::new(),
            nd: 0,
            gap_sep: 0,
            gap_marks: 0,
            gap_ws: false,
            lead: None,
            repeat: None,
            no_start_next: false,
            identifier_next: false,
            identifier: false,
        }
    }

    /// True when a token that is not part of a number has to end something.
    #[inline]
    pub(crate) fn busy(&self) -> bool {
        self.n > 0 || self.lead.is_some() || self.repeat.is_some() || self.no_start_next
    }

    /// Whitespace was seen before the current token.
    #[inline]
    pub(crate) fn whitespace(&mut self) {
        self.gap_ws = true;
        self.no_start_next = false;
        self.identifier_next = false;
    }

    /// A `-` or `.` glued to a token mixing letters and digits (`9b7f-`) was just read: digits
    /// glued to it begin the rest of an identifier (`cb86be60-fcd0-9b7f-7500-007911720589`).
    pub(crate) fn after_identifier(&mut self) {
        if self.n == 0 {
            self.identifier_next = true;
            self.no_start_next = true;
        }
    }

    fn gap_plain(&self) -> bool {
        self.gap_marks == 0
    }

    fn sep_for_next(&self) -> u8 {
        if self.n == 0 {
            0
        } else if self.gap_sep != 0 {
            self.gap_sep
        } else if self.gap_ws {
            b' '
        } else {
            0
        }
    }

    fn push_chunk(
        &mut self,
        start: usize,
        end: usize,
        ds: &[u8],
        written: bool,
        out: &mut Vec<Hit>,
    ) {
        if self.chunks.is_empty() {
            // The thread's last run's buffers (contents unspecified: only `..n` and `..nd` are
            // ever read, and written first), or new ones.
            let (chunks, digits) = SPARE.try_with(Cell::take).unwrap_or_default();
            if chunks.is_empty() {
                self.chunks = vec![Chunk::default(); MAX_CHUNKS];
                self.digits = vec![0; MAX_DIGITS];
            } else {
                self.chunks = chunks;
                self.digits = digits;
            }
        }
        if self.n == MAX_CHUNKS || self.nd + ds.len() > MAX_DIGITS {
            self.end(out);
        }
        if self.n == 0 {
            self.identifier = std::mem::take(&mut self.identifier_next);
        }
        let (lead, plus) = match self.lead.take() {
            Some((p, plus)) => (p, plus),
            None => (start, false),
        };
        let c = Chunk {
            end,
            lead,
            dn: ds.len() as u8,
            written,
            plus,
            no_start: std::mem::take(&mut self.no_start_next),
            sep: self.sep_for_next(),
            merge: Merge::No,
            unit: false,
        };
        self.digits[self.nd..self.nd + ds.len()].copy_from_slice(ds);
        self.nd += ds.len();
        self.chunks[self.n] = c;
        self.n += 1;
        self.gap_sep = 0;
        self.gap_marks = 0;
        self.gap_ws = false;
    }

    fn last_mut(&mut self) -> Option<&mut Chunk> {
        if self.n == 0 {
            None
        } else {
            Some(&mut self.chunks[self.n - 1])
        }
    }

    /// A written digit token `text[start..end]`.
    pub(crate) fn written(
        &mut self,
        b: &[u8],
        start: usize,
        end: usize,
        glued_left: bool,
        out: &mut Vec<Hit>,
    ) {
        let ds = &b[start..end];
        if let Some((rs, count)) = self.repeat.take() {
            if ds.len() == 1 {
                let d = ds[0] - b'0';
                self.spoken_digits(rs, end, &[d; 3][..count as usize], out);
                return;
            }
            self.end(out);
        }
        if ds.len() > MAX_TOKEN_DIGITS {
            self.end(out);
            return;
        }
        if !glued_left {
            self.no_start_next = false;
        }
        let mut buf = [0u8; MAX_TOKEN_DIGITS];
        for (o, d) in buf.iter_mut().zip(ds) {
            *o = d - b'0';
        }
        self.push_chunk(start, end, &buf[..ds.len()], true, out);
    }

    fn spoken_digits(&mut self, start: usize, end: usize, ds: &[u8], out: &mut Vec<Hit>) {
        self.push_chunk(start, end, ds, false, out);
    }

    /// A spoken number word (one of the `Lex` digit kinds).
    pub(crate) fn spoken(
        &mut self,
        lex: super::lex::Lex,
        start: usize,
        end: usize,
        out: &mut Vec<Hit>,
    ) {
        use super::lex::Lex;
        if let Some((rs, count)) = self.repeat.take() {
            let d = match lex {
                Lex::Digit(d) => d,
                Lex::WeakZero => 0,
                _ => {
                    self.end(out);
                    return self.spoken(lex, start, end, out);
                }
            };
            return self.spoken_digits(rs, end, &[d; 3][..count as usize], out);
        }
        // "twenty four" and "twenty-four" merge; "twenty, four" and "twenty uh four" do not.
        let joinable =
            self.gap_plain() || (self.gap_marks == 1 && self.gap_sep == b'-' && !self.gap_ws);
        let plain = joinable && self.n > 0 && !self.chunks[self.n - 1].written;
        match lex {
            Lex::Digit(d) => {
                if plain && d != 0 && self.last_merge() == Merge::Tens {
                    self.digits[self.nd - 1] = d;
                    let c = self.last_mut().expect("plain implies a chunk");
                    c.end = end;
                    c.merge = Merge::No;
                    self.reset_gap();
                    return;
                }
                self.spoken_digits(start, end, &[d], out);
                let c = self.last_mut().expect("just pushed");
                c.unit = d != 0;
            }
            Lex::WeakZero => self.spoken_digits(start, end, &[0], out),
            Lex::Teen(v) => {
                if plain && self.last_merge() == Merge::Hundreds {
                    self.digits[self.nd - 2] = v / 10;
                    self.digits[self.nd - 1] = v % 10;
                    let c = self.last_mut().expect("plain implies a chunk");
                    c.end = end;
                    c.merge = Merge::No;
                    self.reset_gap();
                    return;
                }
                self.spoken_digits(start, end, &[v / 10, v % 10], out);
                let c = self.last_mut().expect("just pushed");
                c.unit = true; // "twelve hundred"
            }
            Lex::Tens(t) => {
                if plain && self.last_merge() == Merge::Hundreds {
                    self.digits[self.nd - 2] = t;
                    let c = self.last_mut().expect("plain implies a chunk");
                    c.end = end;
                    c.merge = Merge::Tens;
                    self.reset_gap();
                    return;
                }
                self.spoken_digits(start, end, &[t, 0], out);
                self.last_mut().expect("just pushed").merge = Merge::Tens;
            }
            Lex::Hundred | Lex::Thousand => {
                let zeros: &[u8] = if lex == Lex::Hundred {
                    &[0, 0]
                } else {
                    &[0, 0, 0]
                };
                if plain && self.chunks[self.n - 1].unit && self.nd + zeros.len() <= MAX_DIGITS {
                    self.digits[self.nd..self.nd + zeros.len()].copy_from_slice(zeros);
                    self.nd += zeros.len();
                    let c = self.last_mut().expect("plain implies a chunk");
                    c.dn += zeros.len() as u8;
                    c.end = end;
                    c.unit = false;
                    c.merge = Merge::Hundreds;
                    self.reset_gap();
                } else {
                    self.end(out);
                }
            }
            Lex::Repeat(count) => {
                self.repeat = Some((start, count));
            }
            Lex::Plus => {
                self.end(out);
                self.lead = Some((start, true));
            }
            Lex::Filler => self.mark(b'f', out),
            Lex::At => self.end(out),
        }
    }

    fn last_merge(&self) -> Merge {
        if self.n == 0 {
            Merge::No
        } else {
            self.chunks[self.n - 1].merge
        }
    }

    fn reset_gap(&mut self) {
        self.gap_sep = 0;
        self.gap_marks = 0;
        self.gap_ws = false;
    }

    /// A separator mark (punctuation or pause word) between chunks.
    fn mark(&mut self, m: u8, out: &mut Vec<Hit>) {
        if self.n == 0 || self.repeat.is_some() {
            self.end(out);
            return;
        }
        self.gap_marks += 1;
        if self.gap_marks > MAX_GAP_MARKS {
            self.end(out);
            return;
        }
        self.gap_sep = match self.gap_sep {
            0 => m,
            s if s == m => s,
            b'(' if m == b'-' => b'(', // "(415)-555"
            _ => b'm',
        };
    }

    /// A punctuation byte at `pos`. `glued_left`: no whitespace between it and the previous
    /// alphanumeric token; `next`: the byte after it.
    pub(crate) fn punct(
        &mut self,
        p: u8,
        pos: usize,
        glued_left: bool,
        next: u8,
        out: &mut Vec<Hit>,
    ) {
        match p {
            b'(' | b')' => {
                if self.n == 0 {
                    self.end(out);
                    if p == b'(' && next.is_ascii_digit() {
                        self.lead = Some((pos, false));
                    }
                } else {
                    self.mark(b'(', out);
                }
            }
            b'-' | b'.' => {
                if self.n == 0 {
                    let tainted = glued_left;
                    self.end(out);
                    self.no_start_next = tainted;
                } else {
                    self.mark(p, out);
                }
            }
            // A comma glued to digits on both sides is a thousands separator: an amount.
            b',' if !next.is_ascii_digit() => self.mark(b',', out),
            b'+' if next.is_ascii_digit() => {
                self.end(out);
                self.lead = Some((pos, true));
            }
            _ => self.end(out),
        }
    }

    /// A token mixing letters and digits, glued by one `-` or `.` to the run's last written
    /// digits (`40936093-7735-2800-1334-16d45f1e820d`: a UUID, an order id): the digits are part
    /// of an identifier, not a number, and the run is dropped unread. Ends the run either way.
    pub(crate) fn end_before_identifier(&mut self, out: &mut Vec<Hit>) {
        let joined = !self.gap_ws && self.gap_marks == 1 && matches!(self.gap_sep, b'-' | b'.');
        if joined && self.n > 0 && self.chunks[self.n - 1].written {
            self.n = 0;
        }
        self.end(out);
    }

    /// Ends the run: evaluates it and resets.
    pub(crate) fn end(&mut self, out: &mut Vec<Hit>) {
        // Digit groups that continue an identifier, joined by `-` or `.` alone, are its parts.
        if self.identifier
            && self.chunks[..self.n]
                .iter()
                .all(|c| c.written && matches!(c.sep, 0 | b'-' | b'.'))
        {
            self.n = 0;
        }
        self.identifier = false;
        self.identifier_next = false;
        if self.n > 0 && self.nd >= MIN_DIGITS {
            self.evaluate(out);
        }
        self.n = 0;
        self.nd = 0;
        self.lead = None;
        self.repeat = None;
        self.no_start_next = false;
        self.reset_gap();
    }

    fn evaluate(&self, out: &mut Vec<Hit>) {
        let m = self.n;
        // prefix[k] = digits in chunks[..k]
        let mut prefix = [0u16; MAX_CHUNKS + 1];
        for k in 0..m {
            prefix[k + 1] = prefix[k] + u16::from(self.chunks[k].dn);
        }
        let mut wins: [(usize, usize, PiiKind); 16] = [(0, 0, PiiKind::Ssn); 16];
        let mut nw = 0;
        let mut stack: [(usize, usize); 32] = [(0, 0); 32];
        let mut ns = 1;
        stack[0] = (0, m);
        while ns > 0 {
            ns -= 1;
            let (lo, hi) = stack[ns];
            if prefix[hi] - prefix[lo] < 7 {
                continue;
            }
            let mut best: Option<(usize, usize, PiiKind, u16)> = None;
            for i in lo..hi {
                if self.chunks[i].no_start {
                    continue;
                }
                for j in (i + 1..=hi).rev() {
                    let nd = prefix[j] - prefix[i];
                    if nd > 19 {
                        continue;
                    }
                    if nd < 7 || best.is_some_and(|b| b.3 >= nd) {
                        break;
                    }
                    let written = self.chunks[i..j].iter().all(|c| c.written);
                    if written && !self.delimited(i, j, lo, hi) {
                        continue;
                    }
                    if let Some(kind) = self.classify(i, j, &prefix) {
                        best = Some((i, j, kind, nd));
                        break;
                    }
                }
            }
            if let Some((i, j, kind, _)) = best {
                if nw < wins.len() {
                    wins[nw] = (i, j, kind);
                    nw += 1;
                }
                if ns + 2 <= stack.len() {
                    stack[ns] = (lo, i);
                    stack[ns + 1] = (j, hi);
                    ns += 2;
                }
            }
        }
        let wins = &mut wins[..nw];
        wins.sort_unstable_by_key(|w| w.0);
        let mut prev_end = 0;
        for w in 0..wins.len() {
            let (mut i, mut j, kind) = wins[w];
            let next_start = if w + 1 < wins.len() { wins[w + 1].0 } else { m };
            if self.absorbable(prev_end, i) {
                i = prev_end;
            }
            if self.absorbable(j, next_start) {
                j = next_start;
            }
            prev_end = j;
            out.push(Hit {
                kind,
                start: self.chunks[i].lead,
                end: self.chunks[j - 1].end,
            });
        }
    }

    /// Spoken leftover chunks `[a, b)` next to a window, which the window takes: a spoken number
    /// is never cut in two with half of it left readable.
    fn absorbable(&self, a: usize, b: usize) -> bool {
        a < b && self.chunks[a..b].iter().all(|c| !c.written)
    }

    /// A written window must be delimited at least as strongly as it is grouped inside:
    /// in `078-051121 07805-1121` the space separates two numbers, the dashes group digits.
    fn delimited(&self, i: usize, j: usize, lo: usize, hi: usize) -> bool {
        let inner = self.chunks[i + 1..j]
            .iter()
            .map(|c| strength(c.sep))
            .max()
            .unwrap_or(0);
        let before = if i > lo {
            strength(self.chunks[i].sep)
        } else {
            u8::MAX
        };
        let after = if j < hi {
            strength(self.chunks[j].sep)
        } else {
            u8::MAX
        };
        inner <= before.min(after)
    }

    fn classify(&self, i: usize, j: usize, prefix: &[u16]) -> Option<PiiKind> {
        let d = &self.digits[prefix[i] as usize..prefix[j] as usize];
        let n = d.len();
        let cs = &self.chunks[i..j];
        let written = cs.iter().all(|c| c.written);
        let plus = cs[0].plus;
        if !plus && (13..=19).contains(&n) && card_prefix_ok(d) && luhn_digits(d) {
            return Some(PiiKind::CreditCard);
        }
        if plus {
            return ((8..=15).contains(&n) && d[0] != 0).then_some(PiiKind::Phone);
        }
        match n {
            7 => (written
                && cs.len() == 2
                && cs[0].dn == 3
                && matches!(cs[1].sep, b'-' | b'.')
                && d[0] >= 2)
                .then_some(PiiKind::Phone),
            9 => {
                let shape = ssn_shape(cs);
                if (!written || shape) && ssn_valid(d) {
                    Some(PiiKind::Ssn)
                } else if written
                    && !shape
                    && cs.len() >= 2
                    && d[0] == 0
                    && (2..=4).contains(&cs[0].dn)
                {
                    Some(PiiKind::Phone) // national format with trunk prefix: 09-7625400
                } else {
                    None
                }
            }
            10 => Some(PiiKind::Phone),
            11 => (d[0] <= 1).then_some(PiiKind::Phone),
            12..=15 => {
                let intl_prefix = d[..2] == [0, 0] || d[..3] == [0, 1, 1];
                let cc_then_national = written
                    && cs.len() >= 2
                    && cs[0].dn <= 3
                    && n - cs[0].dn as usize == 10
                    && d[0] != 0;
                (intl_prefix || cc_then_national).then_some(PiiKind::Phone)
            }
            _ => None,
        }
    }
}

/// How strongly a separator divides digit groups: grouping marks < spaces < pauses and commas.
fn strength(sep: u8) -> u8 {
    match sep {
        b'-' | b'.' | b'(' => 1,
        b' ' | 0 => 2,
        _ => 3,
    }
}

/// A finding of the digit scanner, in byte offsets.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hit {
    pub kind: PiiKind,
    pub start: usize,
    pub end: usize,
}
