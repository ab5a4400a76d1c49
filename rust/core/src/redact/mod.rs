//! PII redaction for transcript text: SSNs, phone numbers, emails and payment cards, written
//! with digits (`decoratedTranscript`) or spoken as words (`transcript`), person names (opt-in:
//! spelled or given after a cue such as "my name is"), plus custom patterns.
//!
//! One pass over the bytes, no regular expressions for the built-in kinds (see [`scan`] for the
//! loop, [`digits`] for the number rules, [`email`] for addresses, [`name`] for person names).
//! Custom patterns, when configured, run with the `regex` crate over the whole text.
//!
//! ```
//! use gcstream_core::redact::{Redactor, RedactorConfig, PiiKind};
//!
//! let r = Redactor::new(RedactorConfig::default()).unwrap();
//! let (text, found) = r.redact("card four one one one one one one one one one one one one one one one thanks");
//! assert_eq!(text, "card [CREDIT_CARD] thanks");
//! assert_eq!(found[0].kind, PiiKind::CreditCard);
//! assert_eq!(r.redact("call me at five thirty").0, "call me at five thirty");
//! ```

mod digits;
mod email;
mod lex;
mod name;
mod rules;
mod scan;

use std::collections::HashMap;
use std::fmt;

use digits::Hit;
pub(crate) use lex::is_dash;
pub use rules::luhn_valid;

/// A kind of personal data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PiiKind {
    /// US Social Security number.
    Ssn,
    /// Phone number, national (NANP, trunk-prefixed) or international.
    Phone,
    /// Email address.
    Email,
    /// Payment card number (brand prefix, 13–19 digits, Luhn).
    CreditCard,
    /// A person's name, given with a cue ("my name is …") or spelled ("smith s m i t h").
    /// Not enabled by [`RedactorConfig::default`]: see [`PiiKind::DEFAULT`].
    PersonName,
    /// The custom pattern with this index in [`RedactorConfig::custom`].
    Custom(u16),
}

impl PiiKind {
    /// Every built-in kind.
    pub const BUILTIN: [PiiKind; 5] = [
        PiiKind::Ssn,
        PiiKind::Phone,
        PiiKind::Email,
        PiiKind::CreditCard,
        PiiKind::PersonName,
    ];

    /// The kinds a default [`RedactorConfig`] enables: the four with checkable structure.
    /// Person names are found by cues rather than structure, so they are opt-in.
    pub const DEFAULT: [PiiKind; 4] = [
        PiiKind::Ssn,
        PiiKind::Phone,
        PiiKind::Email,
        PiiKind::CreditCard,
    ];

    /// `"ssn"`, `"phone"`, `"email"`, `"credit_card"`, `"person_name"`; `"custom"` for a custom
    /// kind (its configured name comes from [`Redactor::kind_name`]).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::Ssn => "ssn",
            PiiKind::Phone => "phone",
            PiiKind::Email => "email",
            PiiKind::CreditCard => "credit_card",
            PiiKind::PersonName => "person_name",
            PiiKind::Custom(_) => "custom",
        }
    }

    fn builtin_index(self) -> Option<usize> {
        match self {
            PiiKind::Ssn => Some(0),
            PiiKind::Phone => Some(1),
            PiiKind::Email => Some(2),
            PiiKind::CreditCard => Some(3),
            PiiKind::PersonName => Some(4),
            PiiKind::Custom(_) => None,
        }
    }
}

/// A custom pattern: a `regex` crate expression redacted under `name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomPattern {
    /// Kind name reported in findings and metrics; unique, not a built-in name.
    pub name: String,
    /// Regular expression (`regex` crate syntax); must not match the empty string.
    pub pattern: String,
    /// Replacement text; defaults to `[NAME]` in upper case.
    pub tag: Option<String>,
}

/// What a [`Redactor`] looks for. Validated once by [`Redactor::new`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedactorConfig {
    /// Enabled built-in kinds (not `Custom`); the default is [`PiiKind::DEFAULT`].
    pub kinds: Vec<PiiKind>,
    /// Kind name → replacement tag, overriding the defaults (`[SSN]`, `[PHONE]`, `[EMAIL]`,
    /// `[CREDIT_CARD]`, `[PERSON_NAME]`, or a custom pattern's tag).
    pub tags: HashMap<String, String>,
    /// Custom patterns, checked in order.
    pub custom: Vec<CustomPattern>,
    /// Recognise spoken forms ("four one one one", "john at gmail dot com"). Person names are
    /// found in both forms either way.
    pub spoken: bool,
}

impl Default for RedactorConfig {
    fn default() -> Self {
        Self {
            kinds: PiiKind::DEFAULT.to_vec(),
            tags: HashMap::new(),
            custom: Vec::new(),
            spoken: true,
        }
    }
}

/// A configuration the redactor cannot run with. `field` names the offending setting
/// (`"custom[1].pattern"`, `"tags.phone"`, …); the caller fixes it and builds again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedactConfigError {
    /// What is wrong, in a sentence.
    pub message: String,
    /// The configuration field at fault.
    pub field: String,
}

impl RedactConfigError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            field: field.into(),
        }
    }
}

impl fmt::Display for RedactConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for RedactConfigError {}

/// One piece of personal data: its kind and byte span `[start, end)` in the scanned text.
/// Never the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Finding {
    /// What was found.
    pub kind: PiiKind,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
}

struct Custom {
    name: String,
    regex: regex::Regex,
    tag: String,
}

/// The redaction engine. Build once with [`Redactor::new`], then call [`Redactor::redact`],
/// [`Redactor::scan`], [`Redactor::scan_tokens`] or [`Redactor::scan_joint`] per text field;
/// it holds no per-text state and is `Send + Sync`.
pub struct Redactor {
    enabled: [bool; 5],
    tags: [String; 5],
    custom: Vec<Custom>,
    spoken: bool,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("enabled", &self.enabled)
            .field("tags", &self.tags)
            .field(
                "custom",
                &self.custom.iter().map(|c| &c.name).collect::<Vec<_>>(),
            )
            .field("spoken", &self.spoken)
            .finish()
    }
}

const DEFAULT_TAGS: [&str; 5] = [
    "[SSN]",
    "[PHONE]",
    "[EMAIL]",
    "[CREDIT_CARD]",
    "[PERSON_NAME]",
];

impl Redactor {
    /// Validates `config` and builds the redactor.
    ///
    /// # Errors
    /// A [`RedactConfigError`] naming the field when `kinds` lists a custom kind, a custom
    /// pattern has an empty, duplicate or built-in name, does not compile, or matches the empty
    /// string, a tag is empty or names an unknown kind, or a tag would itself be redacted.
    pub fn new(config: RedactorConfig) -> Result<Self, RedactConfigError> {
        let mut enabled = [false; 5];
        for k in &config.kinds {
            match k.builtin_index() {
                Some(i) => enabled[i] = true,
                None => {
                    return Err(RedactConfigError::new(
                        "kinds",
                        "custom kinds are enabled through `custom`, not `kinds`",
                    ));
                }
            }
        }
        if config.custom.len() > usize::from(u16::MAX) {
            return Err(RedactConfigError::new("custom", "too many custom patterns"));
        }
        let mut custom: Vec<Custom> = Vec::with_capacity(config.custom.len());
        for (i, c) in config.custom.into_iter().enumerate() {
            let field = |f: &str| format!("custom[{i}].{f}");
            if c.name.trim().is_empty() {
                return Err(RedactConfigError::new(field("name"), "the name is empty"));
            }
            if PiiKind::BUILTIN.iter().any(|k| k.as_str() == c.name) || c.name == "custom" {
                return Err(RedactConfigError::new(
                    field("name"),
                    format!("`{}` is a built-in kind name", c.name),
                ));
            }
            if custom.iter().any(|o| o.name == c.name) {
                return Err(RedactConfigError::new(
                    field("name"),
                    format!("`{}` is used by an earlier pattern", c.name),
                ));
            }
            let regex = regex::Regex::new(&c.pattern).map_err(|e| {
                RedactConfigError::new(
                    field("pattern"),
                    format!(
                        "pattern `{}` for `{}` does not compile: {}",
                        c.pattern,
                        c.name,
                        regex_error(&e)
                    ),
                )
            })?;
            if regex.is_match("") {
                return Err(RedactConfigError::new(
                    field("pattern"),
                    format!(
                        "pattern `{}` for `{}` matches the empty string",
                        c.pattern, c.name
                    ),
                ));
            }
            let tag = c
                .tag
                .clone()
                .unwrap_or_else(|| format!("[{}]", c.name.to_uppercase()));
            if tag.is_empty() {
                return Err(RedactConfigError::new(field("tag"), "the tag is empty"));
            }
            custom.push(Custom {
                name: c.name.clone(),
                regex,
                tag,
            });
        }
        let mut tags = DEFAULT_TAGS.map(String::from);
        for (name, tag) in config.tags {
            let field = format!("tags.{name}");
            if tag.is_empty() {
                return Err(RedactConfigError::new(field, "the tag is empty"));
            }
            if let Some(i) = PiiKind::BUILTIN.iter().position(|k| k.as_str() == name) {
                tags[i] = tag;
            } else if let Some(c) = custom.iter_mut().find(|c| c.name == name) {
                c.tag = tag;
            } else {
                return Err(RedactConfigError::new(
                    field,
                    format!("`{name}` is not a built-in kind or a custom pattern name"),
                ));
            }
        }
        let r = Self {
            enabled,
            tags,
            custom,
            spoken: config.spoken,
        };
        // Redaction must be idempotent: no tag may be found again.
        let all_tags = r
            .tags
            .iter()
            .map(|t| ("", t))
            .chain(r.custom.iter().map(|c| (c.name.as_str(), &c.tag)));
        for (i, (cname, tag)) in all_tags.enumerate() {
            if let Some(f) = r.scan(tag).first() {
                let owner = if i < PiiKind::BUILTIN.len() {
                    PiiKind::BUILTIN[i].as_str()
                } else {
                    cname
                };
                return Err(RedactConfigError::new(
                    format!("tags.{owner}"),
                    format!(
                        "the tag `{tag}` would itself be redacted as `{}`",
                        r.kind_name(f.kind)
                    ),
                ));
            }
        }
        Ok(r)
    }

    /// The name of `kind`: `"ssn"`, `"phone"`, `"email"`, `"credit_card"`, `"person_name"`, or a
    /// custom pattern's name (`"custom"` for an index this redactor does not have).
    #[must_use]
    pub fn kind_name(&self, kind: PiiKind) -> &str {
        match kind {
            PiiKind::Custom(i) => self
                .custom
                .get(usize::from(i))
                .map_or("custom", |c| c.name.as_str()),
            k => k.as_str(),
        }
    }

    /// The replacement text for `kind`.
    #[must_use]
    pub fn tag(&self, kind: PiiKind) -> &str {
        match kind.builtin_index() {
            Some(i) => &self.tags[i],
            None => match kind {
                PiiKind::Custom(i) => self
                    .custom
                    .get(usize::from(i))
                    .map_or("[REDACTED]", |c| c.tag.as_str()),
                _ => "[REDACTED]",
            },
        }
    }

    /// True when `kind` is enabled (a custom kind: when this redactor has that pattern).
    #[must_use]
    pub fn detects(&self, kind: PiiKind) -> bool {
        match kind.builtin_index() {
            Some(i) => self.enabled[i],
            None => matches!(kind, PiiKind::Custom(i) if usize::from(i) < self.custom.len()),
        }
    }

    /// Finds the personal data in `text`: byte spans, sorted, not overlapping (overlapping
    /// matches are merged into one span with the kind of the longer match).
    #[must_use]
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        self.scan_answering(text, &[])
    }

    /// [`Redactor::scan`], where `answers` are the byte offsets at which someone starts to answer
    /// a request for their name (asked in another utterance, e.g. by the other party): there,
    /// "it is X Y" / "it's X Y" gives a name. Only person names use `answers`.
    #[must_use]
    pub fn scan_answering(&self, text: &str, answers: &[usize]) -> Vec<Finding> {
        let mut hits: Vec<Hit> = Vec::new();
        let opts = scan::Opts {
            spoken: self.spoken,
            digits: self.enabled[0] || self.enabled[1] || self.enabled[3],
            email: self.enabled[2],
            names: self.enabled[4],
        };
        let mut spots = Vec::new();
        if opts.digits || opts.email {
            scan::scan_builtin(text.as_bytes(), opts, &mut hits, &mut spots);
            hits.retain(|h| h.kind.builtin_index().is_some_and(|i| self.enabled[i]));
        } else if opts.names {
            name::spots(text.as_bytes(), &mut spots);
        }
        if self.enabled[4] {
            name::scan_names(text.as_bytes(), spots, answers, &mut hits);
        }
        for (i, c) in self.custom.iter().enumerate() {
            let kind = PiiKind::Custom(i as u16);
            hits.extend(c.regex.find_iter(text).map(|m| Hit {
                kind,
                start: m.start(),
                end: m.end(),
            }));
        }
        merge(hits)
    }

    /// Replaces every finding in `text` by its tag. Findings refer to spans of the original
    /// `text`. Without findings the text comes back as one copy.
    #[must_use]
    pub fn redact(&self, text: &str) -> (String, Vec<Finding>) {
        let found = self.scan(text);
        (self.replace(text, &found), found)
    }

    /// `text` with each finding (sorted, not overlapping, as [`Redactor::scan`] returns them)
    /// replaced by its kind's tag.
    #[must_use]
    pub fn replace(&self, text: &str, found: &[Finding]) -> String {
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for f in found {
            out.push_str(&text[at..f.start]);
            out.push_str(self.tag(f.kind));
            at = f.end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// Scans a token list (Genesys `words[]` / `decoratedWords[]`) joined by single spaces and
    /// returns, per token, the kind of the finding it is part of (a token partly inside a
    /// finding counts). The caller replaces those tokens and keeps their timings.
    #[must_use]
    pub fn scan_tokens(&self, tokens: &[&str]) -> Vec<Option<PiiKind>> {
        self.scan_tokens_answering(tokens, &[])
    }

    /// [`Redactor::scan_tokens`] with answers to a name request starting at the given token
    /// indices (see [`Redactor::scan_answering`]).
    #[must_use]
    pub fn scan_tokens_answering(
        &self,
        tokens: &[&str],
        answers: &[usize],
    ) -> Vec<Option<PiiKind>> {
        let mut joined = String::with_capacity(tokens.iter().map(|t| t.len() + 1).sum());
        let mut spans = Vec::with_capacity(tokens.len());
        for (i, t) in tokens.iter().enumerate() {
            if i > 0 {
                joined.push(' ');
            }
            spans.push((joined.len(), joined.len() + t.len()));
            joined.push_str(t);
        }
        let answers: Vec<usize> = answers
            .iter()
            .filter_map(|&i| spans.get(i).map(|s| s.0))
            .collect();
        let found = self.scan_answering(&joined, &answers);
        let mut out = vec![None; tokens.len()];
        let mut f = 0;
        for (i, &(s, e)) in spans.iter().enumerate() {
            while f < found.len() && found[f].end <= s {
                f += 1;
            }
            // Empty tokens are inside a finding only when strictly surrounded by it.
            if f < found.len() && found[f].start < e.max(s + 1) && found[f].end > s {
                out[i] = Some(found[f].kind);
            }
        }
        out
    }

    /// Scans `prev` and `cur` as if joined by one space: `prev` is the tail of the earlier
    /// utterance(s) on the same conversation channel, so an entity spoken across the boundary
    /// is found. Returns the findings that intersect `prev` (spans in `prev`) and those that
    /// intersect `cur` (spans in `cur`); an entity across the boundary appears in both.
    #[must_use]
    pub fn scan_joint(&self, prev: &str, cur: &str) -> (Vec<Finding>, Vec<Finding>) {
        let mut joined = String::with_capacity(prev.len() + 1 + cur.len());
        joined.push_str(prev);
        joined.push(' ');
        joined.push_str(cur);
        let off = prev.len() + 1;
        let mut a = Vec::new();
        let mut b = Vec::new();
        for f in self.scan(&joined) {
            if f.start < prev.len() {
                a.push(Finding {
                    kind: f.kind,
                    start: f.start,
                    end: f.end.min(prev.len()),
                });
            }
            if f.end > off {
                b.push(Finding {
                    kind: f.kind,
                    start: f.start.max(off) - off,
                    end: f.end - off,
                });
            }
        }
        (a, b)
    }
}

impl Redactor {
    /// True when person names are enabled and `text` asks for one ("can i have your first and
    /// last name", "who am i speaking with"): the other party's next words may give it.
    #[must_use]
    pub fn asks_for_name(&self, text: &str) -> bool {
        self.enabled[4] && name::asks_for_name(text.as_bytes())
    }

    /// True when person names are enabled and `text` ends in a cue that the next utterance may
    /// complete ("my name is", "last name is", "that is", "it is john smith" before a spelling).
    #[must_use]
    pub fn name_open(&self, text: &str) -> bool {
        self.enabled[4] && name::ends_open(text.as_bytes())
    }

    /// True when person names are enabled and `text` starts by spelling letters ("s m i t h",
    /// "smith s m i t h"): the end of the previous utterance is context for it.
    #[must_use]
    pub fn name_continues(&self, text: &str) -> bool {
        self.enabled[4] && name::starts_spelling(text.as_bytes())
    }

    /// Where a name still being spelled at the end of interim text starts ("that is smith s m
    /// i" → the offset of "smith"), when person names are enabled.
    #[must_use]
    pub fn name_pending(&self, text: &str) -> Option<usize> {
        if self.enabled[4] {
            name::pending_start(text.as_bytes())
        } else {
            None
        }
    }
}

/// Sorts hits and merges overlapping ones; the merged span takes the kind of its longest hit.
fn merge(mut hits: Vec<Hit>) -> Vec<Finding> {
    hits.sort_unstable_by_key(|h| (h.start, std::cmp::Reverse(h.end)));
    let mut out: Vec<Finding> = Vec::with_capacity(hits.len());
    let mut longest = 0;
    for h in hits {
        if h.start >= h.end {
            continue;
        }
        match out.last_mut() {
            Some(last) if h.start < last.end => {
                if h.end - h.start > longest {
                    longest = h.end - h.start;
                    last.kind = h.kind;
                }
                last.end = last.end.max(h.end);
            }
            _ => {
                longest = h.end - h.start;
                out.push(Finding {
                    kind: h.kind,
                    start: h.start,
                    end: h.end,
                });
            }
        }
    }
    out
}

/// The regex crate's error on one line, for a CLI message or a log line. A syntax error is
/// written as the pattern, a line of carets under the culprit and `error: {reason}`; this gives
/// `{reason} (at character {n})` instead.
fn regex_error(e: &regex::Error) -> String {
    let text = e.to_string();
    let Some(reason) = text.lines().find_map(|l| l.strip_prefix("error: ")) else {
        return text.split_whitespace().collect::<Vec<_>>().join(" ");
    };
    let mut lines = text.lines().skip_while(|l| !l.starts_with("    "));
    let caret = lines.nth(1).filter(|l| l.trim_start().starts_with('^'));
    match caret {
        // The pattern and the carets are indented by four spaces.
        Some(l) => format!(
            "{reason} (at character {})",
            l.chars().take_while(|c| *c == ' ').count() - 3
        ),
        None => reason.to_owned(),
    }
}
