//! The `sample` of a rejected document: enough of its start to see how it is broken, never what
//! it says.
//!
//! A rejected document is raw JSON that may hold anything a transcript holds, in forms the
//! redactor cannot see whole: a card number split over `words[]` entries (`{"word":"4111"},…`),
//! digits or an `@` written as `\u` escapes, PII cut in two by the sample's end. So:
//!
//! 1. More than the sample is read ([`READ_BYTES`]), so PII straddling the cut is redacted whole.
//! 2. `\uXXXX` escapes of ASCII characters, and `\/`, are read as the characters they stand for.
//! 3. The redactor runs over that text, as over any text.
//! 4. What it may have missed in raw JSON is masked: every ASCII digit becomes `#`, and every
//!    token holding an `@` becomes the email tag.
//! 5. The result is cut to [`SAMPLE_BYTES`] on a character boundary, with `…` when anything was
//!    left out.
//!
//! With redaction off (`redact=False`), the sample is the document's first bytes as they are.
//! What is left: a name or spoken digits split over `words[]` entries of a broken document.

use crate::redact::{PiiKind, Redactor};

/// The longest sample, in bytes (before the `…`).
pub const SAMPLE_BYTES: usize = 160;

/// Bytes read for a sample: longer than any PII the redactor finds (spoken card numbers run to
/// about 130 bytes), so whatever the cut falls in is whole when redacted.
const READ_BYTES: usize = SAMPLE_BYTES + 256;

/// The sample of `doc` (see the module documentation).
pub fn sample(redactor: Option<&Redactor>, doc: &[u8]) -> String {
    let Some(redactor) = redactor else {
        return cut(
            String::from_utf8_lossy(&doc[..doc.len().min(SAMPLE_BYTES)]).into_owned(),
            doc.len() > SAMPLE_BYTES,
        );
    };
    let read = &doc[..doc.len().min(READ_BYTES)];
    let text = unescape_ascii(&String::from_utf8_lossy(read));
    let (redacted, _) = redactor.redact(&text);
    let masked = mask(&redacted, redactor.tag(PiiKind::Email));
    let longer = doc.len() > read.len() || masked.len() > SAMPLE_BYTES;
    cut(masked, longer)
}

/// `s` cut to [`SAMPLE_BYTES`] on a character boundary, with `…` when `longer`.
fn cut(mut s: String, longer: bool) -> String {
    let mut end = s.len().min(SAMPLE_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    if longer {
        s.push('…');
    }
    s
}

/// `\uXXXX` escapes of ASCII characters other than controls, `"` and `\`, and `\/`, replaced by
/// the characters: `4\u0031` is `41`, `a\u0040b` is `a@b`. Everything else is left as written.
fn unescape_ascii(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while let Some(at) = memchr::memchr(b'\\', &b[i..]).map(|k| i + k) {
        let plain = match b.get(at + 1) {
            Some(b'/') => Some((b'/', 2)),
            Some(b'u') => b
                .get(at + 2..at + 6)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .filter(|c| (0x20..0x7f).contains(c) && *c != b'"' && *c != b'\\')
                .map(|c| (c, 6)),
            _ => None,
        };
        match plain {
            Some((c, len)) => {
                out.push_str(&text[copied..at]);
                out.push(char::from(c));
                i = at + len;
                copied = i;
            }
            // An escape kept as written: skip its backslash and the character it escapes.
            None => i = at + 2,
        }
        if i >= b.len() {
            break;
        }
    }
    out.push_str(&text[copied.min(text.len())..]);
    out
}

/// Every ASCII digit as `#`, and every token holding an `@` as `email_tag`. A token runs between
/// whitespace and JSON's punctuation (`"{}[],:`).
fn mask(text: &str, email_tag: &str) -> String {
    let is_edge = |c: char| c.is_whitespace() || "\"{}[],:".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let token_len = rest.find(is_edge).unwrap_or(rest.len());
        let (token, after) = rest.split_at(token_len);
        if token.contains('@') {
            out.push_str(email_tag);
        } else {
            out.extend(
                token
                    .chars()
                    .map(|c| if c.is_ascii_digit() { '#' } else { c }),
            );
        }
        let mut edge = after.chars();
        if let Some(c) = edge.next() {
            out.push(c);
        }
        rest = edge.as_str();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::RedactorConfig;

    fn redactor() -> Redactor {
        Redactor::new(RedactorConfig::default()).expect("default redactor")
    }

    fn leaks(sample: &str) -> bool {
        sample.bytes().any(|b| b.is_ascii_digit())
            || sample.contains('@')
            || sample.contains("smith")
    }

    #[test]
    fn pii_across_the_cut_is_redacted_whole() {
        let mut doc = br#"{"topicName":"v2.conversations.c1.transcription","eventBody":{"transcripts":[{"alternatives":[{"transcript":"well my card is "#.to_vec();
        doc.resize(SAMPLE_BYTES - 8, b' ');
        doc.extend_from_slice(b"4111 1111 1111 1111 and mail john.smith@example.com\"}]}]}");
        doc.push(b'{');
        let s = sample(Some(&redactor()), &doc);
        assert!(!leaks(&s), "{s}");
        assert!(s.ends_with('…'));
        assert!(s.len() <= SAMPLE_BYTES + '…'.len_utf8());
    }

    #[test]
    fn split_words_and_escapes_are_masked() {
        let r = redactor();
        for doc in [
            &br#"{"words":[{"word":"4111"},{"word":"1111"},{"word":"1111"},{"word":"1111"}"#[..],
            br#"{"transcript":"4\u0031\u0031\u0031 1111 1111 1111"#,
            br#"{"transcript":"mail john.smith\u0040example.com","#,
            br#"{"transcript":"mail john.smith@example"#,
        ] {
            let s = sample(Some(&r), doc);
            assert!(!leaks(&s), "{s}");
        }
    }

    #[test]
    fn keys_and_shape_stay_readable() {
        let s = sample(
            Some(&redactor()),
            br#"{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"},"#,
        );
        assert_eq!(
            s,
            r#"{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"},"#
        );
        let s = sample(Some(&redactor()), br#"{"offsetMs":12,"a\"b":"\u00e9\n"}"#);
        assert_eq!(s, r#"{"offsetMs":##,"a\"b":"\u##e#\n"}"#);
    }

    #[test]
    fn without_redaction_the_sample_is_the_start() {
        let doc = b"[1,".repeat(100);
        let s = sample(None, &doc);
        assert_eq!(s.len(), SAMPLE_BYTES + '…'.len_utf8());
        assert!(s.starts_with("[1,[1,"));
    }

    #[test]
    fn cuts_on_a_character_boundary() {
        let doc = "é".repeat(300);
        for r in [None, Some(redactor())] {
            let s = sample(r.as_ref(), doc.as_bytes());
            assert!(s.len() <= SAMPLE_BYTES + '…'.len_utf8());
            assert!(s.starts_with("éé"));
        }
    }
}
