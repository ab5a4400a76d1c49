//! Redact a text file line by line (one utterance a line, as the engine does) and report MB/s.
//! Best of the rounds, wall clock (a round is too short for the scheduler's CPU-time counter).
//! `cargo run --release -p gcstream-core --example redact_profile -- lines.txt [rounds]`

use gcstream_core::redact::{Redactor, RedactorConfig};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: redact_profile TEXT [ROUNDS]");
    let rounds: usize = args.next().map_or(5, |r| r.parse().expect("rounds"));
    let text = std::fs::read_to_string(&path).expect("read text");
    let lines: Vec<&str> = text.lines().collect();
    let redactor = Redactor::new(RedactorConfig::default()).expect("redactor");
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let start = std::time::Instant::now();
        let mut found = 0usize;
        for line in &lines {
            found += redactor.scan(line).len();
        }
        best = best.min(start.elapsed().as_nanos() as f64);
        std::hint::black_box(found);
    }
    eprintln!(
        "{} lines, {} bytes: {:.0} ns/line, {:.0} MB/s",
        lines.len(),
        text.len(),
        best / lines.len() as f64,
        text.len() as f64 / best * 1e3
    );
}
