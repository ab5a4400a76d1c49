//! Redactor behaviour on hand-written transcript sentences: what must be found (with the exact
//! redacted text), what must survive, streaming across utterances, idempotence, configuration.

use std::collections::HashMap;

use gcstream_core::redact::{CustomPattern, PiiKind, Redactor, RedactorConfig, luhn_valid};

fn redactor() -> Redactor {
    Redactor::new(RedactorConfig::default()).expect("default config is valid")
}

/// (input, expected redaction)
const RECALL: &[(&str, &str)] = &[
    // Cards, written and spoken.
    ("my card is 4111 1111 1111 1111", "my card is [CREDIT_CARD]"),
    (
        "card 2223-0031-2200-3222 exp 12/27",
        "card [CREDIT_CARD] exp 12/27",
    ),
    ("it's 3782 822463 10005 ok", "it's [CREDIT_CARD] ok"),
    (
        "four one one one one one one one one one one one one one one one",
        "[CREDIT_CARD]",
    ),
    (
        "yeah it's four double one, uh, one one one one one, um, one one one one one one one one thanks",
        "yeah it's [CREDIT_CARD] thanks",
    ),
    (
        "five five five five five five five five five five five five four four four four",
        "[CREDIT_CARD]",
    ),
    (
        "the number is four oh one two eight eight eight eight eight eight eight eight one eight eight one",
        "the number is [CREDIT_CARD]",
    ),
    (
        "three seven eight two eight two two four six three one double oh oh five",
        "[CREDIT_CARD]",
    ),
    (
        "forty one eleven eleven eleven eleven eleven eleven eleven eleven",
        "[CREDIT_CARD]",
    ),
    // SSNs.
    (
        "ssn is seven double nine one two three double one three",
        "ssn is [SSN]",
    ),
    ("my social is 078-05-1123.", "my social is [SSN]."),
    (
        "social security number one two three, four five, six seven eight one",
        "social security number [SSN]",
    ),
    // Phones.
    (
        "call me at (415) 555-0132 tomorrow",
        "call me at [PHONE] tomorrow",
    ),
    (
        "plus forty four one two three one two three five six seven eight",
        "[PHONE]",
    ),
    (
        "it's one eight hundred five five five one two one two",
        "it's [PHONE]",
    ),
    ("eight hundred five five five one two one two", "[PHONE]"),
    ("four o eight two three two nine thousand", "[PHONE]"),
    (
        "five five five, uh, two three four, dash, five six seven eight",
        "[PHONE]",
    ),
    (
        "area code four one five five five five oh one three two",
        "area code [PHONE]",
    ),
    ("my cell is +44 20 7123 4567.", "my cell is [PHONE]."),
    ("reach me on 555-0132", "reach me on [PHONE]"),
    (
        "nine one four, five five five, twenty three, forty five",
        "[PHONE]",
    ),
    // Emails.
    (
        "my email is john dot smith at gmail dot com",
        "my email is [EMAIL]",
    ),
    ("j o h n dot s m i t h at gmail dot com", "[EMAIL]"),
    ("it's a dot b c at g mail dot com okay", "it's [EMAIL] okay"),
    (
        "send it to John.Smith@Example.co.uk please",
        "send it to [EMAIL] please",
    ),
    (
        "yes bob underscore jones at yahoo dot co dot uk",
        "yes [EMAIL]",
    ),
    ("it's mary one two three at hotmail dot com", "it's [EMAIL]"),
    ("four one x at gmail dot com", "[EMAIL]"),
    ("41x@gmail.com is that right", "[EMAIL] is that right"),
];

/// Ordinary call-centre speech that must come out unchanged.
const PRECISION: &[&str] = &[
    "in twenty nineteen we changed the plan",
    "back in 2019 it was cheaper",
    "it costs $49.99 a month",
    "it's forty nine ninety nine a month",
    "the meeting is at five thirty",
    "i'll call you back at three fifteen tomorrow",
    "we shipped two hundred fifty units",
    "order number twelve",
    "your ticket 4471 is closed",
    "ticket number four four seven one",
    "at the end of the day it's your call",
    "just dot the i's and cross the t's",
    "no one is innocent",
    "one second please",
    "my name is o s c a r",
    "my last name is s m i t h",
    "look at this dot com thing",
    "you can find us at amazon dot com",
    "go to w w w dot example dot com",
    "a 16-digit number 4242 4242 4242 4241 that fails luhn",
    "the amount is $1,234,567,890.00",
    "between 10:30 and 11:45 on 12/25/2019",
    "x eighty six",
    "room five twelve, floor three",
    "it was nineteen ninety nine or two thousand",
    "about three or four hundred dollars",
    "i have two kids one is five and one is nine",
    "the zip is nine four one zero seven",
    "flight 1234 departs at gate 22",
    "version 3.14.159",
    "model a ten eighty p display",
    "invoice 1234567",
    "info@presidio. is not valid",
    "[CREDIT_CARD] [PHONE] [SSN] [EMAIL]",
];

#[test]
fn recall_list() {
    let r = redactor();
    let mut failures = Vec::new();
    for (input, want) in RECALL {
        let (got, _) = r.redact(input);
        if got != *want {
            failures.push(format!("{input:?}\n   want {want:?}\n   got  {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn precision_list() {
    let r = redactor();
    let bad: Vec<String> = PRECISION
        .iter()
        .filter(|&t| !r.scan(t).is_empty())
        .map(|t| format!("{t:?} -> {:?}", r.redact(t).0))
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn kinds_and_spans() {
    let r = redactor();
    let text = "ssn 078-05-1123, card 4111111111111111, mail a@b.io, tel 415-555-0132";
    let kinds: Vec<(PiiKind, &str)> = r
        .scan(text)
        .iter()
        .map(|f| (f.kind, &text[f.start..f.end]))
        .collect();
    assert_eq!(
        kinds,
        [
            (PiiKind::Ssn, "078-05-1123"),
            (PiiKind::CreditCard, "4111111111111111"),
            (PiiKind::Email, "a@b.io"),
            (PiiKind::Phone, "415-555-0132"),
        ]
    );
    assert!(
        r.scan("693-09.4444").is_empty(),
        "mixed separators are not an SSN"
    );
    for not_ssn in [
        "000-12-3456",
        "666-12-3456",
        "912-12-3456",
        "123-00-4567",
        "123-45-0000",
        "078-05-1120",
        "111-11-1111",
    ] {
        assert!(r.scan(not_ssn).is_empty(), "{not_ssn}");
    }
}

#[test]
fn luhn() {
    assert!(luhn_valid(b"4111111111111111"));
    assert!(luhn_valid(b"79927398713"));
    assert!(!luhn_valid(b"4242424242424241"));
    assert!(!luhn_valid(b""));
    assert!(!luhn_valid(b"4111-1111"));
}

#[test]
fn utf8_offsets_and_odd_input() {
    let r = redactor();
    let text = "café ☕ numéro 4111 1111 1111 1111 — merci";
    let (red, f) = r.redact(text);
    assert_eq!(red, "café ☕ numéro [CREDIT_CARD] — merci");
    assert_eq!(&text[f[0].start..f[0].end], "4111 1111 1111 1111");
    for odd in [
        "",
        " ",
        "@",
        "at",
        "at dot com",
        "plus",
        "double",
        "(((",
        "+",
        "-4111",
        "9".repeat(500).as_str(),
        "one ".repeat(300).as_str(),
    ] {
        let (red, _) = r.redact(odd);
        assert_eq!(r.redact(&red).0, red, "idempotent on {odd:?}");
    }
}

#[test]
fn scan_tokens_marks_words() {
    let r = redactor();
    let words = [
        "my", "number", "is", "four", "one", "five", "five", "five", "five", "oh", "one", "three",
        "two", "thanks",
    ];
    let got = r.scan_tokens(&words);
    let want: Vec<Option<PiiKind>> = (0..words.len())
        .map(|i| (3..13).contains(&i).then_some(PiiKind::Phone))
        .collect();
    assert_eq!(got, want);
    // Decorated tokens: one token may hold the whole value.
    let got = r.scan_tokens(&["it's", "408-232-9000", "okay"]);
    assert_eq!(got, [None, Some(PiiKind::Phone), None]);
}

#[test]
fn scan_joint_across_utterances() {
    let r = redactor();
    let prev = "my card is four one one one one one one one";
    let cur = "one one one one one one one one thanks";
    let (a, b) = r.scan_joint(prev, cur);
    assert_eq!(a.len(), 1);
    assert_eq!(b.len(), 1);
    assert_eq!(a[0].kind, PiiKind::CreditCard);
    assert_eq!(
        &prev[a[0].start..a[0].end],
        "four one one one one one one one"
    );
    assert_eq!(
        &cur[b[0].start..b[0].end],
        "one one one one one one one one"
    );
    // Neither half alone is a card.
    assert!(r.scan(prev).is_empty() && r.scan(cur).is_empty());

    let (a, b) = r.scan_joint("it's john dot smith at", "gmail dot com");
    assert_eq!((a.len(), b.len()), (1, 1));
    assert_eq!(a[0].kind, PiiKind::Email);
    assert_eq!((a[0].start, a[0].end), (5, 22));
    assert_eq!((b[0].start, b[0].end), (0, 13));

    // A finding wholly inside one side is reported on that side only.
    let (a, b) = r.scan_joint("call 415-555-0132", "thanks");
    assert_eq!((a.len(), b.len()), (1, 0));
    let (a, b) = r.scan_joint("ok", "call 415-555-0132");
    assert_eq!((a.len(), b.len()), (0, 1));
    assert_eq!((b[0].start, b[0].end), (5, 17));
}

#[test]
fn idempotent_on_corpus() {
    let r = redactor();
    for text in RECALL
        .iter()
        .map(|(i, _)| *i)
        .chain(PRECISION.iter().copied())
    {
        let once = r.redact(text).0;
        assert_eq!(r.redact(&once).0, once, "redact(redact({text:?}))");
    }
}

#[test]
fn tags_custom_patterns_and_errors() {
    let mut tags = HashMap::new();
    tags.insert("phone".to_owned(), "<phone>".to_owned());
    tags.insert("order".to_owned(), "<order>".to_owned());
    let cfg = RedactorConfig {
        kinds: vec![PiiKind::Phone, PiiKind::Email],
        tags,
        custom: vec![
            CustomPattern {
                name: "order".into(),
                pattern: r"\bORD-\d{6}\b".into(),
                tag: None,
            },
            CustomPattern {
                name: "member_id".into(),
                pattern: r"\bM\d{8}\b".into(),
                tag: Some("[MEMBER]".into()),
            },
        ],
        spoken: false,
    };
    let r = Redactor::new(cfg).unwrap();
    assert_eq!(r.kind_name(PiiKind::Custom(0)), "order");
    assert_eq!(r.kind_name(PiiKind::CreditCard), "credit_card");
    assert_eq!(r.tag(PiiKind::Custom(1)), "[MEMBER]");
    assert_eq!(r.tag(PiiKind::Email), "[EMAIL]");
    let (red, found) = r.redact("ORD-123456 M12345678 415-555-0132 4111111111111111 five five five one two one two one two one");
    assert_eq!(
        red,
        "<order> [MEMBER] <phone> 4111111111111111 five five five one two one two one two one"
    );
    assert_eq!(
        found.iter().map(|f| f.kind).collect::<Vec<_>>(),
        [PiiKind::Custom(0), PiiKind::Custom(1), PiiKind::Phone]
    );

    let err = |cfg: RedactorConfig| Redactor::new(cfg).unwrap_err();
    let custom = |name: &str, pattern: &str| RedactorConfig {
        custom: vec![CustomPattern {
            name: name.into(),
            pattern: pattern.into(),
            tag: None,
        }],
        ..RedactorConfig::default()
    };
    let e = err(custom("acct", r"ACCT(\d+"));
    assert_eq!(e.field, "custom[0].pattern");
    assert!(
        e.message.contains("acct") && e.message.contains("does not compile"),
        "{e}"
    );
    // One line, with the culprit's place, not the regex crate's caret diagram.
    assert!(!e.message.contains('\n'), "{e}");
    assert!(
        e.message.ends_with("unclosed group (at character 5)"),
        "{e}"
    );
    let e = err(custom("ahead", r"x(?=y)"));
    assert!(!e.message.contains('\n'), "{e}");
    assert!(
        e.message
            .ends_with("look-behind, is not supported (at character 2)"),
        "{e}"
    );
    assert_eq!(err(custom("acct", r"\d*")).field, "custom[0].pattern");
    assert_eq!(err(custom("phone", r"x")).field, "custom[0].name");
    assert_eq!(err(custom("", r"x")).field, "custom[0].name");
    let e = err(custom("caps", r"[A-Z]{3}"));
    assert!(
        e.field.starts_with("tags.") && e.message.contains("would itself be redacted"),
        "{e}"
    );
    let e = err(RedactorConfig {
        kinds: vec![PiiKind::Custom(0)],
        ..RedactorConfig::default()
    });
    assert_eq!(e.field, "kinds");
    let mut tags = HashMap::new();
    tags.insert("zip".to_owned(), "[ZIP]".to_owned());
    assert_eq!(
        err(RedactorConfig {
            tags,
            ..RedactorConfig::default()
        })
        .field,
        "tags.zip"
    );
    let mut tags = HashMap::new();
    tags.insert("ssn".to_owned(), "555-0132".to_owned());
    assert_eq!(
        err(RedactorConfig {
            tags,
            ..RedactorConfig::default()
        })
        .field,
        "tags.ssn"
    );
}

#[test]
fn unchanged_text_comes_back_whole() {
    let r = redactor();
    let text = "nothing to see here, just ordinary words";
    let (out, found) = r.redact(text);
    assert!(found.is_empty());
    assert_eq!(out, text);
}

/// Random sentences from a vocabulary dense in number words, digits, separators and email
/// words: no panic, spans sorted, disjoint and on character boundaries, redaction idempotent.
/// Words random test sentences are made of: number words, digit groups, email parts, separators
/// and ordinary words.
const VOCAB: &[&str] = &[
    "one",
    "two",
    "oh",
    "o",
    "double",
    "triple",
    "nine",
    "twenty",
    "thirteen",
    "hundred",
    "thousand",
    "plus",
    "uh",
    "dash",
    "at",
    "dot",
    "gmail",
    "com",
    "co",
    "uk",
    "j",
    "a",
    "x",
    "4111",
    "1111",
    "555",
    "0132",
    "078",
    "05",
    "1123",
    "(415)",
    "+44",
    "-",
    ".",
    ",",
    "@",
    "_",
    "and",
    "the",
    "my",
    "card",
    "é",
    "☕",
    "4",
    "0",
    "19",
    "twenty-one",
    "x86",
];

#[test]
fn random_sentences_hold_the_invariants() {
    let r = redactor();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..3000 {
        let n = (next() % 40) as usize;
        let mut text = String::new();
        for _ in 0..n {
            let w = VOCAB[(next() % VOCAB.len() as u64) as usize];
            text.push_str(w);
            if next() % 5 != 0 {
                text.push(' ');
            }
        }
        let found = r.scan(&text);
        for w in found.windows(2) {
            assert!(w[0].end <= w[1].start, "{text:?}: {found:?}");
        }
        for f in &found {
            assert!(
                f.start < f.end && text.is_char_boundary(f.start) && text.is_char_boundary(f.end)
            );
        }
        let once = r.redact(&text).0;
        assert_eq!(r.redact(&once).0, once, "not idempotent on {text:?}");
    }
}

// --- spaces and dashes outside ASCII -------------------------------------------------------------

/// Spaces outside ASCII: every one with the Unicode `White_Space` property.
const UNICODE_SPACES: &[char] = &[
    '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}', '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}',
    '\u{2005}', '\u{2006}', '\u{2007}', '\u{2008}', '\u{2009}', '\u{200a}', '\u{2028}', '\u{2029}',
    '\u{202f}', '\u{205f}', '\u{3000}',
];

/// Hyphens, dashes and minus signs outside ASCII.
const UNICODE_DASHES: &[char] = &[
    '\u{2010}', '\u{2011}', '\u{2012}', '\u{2013}', '\u{2014}', '\u{2212}', '\u{fe63}', '\u{ff0d}',
];

#[test]
fn unicode_spaces_and_dashes_group_digits() {
    let r = redactor();
    let (text, found) = r.redact("4111\u{a0}1111\u{a0}1111\u{a0}1111");
    assert_eq!(text, "[CREDIT_CARD]");
    assert_eq!(found.len(), 1);
    for &sp in UNICODE_SPACES {
        for &dash in UNICODE_DASHES {
            let card = format!("4111{sp}1111{sp}1111{sp}1111");
            let phone = format!("(212){sp}555{dash}0187");
            let ssn = format!("078{dash}05{dash}1121");
            let text = format!("My card is {card}, phone {phone}, ssn {ssn}.");
            let (red, found) = r.redact(&text);
            assert_eq!(
                red, "My card is [CREDIT_CARD], phone [PHONE], ssn [SSN].",
                "{text:?}"
            );
            let spans: Vec<(PiiKind, &str)> = found
                .iter()
                .map(|f| (f.kind, &text[f.start..f.end]))
                .collect();
            assert_eq!(
                spans,
                [
                    (PiiKind::CreditCard, card.as_str()),
                    (PiiKind::Phone, phone.as_str()),
                    (PiiKind::Ssn, ssn.as_str()),
                ]
            );
            // Dashes group a card, spaces an SSN, and a space may stand between words too.
            let text =
                format!("card{sp}4111{dash}1111{dash}1111{dash}1111{sp}ssn{sp}078{sp}05{sp}1121");
            assert_eq!(
                r.redact(&text).0,
                format!("card{sp}[CREDIT_CARD]{sp}ssn{sp}[SSN]")
            );
            let text = format!("call{sp}212{sp}555{sp}0187{sp}or{sp}555{dash}0132{sp}please");
            assert_eq!(
                r.redact(&text).0,
                format!("call{sp}[PHONE]{sp}or{sp}[PHONE]{sp}please")
            );
        }
    }
    // Spoken digits too, and a dash as its own token between words is still a separator.
    let text = "four\u{a0}one\u{a0}one\u{a0}one one one one one one one one one one one one one";
    assert_eq!(r.redact(text).0, "[CREDIT_CARD]");
    assert_eq!(
        r.redact("ssn 078 \u{2014} 05 \u{2014} 1121 ok").0,
        "ssn [SSN] ok"
    );
    // Other characters outside ASCII that share a lead byte with them stay letters: no number.
    for text in [
        "4111\u{2019}1111\u{2019}1111\u{2019}1111",
        "4111\u{b7}1111\u{b7}1111\u{b7}1111",
        "4111\u{200b}1111\u{200b}1111\u{200b}1111",
        "it\u{2019}s 4111\u{2015}1111",
    ] {
        assert!(r.scan(text).is_empty(), "{text:?}");
    }
}

/// `text` with some of its ASCII spaces and `-` replaced by look-alikes outside ASCII (picked
/// by `next`), and where each byte offset of `text` lands in the new text.
fn unicode_lookalike(text: &str, next: &mut impl FnMut() -> u64) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len() * 2);
    let mut at = Vec::with_capacity(text.len() + 1);
    // A written address is ASCII: a dash in it is not to be replaced.
    let dashes = !text.contains('@');
    for c in text.chars() {
        for _ in 0..c.len_utf8() {
            at.push(out.len());
        }
        let r = next();
        match c {
            ' ' if r % 3 != 0 => out.push(UNICODE_SPACES[(r >> 8) as usize % UNICODE_SPACES.len()]),
            '-' if dashes && r % 3 != 0 => {
                out.push(UNICODE_DASHES[(r >> 8) as usize % UNICODE_DASHES.len()]);
            }
            c => out.push(c),
        }
    }
    at.push(out.len());
    (out, at)
}

/// Replacing ASCII spaces and dashes by look-alikes outside ASCII finds the same things, with
/// the spans of the new text: on the recall and precision lists and on random sentences.
#[test]
fn unicode_lookalikes_find_what_ascii_finds() {
    // The shared words, and others that test what counts as a separator.
    const EXTRA: &[&str] = &["’", "212-555-0187", "078-05-1121"];
    let vocab: Vec<&str> = VOCAB.iter().chain(EXTRA).copied().collect();
    let r = redactor();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut texts: Vec<String> = RECALL
        .iter()
        .map(|(i, _)| (*i).to_owned())
        .chain(PRECISION.iter().map(|t| (*t).to_owned()))
        .collect();
    for _ in 0..3000 {
        let mut text = String::new();
        for _ in 0..next() % 40 {
            text.push_str(vocab[(next() % vocab.len() as u64) as usize]);
            if next() % 5 != 0 {
                text.push(' ');
            }
        }
        texts.push(text);
    }
    let mut found_any = 0;
    for text in &texts {
        let want = r.scan(text);
        for _ in 0..3 {
            let (alike, at) = unicode_lookalike(text, &mut next);
            let got = r.scan(&alike);
            let mapped: Vec<(PiiKind, usize, usize)> = want
                .iter()
                .map(|f| (f.kind, at[f.start], at[f.end]))
                .collect();
            let got: Vec<(PiiKind, usize, usize)> =
                got.iter().map(|f| (f.kind, f.start, f.end)).collect();
            assert_eq!(got, mapped, "{text:?} as {alike:?}");
            let (red, _) = r.redact(&alike);
            assert_eq!(r.redact(&red).0, red, "not idempotent on {alike:?}");
        }
        found_any += usize::from(!want.is_empty());
    }
    assert!(found_any > 500, "only {found_any} texts with findings");
}

// --- person names (opt-in) ---------------------------------------------------------------------

fn names_redactor() -> Redactor {
    let mut kinds = PiiKind::DEFAULT.to_vec();
    kinds.push(PiiKind::PersonName);
    Redactor::new(RedactorConfig {
        kinds,
        ..RedactorConfig::default()
    })
    .expect("valid")
}

/// (input, expected redaction) with `person_name` on.
const NAME_RECALL: &[(&str, &str)] = &[
    // A spelling confirms the word before it, and its other uses, and a first name after a cue.
    (
        "yeah it is john smith that is smith s m i t h",
        "yeah it is [PERSON_NAME] that is [PERSON_NAME]",
    ),
    (
        "yeah it is john smith that is Smith S M I T H",
        "yeah it is [PERSON_NAME] that is [PERSON_NAME]",
    ),
    ("that is lee l e e", "that is [PERSON_NAME]"),
    (
        "it's hill, h i double l",
        "it's [PERSON_NAME], [PERSON_NAME]",
    ),
    (
        "smith, that's S-M-I-T-H.",
        "[PERSON_NAME], that's [PERSON_NAME].",
    ),
    ("lopez l as in larry o p e z okay", "[PERSON_NAME] okay"),
    ("mary ann m a r y a n n", "[PERSON_NAME]"),
    // A spelling after a cue.
    ("my name is o s c a r", "my name is [PERSON_NAME]"),
    ("My name is o s c a r.", "My name is [PERSON_NAME]."),
    ("my last name is s m i t h", "my last name is [PERSON_NAME]"),
    ("it's spelled w-r-i-g-h-t", "it's spelled [PERSON_NAME]"),
    // Cue phrases.
    (
        "thank you for calling acme industrial supply my name is alex how can i help you today",
        "thank you for calling acme industrial supply my name is [PERSON_NAME] how can i help you today",
    ),
    (
        "hi my name is john smith and i have a question",
        "hi my name is [PERSON_NAME] and i have a question",
    ),
    ("my name's mary-kate o'brien", "my name's [PERSON_NAME]"),
    (
        "the name on the account is jane doe",
        "the name on the account is [PERSON_NAME]",
    ),
    (
        "first name is maria last name is garcia",
        "first name is [PERSON_NAME] last name is [PERSON_NAME]",
    ),
    ("surname: Nguyen.", "surname: [PERSON_NAME]."),
    (
        "it is under the name garcia",
        "it is under the name [PERSON_NAME]",
    ),
    (
        "This is Alex from billing",
        "This is [PERSON_NAME] from billing",
    ),
    (
        "hi this is Dr. Jane Foster calling back",
        "hi this is Dr. [PERSON_NAME] calling back",
    ),
    ("my name is will smith", "my name is [PERSON_NAME]"),
    // An answer to a request in the same text.
    (
        "can i have your first and last name please yeah it's john smith",
        "can i have your first and last name please yeah it's [PERSON_NAME]",
    ),
    // Other kinds still win where they overlap: a spelled email is an email.
    (
        "my name is j o h n dot s m i t h at gmail dot com",
        "my name is [EMAIL]",
    ),
    (
        "my name is john and my email is john dot smith at gmail dot com",
        "my name is [PERSON_NAME] and my email is [EMAIL]",
    ),
];

/// Ordinary speech that must survive with `person_name` on.
const NAME_PRECISION: &[&str] = &[
    "this is great",
    "this is the one i ordered",
    "acme industrial supply this is alex how can i help",
    "my name is on the account",
    "my name is not on the account",
    "the name is spelled wrong on the invoice",
    "my name is kind of hard to spell",
    "my last name is long it's hard to spell",
    "the name on the card is different",
    "what name is the account under",
    "the account is under my wife's name",
    "is the order under your name or your company name",
    "we'll put your name down for the callback",
    "the company name is acme",
    "in the name of the father",
    "it is what it is",
    "it's fine",
    "yeah it is john smith",
    "john smith called yesterday",
    "can i have your first and last name please",
    "what is your name",
    "sure can i get the email address on the account",
    "you can find us at amazon dot a b c",
    "dot a b c",
    "a b c",
    "the u s a",
    "yes y e s",
    "that is correct",
    "no that is not the one i ordered i ordered the larger size",
    "i'm good thanks",
    "[PERSON_NAME] [CREDIT_CARD]",
    "my name is [PERSON_NAME]",
];

#[test]
fn names_are_opt_in() {
    let r = redactor();
    assert!(!r.detects(PiiKind::PersonName));
    assert!(
        r.scan("my name is john smith, s m i t h").is_empty(),
        "the default kinds do not include person names"
    );
    assert!(names_redactor().detects(PiiKind::PersonName));
    assert_eq!(PiiKind::PersonName.as_str(), "person_name");
    assert_eq!(names_redactor().tag(PiiKind::PersonName), "[PERSON_NAME]");
}

#[test]
fn name_recall_list() {
    let r = names_redactor();
    let mut failures = Vec::new();
    for (input, want) in NAME_RECALL {
        let (got, _) = r.redact(input);
        if got != *want {
            failures.push(format!("{input:?}\n   want {want:?}\n   got  {got:?}"));
        }
        assert_eq!(r.redact(&got).0, got, "idempotent on {input:?}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn name_precision_list() {
    let r = names_redactor();
    // Two sentences of the general precision list are names now: that is the point.
    let now_names = ["my name is o s c a r", "my last name is s m i t h"];
    let bad: Vec<String> = NAME_PRECISION
        .iter()
        .chain(PRECISION.iter().filter(|t| !now_names.contains(t)))
        .filter(|&t| !r.scan(t).is_empty())
        .map(|t| format!("{t:?} -> {:?}", r.redact(t).0))
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    // The other kinds are found exactly as without names.
    let plain = redactor();
    for (input, want) in RECALL {
        assert_eq!(r.redact(input).0, *want, "{input:?}");
        assert_eq!(plain.redact(input).0, *want);
    }
}

#[test]
fn name_answers_need_a_request() {
    let r = names_redactor();
    let text = "yeah it's john smith";
    assert!(r.scan(text).is_empty());
    let found = r.scan_answering(text, &[0]);
    assert_eq!(found.len(), 1);
    assert_eq!(&text[found[0].start..found[0].end], "john smith");
    assert!(r.scan_answering("it is what it is", &[0]).is_empty());
    assert!(r.scan_answering("sure one second", &[0]).is_empty());
    // Only near the start of the answer.
    let late = "yeah so i placed the order last week and it is john smith";
    assert!(r.scan_answering(late, &[0]).is_empty());
    assert!(
        r.asks_for_name("sure i can help with that can i have your first and last name please")
    );
    assert!(!r.asks_for_name("okay that makes sense"));
    assert!(!redactor().asks_for_name("can i have your name"));
}

#[test]
fn name_tokens_and_joint_scan() {
    let r = names_redactor();
    let words = [
        "yeah", "it", "is", "john", "smith", "that", "is", "Smith", "S", "M", "I", "T", "H",
    ];
    let got = r.scan_tokens(&words);
    let names: Vec<&str> = words
        .iter()
        .zip(&got)
        .filter(|(_, k)| **k == Some(PiiKind::PersonName))
        .map(|(w, _)| *w)
        .collect();
    assert_eq!(names, ["john", "smith", "Smith", "S", "M", "I", "T", "H"]);
    // Split over two utterances: the spelling in the second confirms the name in the first.
    let (a, b) = r.scan_joint("yeah it is john smith that is", "smith s m i t h");
    let prev = "yeah it is john smith that is";
    assert_eq!(
        a.iter().map(|f| &prev[f.start..f.end]).collect::<Vec<_>>(),
        ["john smith"]
    );
    assert_eq!(b.len(), 1);
    assert_eq!((b[0].start, b[0].end), (0, 15));
}

#[test]
fn name_open_endings() {
    let r = names_redactor();
    for s in [
        "my name is",
        "yeah it is john smith",
        "that is",
        "my last name is",
    ] {
        assert!(r.name_open(s), "{s:?}");
    }
    for s in ["thanks for calling", "it is fine", "that is correct"] {
        assert!(!r.name_open(s), "{s:?}");
    }
    assert!(
        !redactor().name_open("my name is"),
        "off without person_name"
    );
    assert_eq!(r.name_pending("that is smith s m i"), Some(8));
    assert!(r.name_continues("smith s m i t h"));
}

/// Random sentences from a vocabulary of cue words, letters and names: no panic, spans sorted,
/// disjoint, on character boundaries, and redaction idempotent.
#[test]
fn random_name_sentences_hold_the_invariants() {
    const VOCAB: &[&str] = &[
        "my", "name", "is", "name's", "it", "it's", "this", "that", "spelled", "last", "first",
        "surname", "your", "and", "can", "i", "have", "john", "smith", "Smith", "s", "m", "i", "t",
        "h", "S", "M", "a", "double", "l", "as", "in", "sam", "-", ",", ".", ":", "[", "]", "é",
        "José", "o'brien", "at", "dot", "gmail", "com", "four", "one", "uh", "Alex", "the", "on",
        "account", "mr", "Dr",
    ];
    let r = names_redactor();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..5000 {
        let n = (next() % 30) as usize;
        let mut text = String::new();
        for _ in 0..n {
            let w = VOCAB[(next() % VOCAB.len() as u64) as usize];
            text.push_str(w);
            if next() % 6 != 0 {
                text.push(' ');
            }
        }
        let answers: &[usize] = if next() % 3 == 0 { &[0] } else { &[] };
        let found = r.scan_answering(&text, answers);
        for w in found.windows(2) {
            assert!(w[0].end <= w[1].start, "{text:?}: {found:?}");
        }
        for f in &found {
            assert!(
                f.start < f.end && text.is_char_boundary(f.start) && text.is_char_boundary(f.end)
            );
        }
        let once = r.redact(&text).0;
        assert_eq!(r.redact(&once).0, once, "not idempotent on {text:?}");
        let _ = (
            r.name_open(&text),
            r.name_pending(&text),
            r.name_continues(&text),
        );
    }
}

#[test]
fn digits_glued_to_an_identifier_are_not_a_number() {
    let r = redactor();
    // Found by redacting 20,000 random UUIDs: two read as a card ("40936093-7735-2800…").
    for id in [
        "40936093-7735-2800-1334-16d45f1e820d",
        "58288258-8661-0913-a65e-0abfeac6907d",
        "order 4111-1111-1111-1111-x9",
    ] {
        assert_eq!(r.redact(id).0, id);
    }
    // A number next to a word is still a number.
    assert_eq!(
        r.redact("card 4111-1111-1111-1111 x9").0,
        "card [CREDIT_CARD] x9"
    );
    assert_eq!(r.redact("4111-1111-1111-1111.").0, "[CREDIT_CARD].");
    // Random UUIDs are never PII (about one in 10,000 starts with three groups of digits only).
    let mut next = {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    };
    for _ in 0..100_000 {
        let (a, b) = (next(), next());
        let id = format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        );
        assert!(r.scan(&id).is_empty(), "{id}");
    }
}
