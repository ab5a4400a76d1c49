//! Feed a JSON Lines capture through the engine and report time per frame.
//! Time is the best round's wall clock: on some VMs `/proc/thread-self/schedstat` only advances
//! at scheduler ticks (4 ms), too coarse for a round of a few milliseconds.
//! `cargo run --release -p gcstream-core --example engine_profile -- capture.jsonl [rounds]`

use gcstream_core::engine::{Engine, EngineConfig};

// The allocator the Python extension ships, so the profile shows what users run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: engine_profile CAPTURE [ROUNDS]");
    let rounds: usize = args.next().map_or(5, |r| r.parse().expect("rounds"));
    let data = std::fs::read(&path).expect("read capture");
    let frames: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let mut config = EngineConfig::default();
        config.privacy.enabled = std::env::var_os("NO_REDACT").is_none();
        if std::env::var_os("NO_REORDER").is_some() {
            config.reorder_window_ms = 0;
        }
        let mut engine = Engine::new(config).expect("engine");
        let start = std::time::Instant::now();
        let mut n = 0usize;
        let mut out = Vec::new();
        for (i, frame) in frames.iter().enumerate() {
            engine.feed_into(frame, 1_774_055_400_000 + i as i64, &mut out);
            n += out.len();
            out.clear();
        }
        n += engine.finish().len();
        let per = start.elapsed().as_secs_f64() * 1e6 / frames.len() as f64;
        best = best.min(per);
        std::hint::black_box(n);
    }
    let mb = data.len() as f64 / frames.len() as f64;
    eprintln!(
        "{} frames, {:.0} B avg: {best:.2} us/frame, {:.0} MB/s",
        frames.len(),
        mb,
        mb / best
    );
}
