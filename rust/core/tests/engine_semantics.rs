//! Stream semantics of the engine: coalescing, ordering, sequences, conversations, quality gates.

use gcstream_core::coalesce::CoalesceMode;
use gcstream_core::decode::WireFormat;
use gcstream_core::engine::{Engine, EngineConfig};
use gcstream_core::quality::Policy;
use gcstream_core::record::{Record, Utterance};

fn note(conv: &str, utt: &str, channel: &str, offset: i64, is_final: bool, text: &str) -> Vec<u8> {
    format!(
        r#"{{"topicName":"v2.conversations.{conv}.transcription","eventBody":{{"conversationId":"{conv}","sessionStartTimeMs":1000000,"transcripts":[{{"utteranceId":"{utt}","isFinal":{is_final},"channel":"{channel}","alternatives":[{{"confidence":0.9,"offsetMs":{offset},"durationMs":500,"transcript":"{text}"}}]}}]}}}}"#
    )
    .into_bytes()
}

fn status(conv: &str, s: &str) -> Vec<u8> {
    format!(r#"{{"topicName":"v2.conversations.{conv}.transcription","eventBody":{{"conversationId":"{conv}","status":{{"status":"{s}"}}}}}}"#).into_bytes()
}

fn utterances(records: &[Record]) -> Vec<&Utterance> {
    records
        .iter()
        .filter_map(|r| {
            if let Record::Utterance(u) = r {
                Some(u)
            } else {
                None
            }
        })
        .collect()
}

fn ids(records: &[Record]) -> Vec<String> {
    utterances(records)
        .iter()
        .map(|u| u.utterance_id.clone())
        .collect()
}

fn run(engine: &mut Engine, frames: &[Vec<u8>]) -> Vec<Record> {
    let mut out = Vec::new();
    for f in frames {
        out.extend(engine.feed(f, 1_010_000));
    }
    out.extend(engine.finish());
    out
}

#[test]
fn permutations_within_the_window_give_the_same_utterances() {
    let frames: Vec<Vec<u8>> = (0..6)
        .map(|i| note("c", &format!("u{i}"), "EXTERNAL", i * 300, true, "x"))
        .collect();
    let base = ids(&run(
        &mut Engine::new(EngineConfig::default()).unwrap(),
        &frames,
    ));
    assert_eq!(base, ["u0", "u1", "u2", "u3", "u4", "u5"]);
    for perm in [[5, 4, 3, 2, 1, 0], [1, 0, 3, 2, 5, 4], [2, 0, 1, 5, 3, 4]] {
        let shuffled: Vec<Vec<u8>> = perm.iter().map(|&i| frames[i].clone()).collect();
        let got = run(
            &mut Engine::new(EngineConfig::default()).unwrap(),
            &shuffled,
        );
        assert_eq!(ids(&got), base, "{perm:?}");
        assert!(utterances(&got).iter().all(|u| u.flags.is_empty()));
    }
}

#[test]
fn late_arrivals_are_delivered_and_flagged() {
    let mut e = Engine::new(EngineConfig {
        reorder_window_ms: 1_000,
        ..EngineConfig::default()
    })
    .unwrap();
    let frames = vec![
        note("c", "a", "A", 200, true, "x"),
        note("c", "b", "A", 5_000, true, "x"),
        note("c", "old", "A", 100, true, "x"),
    ];
    let got = run(&mut e, &frames);
    assert_eq!(ids(&got), ["a", "old", "b"]);
    assert_eq!(utterances(&got)[1].flags, ["late"]);
    assert_eq!(e.stats().flags["late"], 1);
}

#[test]
fn window_zero_turns_ordering_off() {
    let mut e = Engine::new(EngineConfig {
        reorder_window_ms: 0,
        ..EngineConfig::default()
    })
    .unwrap();
    let got = run(
        &mut e,
        &[
            note("c", "b", "A", 900, true, "x"),
            note("c", "a", "A", 0, true, "x"),
        ],
    );
    assert_eq!(ids(&got), ["b", "a"]);
}

#[test]
fn duplicates_never_produce_two_finals() {
    let mut e = Engine::new(EngineConfig::default()).unwrap();
    let f = note("c", "u", "A", 0, true, "x");
    let p = note("c", "u", "A", 0, false, "x");
    let got = run(&mut e, &[f.clone(), f.clone(), p, f]);
    assert_eq!(ids(&got), ["u"]);
    let s = e.stats();
    assert_eq!((s.duplicates, s.stale_partials), (2, 1));
}

#[test]
fn partials_coalesce_into_one_final_and_expire_explicitly() {
    let mut e = Engine::new(EngineConfig::default()).unwrap();
    let mut out = e.feed(&note("c", "u1", "A", 0, false, "hel"), 1_000_000);
    out.extend(e.feed(&note("c", "u1", "A", 0, false, "hello"), 1_000_100));
    out.extend(e.feed(&note("c", "u2", "A", 0, false, "never"), 1_000_100));
    out.extend(e.feed(&note("c", "u1", "A", 0, true, "hello there"), 1_000_200));
    let partials: Vec<_> = out
        .iter()
        .filter_map(|r| {
            if let Record::Partial(p) = r {
                Some(p.text.as_str())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(partials, ["hel", "hello", "never"]);
    let expired = e.tick(1_000_100 + 60_000);
    let Some(Record::Partial(p)) = expired.iter().find(|r| matches!(r, Record::Partial(_))) else {
        panic!("{expired:?}")
    };
    assert_eq!(
        (p.utterance_id.as_str(), p.state.as_str()),
        ("u2", "expired")
    );
    assert_eq!(ids(&expired), ["u1"]);
    assert_eq!(e.stats().partials_expired, 1);
}

#[test]
fn fragments_concatenate_until_final() {
    let mut e = Engine::new(EngineConfig::for_format(WireFormat::Fragments)).unwrap();
    assert_eq!(e.config().coalesce, CoalesceMode::Concat);
    let frames: Vec<Vec<u8>> = [("Hello ", false, 0.5), ("wor", false, 0.9), ("ld", true, 0.7)]
        .iter()
        .map(|(t, f, c)| format!(r#"{{"utteranceId":"u","speaker":"agent","text":"{t}","confidence":{c},"startTime":1000,"endTime":2000,"isFinal":{f}}}"#).into_bytes())
        .collect();
    let got = run(&mut e, &frames);
    let u = utterances(&got);
    assert_eq!(u.len(), 1);
    assert_eq!((u[0].text.as_str(), u[0].confidence), ("Hello world", 0.9));
}

#[test]
fn sequences_report_gaps_duplicates_reorders_and_resets() {
    let mut e = Engine::new(EngineConfig::for_format(WireFormat::Media)).unwrap();
    let msg = |(n, ts): (i64, i64)| {
        format!(
            r#"{{"eventType":"transcription","eventSequence":{n},"mediaSessionId":"m","transcript":"t{n}","isPartial":false,"timestamp":{ts}}}"#
        )
    };
    let doc = format!(
        "[{}]",
        [(1, 1), (2, 2), (5, 5), (3, 3), (3, 3), (6, 6), (1, 7)]
            .map(msg)
            .join(",")
    );
    let got = run(&mut e, &[doc.into_bytes()]);
    let gaps: Vec<(String, u64)> = got
        .iter()
        .filter_map(|r| {
            if let Record::Gap(g) = r {
                Some((g.kind.clone(), g.count))
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        gaps,
        [
            ("missing".into(), 2),
            ("reordered".into(), 1),
            ("duplicate".into(), 1),
            ("reset".into(), 0)
        ]
    );
    assert_eq!(utterances(&got).len(), 6);
}

/// (utterance texts, gap kinds) of seed 001 events numbered `numbers`, each a distinct event.
fn media_run(numbers: &[i64]) -> (Vec<String>, Vec<String>) {
    let mut e = Engine::new(EngineConfig::for_format(WireFormat::Media)).unwrap();
    let events: Vec<String> = numbers
        .iter()
        .enumerate()
        .map(|(i, n)| format!(r#"{{"eventType":"transcription","eventSequence":{n},"mediaSessionId":"m","transcript":"t{i}","isPartial":false,"timestamp":{}}}"#, 1000 + i))
        .collect();
    let got = run(&mut e, &[format!("[{}]", events.join(",")).into_bytes()]);
    let mut texts: Vec<String> = utterances(&got).iter().map(|u| u.text.clone()).collect();
    texts.sort();
    let gaps = got
        .iter()
        .filter_map(|r| match r {
            Record::Gap(g) => Some(g.kind.clone()),
            _ => None,
        })
        .collect();
    (texts, gaps)
}

#[test]
fn sequences_never_drop_an_event_they_have_not_seen() {
    for (numbers, kinds) in [
        (&[2, 1, 3, 4][..], &["reordered"][..]),
        (&[1, 2, 3, 4, 5, 2, 3, 4], &["reset"]),
        (&[1, 2, 1, 2, 3], &["reset"]),
        (&[3, 1, 2, 4, 5], &["reordered", "reordered"]),
    ] {
        let (texts, gaps) = media_run(numbers);
        let mut all: Vec<String> = (0..numbers.len()).map(|i| format!("t{i}")).collect();
        all.sort();
        assert_eq!(
            (texts, gaps),
            (all, kinds.iter().map(|k| (*k).to_owned()).collect()),
            "{numbers:?}"
        );
    }
}

#[test]
fn results_the_source_does_not_name_are_each_delivered() {
    // Seed 000 without `mediaTimestamp` and seed 001 without `timestamp` or `eventSequence`:
    // nothing on the wire tells one result from another, so none may be taken for a repeat.
    let interaction = |text: &str| {
        format!(r#"{{"type":"transcription","interactionId":"i1","text":"{text}","confidence":0.9,"final":true}}"#)
            .into_bytes()
    };
    let media = |text: &str| {
        format!(r#"{{"eventType":"transcription","mediaSessionId":"m","transcript":"{text}","isPartial":false}}"#)
            .into_bytes()
    };
    let texts = ["hello there", "my account", "thanks"];
    for (format, frame) in [
        (
            WireFormat::Interaction,
            &interaction as &dyn Fn(&str) -> Vec<u8>,
        ),
        (WireFormat::Media, &media),
    ] {
        let mut e = Engine::new(EngineConfig::for_format(format)).unwrap();
        let got = run(&mut e, &texts.map(frame));
        let said: Vec<&str> = utterances(&got).iter().map(|u| u.text.as_str()).collect();
        assert_eq!(said, texts, "{format:?}");
        let keys: std::collections::HashSet<String> = ids(&got).into_iter().collect();
        assert_eq!(keys.len(), texts.len(), "{format:?}: {keys:?}");
        assert!(keys.iter().all(|k| !k.is_empty()), "{format:?}");
        assert_eq!(e.stats().duplicates, 0, "{format:?}");
    }
    // With a sequence number but no timestamp, a repeated number is still caught as a repeat,
    // and a restarted stream's reused numbers are delivered.
    let numbered = |n: i64, text: &str| {
        format!(
            r#"{{"eventType":"transcription","eventSequence":{n},"mediaSessionId":"m","transcript":"{text}","isPartial":false}}"#
        )
    };
    let doc = format!(
        "[{}]",
        [
            numbered(1, "a"),
            numbered(2, "b"),
            numbered(2, "b"),
            numbered(1, "c"),
            numbered(2, "d")
        ]
        .join(",")
    );
    let mut e = Engine::new(EngineConfig::for_format(WireFormat::Media)).unwrap();
    let got = run(&mut e, &[doc.into_bytes()]);
    let said: Vec<&str> = utterances(&got).iter().map(|u| u.text.as_str()).collect();
    assert_eq!(said, ["a", "b", "c", "d"]);
}

#[test]
fn conversation_end_flushes_and_summarises() {
    let mut e = Engine::new(EngineConfig::default()).unwrap();
    let got = run(
        &mut e,
        &[
            note("c", "a", "EXTERNAL", 0, true, "one two"),
            note("c", "b", "INTERNAL", 0, false, "zz"),
            status("c", "SESSION_ENDED"),
        ],
    );
    let kinds: Vec<&str> = got.iter().map(Record::kind).collect();
    assert_eq!(
        kinds,
        [
            "conversation_update",
            "partial",
            "utterance",
            "partial",
            "conversation_update"
        ]
    );
    let Record::ConversationUpdate(s) = got.last().unwrap() else {
        panic!()
    };
    assert_eq!(
        (s.kind.as_str(), s.utterances, s.status.as_deref()),
        ("ended", 1, Some("SESSION_ENDED"))
    );
    assert_eq!(s.utterances_by_channel, [("EXTERNAL".to_owned(), 1)]);
    assert_eq!(e.stats().conversations_active, 0);
}

#[test]
fn eviction_keeps_memory_bounded() {
    let mut e = Engine::new(EngineConfig {
        max_conversations: 3,
        conversation_idle_ms: 1_000,
        ..EngineConfig::default()
    })
    .unwrap();
    let mut out = Vec::new();
    for i in 0..5 {
        out.extend(e.feed(&status(&format!("c{i}"), "SESSION_ONGOING"), 1_000 + i));
    }
    let evicted: Vec<_> = out
        .iter()
        .filter_map(|r| {
            if let Record::ConversationUpdate(c) = r {
                (c.kind == "evicted").then(|| (c.conversation_id.clone(), c.reason.clone()))
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        evicted,
        [
            ("c0".into(), Some("capacity".into())),
            ("c1".into(), Some("capacity".into()))
        ]
    );
    let idle = e.tick(10_000);
    assert_eq!(idle.len(), 3);
    assert_eq!(e.stats().conversations_active, 0);
}

#[test]
fn quality_drop_is_counted_and_interruption_resets_partials() {
    let mut cfg = EngineConfig::for_format(WireFormat::Segments);
    cfg.quality.audio_policy = Policy::Drop;
    let mut e = Engine::new(cfg).unwrap();
    let seg = |partial: bool, snr: i64, interrupted: bool, ts: &str| {
        format!(r#"{{"type":"transcription","conversationId":"c","participantId":"p","language":"en-US","segments":[{{"text":"hi","startTime":0,"endTime":1,"confidence":0.9}}],"isPartial":{partial},"interruptionDetected":{interrupted},"audioQuality":{{"snrDb":{snr},"detectedLanguage":"EN-us"}},"timestamp":"{ts}"}}"#).into_bytes()
    };
    let mut out = e.feed(&seg(true, 20, false, "1970-01-01T00:00:01Z"), 1_000);
    out.extend(e.feed(&seg(true, 20, true, "1970-01-01T00:00:02Z"), 2_000));
    out.extend(e.feed(&seg(false, 5, false, "1970-01-01T00:00:03Z"), 3_000));
    let states: Vec<(String, Vec<String>)> = out
        .iter()
        .filter_map(|r| {
            if let Record::Partial(p) = r {
                Some((p.state.clone(), p.flags.clone()))
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        states,
        [
            ("interim".into(), vec![]),
            ("interrupted".into(), vec![]),
            ("interim".into(), vec!["interruption".into()]),
            // The dropped final closes the interim it would have replaced, saying why.
            (
                "dropped".into(),
                vec!["interruption".into(), "low_snr".into()]
            )
        ]
    );
    assert!(utterances(&out).is_empty());
    assert_eq!(e.stats().dropped["low_snr"], 1);
    assert_eq!(e.stats().partials_dropped, 1);
}

#[test]
fn conversation_events_split_across_frames() {
    let mut e = Engine::new(EngineConfig::for_format(WireFormat::ConversationEvents)).unwrap();
    let doc = br#"{"conversationId":"c","type":"metadata","data":{"queue":"sales"}}{"conversationId":"c","type":"transcript","data":{"utteranceId":"u","text":"hi","sessionStartTimeMs":0,"offsetMs":10,"durationMs":20}}{"conversationId":"c","type":"statusChange","data":{"status":"ended"}}"#;
    let mut out = Vec::new();
    for chunk in doc.chunks(7) {
        out.extend(e.feed(chunk, 5_000));
    }
    out.extend(e.finish());
    assert_eq!(ids(&out), ["u"]);
    let Some(Record::ConversationUpdate(end)) = out.last() else {
        panic!()
    };
    assert_eq!(
        (end.kind.as_str(), end.metadata.clone()),
        ("ended", vec![("queue".to_owned(), "sales".to_owned())])
    );
}

fn updates(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::ConversationUpdate(u) => Some(u.kind.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_replay_after_the_end_does_not_bring_the_conversation_back() {
    let mut e = Engine::new(EngineConfig::default()).unwrap();
    let said = [
        note("c", "u1", "EXTERNAL", 0, false, "hel"),
        note("c", "u1", "EXTERNAL", 0, true, "hello"),
        status("c", "SESSION_ONGOING"),
        status("c", "SESSION_ENDED"),
    ];
    // A socket hand-over delivers everything twice.
    let out = run(&mut e, &[&said[..], &said[..]].concat());
    assert_eq!(updates(&out), ["started", "status", "ended"]);
    assert_eq!(ids(&out), ["u1"]);
    let s = e.stats();
    assert_eq!((s.conversations_ended, s.conversations_active), (1, 0));
    assert_eq!((s.duplicates, s.stale_partials), (1, 1));
    // A final it never gave is delivered, flagged, in a conversation that comes back for it.
    let late = run(&mut e, &[note("c", "u2", "EXTERNAL", 900, true, "bye")]);
    let u = utterances(&late);
    assert_eq!(u.len(), 1);
    assert_eq!(u[0].flags, ["after_end"]);
    assert_eq!(updates(&late), ["started"]);
}

#[test]
fn a_replayed_interim_without_ids_does_not_lend_its_id_to_the_next_utterance() {
    let mut e = Engine::new(EngineConfig::for_format(WireFormat::Interaction)).unwrap();
    let msg = |ts: &str, text: &str, is_final: bool| {
        format!(r#"{{"type":"transcription","interactionId":"i1","mediaTimestamp":"{ts}","text":"{text}","confidence":0.9,"final":{is_final}}}"#).into_bytes()
    };
    let first = [
        msg("2026-03-21T01:10:01.000Z", "hel", false),
        msg("2026-03-21T01:10:02.000Z", "hello", true),
    ];
    let mut frames = [&first[..], &first[..]].concat();
    frames.push(msg("2026-03-21T01:10:06.000Z", "how are you", true));
    let out = run(&mut e, &frames);
    let said: Vec<(&str, &str)> = utterances(&out)
        .iter()
        .map(|u| (u.utterance_id.as_str(), u.text.as_str()))
        .collect();
    assert_eq!(
        said,
        [
            ("2026-03-21T01:10:01.000Z", "hello"),
            ("2026-03-21T01:10:06.000Z", "how are you")
        ]
    );
}

#[test]
fn times_that_overflow_saturate() {
    let mut e = Engine::new(EngineConfig::default()).unwrap();
    let frame = format!(
        r#"{{"topicName":"v2.conversations.c.transcription","eventBody":{{"conversationId":"c","sessionStartTimeMs":1000000,"transcripts":[{{"utteranceId":"u","isFinal":true,"channel":"EXTERNAL","alternatives":[{{"offsetMs":{},"durationMs":{},"transcript":"x"}}]}}]}}}}"#,
        i64::MAX - 10,
        i64::MAX
    );
    let out = run(&mut e, &[frame.into_bytes()]);
    let u = utterances(&out)[0];
    assert_eq!((u.start_ms, u.end_ms), (i64::MAX, i64::MAX));
    assert!(u.latency_ms < 0);
}

#[test]
fn free_text_outside_transcripts_is_redacted() {
    let card = "4111 1111 1111 1111";
    let email = "john.smith@example.com";
    let mut e = Engine::new(EngineConfig::for_format(WireFormat::ConversationEvents)).unwrap();
    let docs = format!(
        r#"{{"conversationId":"c","type":"metadata","data":{{"note":"card {card}","{email}":"x"}}}}{{"conversationId":"c","type":"participants","data":[{{"id":"p1","purpose":"mail {email}"}}]}}{{"conversationId":"c","type":"statusChange","data":{{"status":"on hold, call {email}"}}}}{{"conversationId":"c","type":"{card}","data":{{}}}}"#
    );
    let mut out = e.feed(docs.as_bytes(), 1);
    out.extend(e.finish());
    let mut notifications = Engine::new(EngineConfig::default()).unwrap();
    for frame in [
        format!(r#"{{"result":"400","status":"error","message":"no {email}"}}"#),
        format!(
            r#"{{"topicName":"v2.system.socket_closing","eventBody":{{"message":"closing {card}"}}}}"#
        ),
        format!(r#"{{"topicName":"v2.analytics.{email}","eventBody":{{}}}}"#),
    ] {
        out.extend(notifications.feed(frame.as_bytes(), 1));
    }
    let seen = format!("{out:?}");
    assert!(!seen.contains(card) && !seen.contains("4111"), "{seen}");
    assert!(
        !seen.contains(email) && !seen.contains("john.smith"),
        "{seen}"
    );
    assert!(
        seen.contains("[EMAIL]") && seen.contains("[CREDIT_CARD]"),
        "{seen}"
    );
    // Ids pass as they are; so do the platform's own words.
    assert!(seen.contains(r#"id: "p1""#), "{seen}");
    let controls: Vec<&str> = out
        .iter()
        .filter_map(|r| match r {
            Record::Control(c) => Some(c.kind.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        controls,
        [
            "unknown_type",
            "subscribe_error",
            "socket_closing",
            "unknown_topic"
        ]
    );
}
