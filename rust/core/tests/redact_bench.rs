//! Throughput of the redactor on a synthetic call-centre transcript corpus (ordinary speech with
//! some spoken and written PII). Ignored by default; run it in release:
//!
//! ```text
//! cargo test -p gcstream-core --release --test redact_bench -- --ignored --nocapture
//! ```
//!
//! Set `GCSTREAM_REDACT_CORPUS=/path/file.txt` to also write the corpus (one utterance a line),
//! e.g. for timing `tests/reference_redact.py` on the same text.

use std::time::Instant;

use gcstream_core::redact::{PiiKind, Redactor, RedactorConfig};

const ORDINARY: &[&str] = &[
    "thank you for calling how can i help you today",
    "yeah hi i'm calling about my bill from last month",
    "okay let me pull up your account one second please",
    "at the end of the day we just want it to work",
    "i see that you were charged forty nine ninety nine in twenty nineteen",
    "the technician will be there at five thirty tomorrow",
    "is there anything else i can help you with today",
    "your order number twelve shipped on monday",
    "i understand that's frustrating let me see what i can do",
    "can you confirm the address on the account for me",
    "sure no problem just dot the i's and cross the t's",
    "we have a promotion running for two hundred dollars off",
    "all right i have updated that for you and you'll get an email confirmation",
    "my name is o s c a r and i've been a customer for ten years",
    "the ticket 4471 was closed on 12/05 at 10:30 a.m.",
    "it costs $49.99 per month plus tax",
    "um so basically the internet keeps dropping every evening",
    "could you please hold while i transfer you to the billing department",
];

const PII: &[&str] = &[
    "my card number is four one one one one one one one one one one one one one one one",
    "it's five five five, uh, two three four, five six seven eight",
    "my email is john dot smith at gmail dot com",
    "ssn is seven double nine one two three double one three",
    "you can reach me at (415) 555-0132 after six",
    "i have j o h n s m i t h one two at yahoo dot com on file",
    "the card ending 4111 1111 1111 1111 expires twelve twenty seven",
];

fn corpus(bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 256);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while s.len() < bytes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // One utterance in ten carries PII.
        let line = if x % 10 == 0 {
            PII[(x >> 8) as usize % PII.len()]
        } else {
            ORDINARY[(x >> 8) as usize % ORDINARY.len()]
        };
        s.push_str(line);
        s.push('\n');
    }
    s
}

/// Nanoseconds this thread has spent on a CPU (Linux `schedstat`), if available.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

#[test]
#[ignore = "timing: run in release with --ignored --nocapture"]
fn redact_throughput() {
    throughput(&Redactor::new(RedactorConfig::default()).unwrap(), "");
}

/// The same with person names on (as `gcstream run` and `gcstream demo` configure it).
#[test]
#[ignore = "timing: run in release with --ignored --nocapture"]
fn redact_throughput_with_names() {
    let mut kinds = PiiKind::DEFAULT.to_vec();
    kinds.push(PiiKind::PersonName);
    let r = Redactor::new(RedactorConfig {
        kinds,
        ..RedactorConfig::default()
    })
    .unwrap();
    throughput(&r, ", names");
}

fn throughput(r: &Redactor, what: &str) {
    let text = corpus(16 << 20);
    if let Ok(path) = std::env::var("GCSTREAM_REDACT_CORPUS") {
        std::fs::write(&path, &text).unwrap();
    }
    let lines: Vec<&str> = text.lines().collect();
    // Whole text in one call, and per utterance (how the engine calls it).
    for (label, per_line) in [("whole", false), ("per utterance", true)] {
        let mut best = f64::MAX;
        let mut found = 0;
        for _ in 0..9 {
            let (t, cpu) = (Instant::now(), cpu_ns());
            found = if per_line {
                lines.iter().map(|l| r.scan(l).len()).sum()
            } else {
                r.scan(&text).len()
            };
            // On-CPU time of this thread when Linux reports it: other processes on a shared
            // machine then do not count against us.
            let secs = cpu_ns()
                .zip(cpu)
                .map_or(t.elapsed().as_secs_f64(), |(b, a)| (b - a) as f64 / 1e9);
            best = best.min(secs);
        }
        let mbps = text.len() as f64 / best / 1e6;
        eprintln!(
            "redact scan ({label}{what}): {:.1} MB in {:.1} ms = {mbps:.0} MB/s, {found} findings",
            text.len() as f64 / 1e6,
            best * 1e3
        );
        assert!(
            found > lines.len() / 20,
            "the corpus has PII in one line in ten"
        );
    }
    let t = Instant::now();
    let (out, _) = r.redact(&text);
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "redact (whole, with output{what}): {:.0} MB/s",
        text.len() as f64 / secs / 1e6
    );
    assert!(out.len() < text.len());
}
