//! Skipping the rest of a document rejected for a limit (`document_too_large`, `too_deep`), so
//! that nothing inside it is mistaken for a document of its own. The policy of when to discard
//! and when to resync belongs to [`FrameAssembler`](super::FrameAssembler).

use memchr::memchr2;

// Theory of operation.
//
// A document rejected for a limit was valid up to the point of rejection, so its depth and
// whether that point lies inside a string are known exactly. From there on nothing is validated
// or kept: `Discard` only follows what decides where the document ends, which is
//
//   Outside  outside strings: `"` enters a string, `{` and `[` count up, `}` and `]` count down,
//            every other byte is skipped; the document ends when the count is back to zero
//   InString inside a string: only `"` (leave it, ending the document if the count is zero: a
//            top-level string) and `\` (the next byte is escaped) matter; runs of other bytes are
//            skipped with `memchr`
//   Escaped  after a `\` inside a string: the byte is skipped whatever it is
//
// The state is a count and two flags, so it costs nothing to keep across chunks, and every byte
// is looked at once. A closer that does not match its opener is not noticed: the count is all
// that matters for finding the end, and the document has been rejected already.

/// Where the unvalidated rest of a rejected document stands; see the theory of operation above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Discard {
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// The depth it started at, and whether coming back to it ends the discard too (see
    /// [`Discard::give_up`]).
    start_depth: usize,
    gave_up: bool,
}

impl Discard {
    /// Continues a document at `depth` open containers, inside a string or not, right after a
    /// backslash in it or not. `None` when nothing is open (a top-level number or literal), as
    /// then there is nothing to skip to the end of.
    pub(super) fn new(depth: usize, in_string: bool, escaped: bool) -> Option<Self> {
        (depth > 0 || in_string).then_some(Self {
            depth,
            in_string,
            escaped: in_string && escaped,
            start_depth: depth,
            gave_up: false,
        })
    }

    /// The document was cut short, so what follows is other documents: from here on a closer
    /// that brings the count back to the depth it started at (the end of one of them) also ends
    /// the discard.
    pub(super) fn give_up(&mut self) {
        self.gave_up = true;
    }

    /// Skips over `buf[i..]`. Returns the index one past the byte that ends the document, or
    /// `None` if it is still open at the end of `buf` (the state is kept for the next chunk).
    pub(super) fn scan(&mut self, buf: &[u8], mut i: usize) -> Option<usize> {
        while i < buf.len() {
            if self.escaped {
                self.escaped = false;
                i += 1;
            } else if self.in_string {
                i += memchr2(b'"', b'\\', &buf[i..])?;
                if buf[i] == b'\\' {
                    self.escaped = true;
                } else {
                    self.in_string = false;
                    if self.depth == 0 {
                        return Some(i + 1);
                    }
                }
                i += 1;
            } else {
                match buf[i] {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth = self.depth.saturating_sub(1);
                        if self.depth == 0 || (self.gave_up && self.depth <= self.start_depth) {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::Discard;

    /// Runs a discard over `chunks`; returns where it ended as (chunk index, index in chunk).
    fn end(start: Discard, chunks: &[&[u8]]) -> Option<(usize, usize)> {
        let mut discard = start;
        chunks
            .iter()
            .enumerate()
            .find_map(|(n, chunk)| discard.scan(chunk, 0).map(|at| (n, at)))
    }

    #[test]
    fn counts_brackets_outside_strings_only() {
        let open = Discard::new(1, false, false).unwrap();
        assert_eq!(end(open, &[br#",[{"]}":"\"]"}],1]x"#]), Some((0, 18)));
        assert_eq!(end(open, &[br#"["]"#]), None);
    }

    #[test]
    fn a_top_level_string_ends_at_its_closing_quote() {
        let in_string = Discard::new(0, true, false).unwrap();
        assert_eq!(end(in_string, &[br#"ab\"c"[1]"#]), Some((0, 6)));
        let escaped = Discard::new(0, true, true).unwrap();
        assert_eq!(end(escaped, &[br#""x" "#]), Some((0, 3)));
    }

    #[test]
    fn state_survives_any_chunk_boundary() {
        let input: &[u8] = br#"{"a\\\"[":["}"]}] [1]"#;
        let whole = end(Discard::new(1, false, false).unwrap(), &[input]);
        assert_eq!(whole, Some((0, 17)));
        for cut in 0..=input.len() {
            let (head, tail) = input.split_at(cut);
            let got = end(Discard::new(1, false, false).unwrap(), &[head, tail]);
            let flat = got.map(|(n, at)| if n == 0 { at } else { cut + at });
            assert_eq!(flat, Some(17), "cut at {cut}");
        }
    }

    #[test]
    fn nothing_open_is_nothing_to_discard() {
        assert_eq!(Discard::new(0, false, false), None);
        assert_eq!(Discard::new(0, false, true), None);
    }
}
