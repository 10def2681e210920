//! Per-language checks of the Rust binding.
mod common;

use apollo::{AskOptions, ErrorKind, FinishReason, LogLevel, Model, ModelOptions};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

#[test]
fn version_matches() {
    apollo::check_version().unwrap();
    assert!(apollo::version().starts_with("0.1."));
}

#[test]
fn open_missing_dir_gives_library_message() {
    let dir = std::env::temp_dir().join("apollo-rust-no-such-model");
    let err = Model::open(&dir).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.code(), -5);
    assert!(
        err.message().contains(dir.to_str().unwrap()),
        "{}",
        err.message()
    );
    assert!(err.to_string().contains(err.message()));
}

#[test]
fn model_info_and_tokens() {
    let model = common::open_model();
    let info = model.info().unwrap();
    assert!(info.llm_n_layers > 0 && info.llm_tied_embeddings);
    assert!(!info.vision_towers.is_empty());
    assert_eq!(model.n_tokens(), 151665);
    let ids = model.tokenize("Hello world").unwrap();
    assert_eq!(ids, vec![9707, 1879]);
    assert_eq!(model.detokenize(&ids).unwrap(), "Hello world");
    assert_eq!(model.token_to_piece(1879).unwrap(), b" world".to_vec());
    assert!(model.tokenize("").unwrap().is_empty());
    assert_eq!(
        model.detokenize(&[1_000_000_000]).unwrap_err().kind(),
        ErrorKind::InvalidArg
    );
}

#[test]
fn drop_order_never_matters() {
    let model = common::open_model();
    let s1 = model.session().unwrap();
    let mut s2 = s1.fork().unwrap();
    drop(model);
    drop(s1);
    s2.ask("Hi", &AskOptions::new().max_new_tokens(2)).unwrap();
}

#[test]
fn streaming_closure_stops() {
    let sc = common::scenario();
    let model = common::open_model();
    let mut s = model.session().unwrap();
    let mut n = 0;
    s.ask_streaming(
        &sc.q2,
        &AskOptions::new().greedy().max_new_tokens(32),
        |_| {
            n += 1;
            if n >= 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )
    .unwrap();
    assert_eq!(n, 3);
    assert_eq!(s.finish_reason(), FinishReason::Callback);
}

#[test]
fn panic_in_closure_is_resumed() {
    let model = common::open_model();
    let mut s = model.session().unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = s.ask_streaming("Hi", &AskOptions::new().max_new_tokens(4), |_| {
            panic!("boom")
        });
    }));
    assert!(r.is_err());
    s.ask("Hi", &AskOptions::new().max_new_tokens(2)).unwrap();
}

#[test]
fn session_errors_carry_message() {
    let model = common::open_model();
    let mut s = model.session().unwrap();
    let q = "x".repeat(200_000);
    let e = s.ask(&q, &AskOptions::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ContextFull);
    assert!(e.message().contains("context length"), "{}", e.message());
    assert!(s.tokens().unwrap().is_empty());
    let e = s
        .ask("x", &AskOptions::new().max_new_tokens(0))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArg);
    let e = s.ask("nul\0inside", &AskOptions::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArg);
    let e = s.ask_with_abort(
        "Stop",
        &AskOptions::new(),
        |_| ControlFlow::Continue(()),
        || true,
    );
    assert_eq!(e.unwrap_err().kind(), ErrorKind::Cancelled);
}

#[test]
fn stop_strings() {
    let sc = common::scenario();
    let model = common::open_model();
    let mut s = model.session().unwrap();
    s.add_exchange(&sc.q1, &sc.a1).unwrap();
    let stop = "キャ";
    let opts = AskOptions::new()
        .greedy()
        .repetition_penalty(1.0)
        .max_new_tokens(32)
        .stop(stop);
    let mut out = String::new();
    s.ask_streaming(&sc.q2, &opts, |t| {
        out.push_str(t);
        ControlFlow::Continue(())
    })
    .unwrap();
    if let Some(cut) = sc.greedy_text.find(stop) {
        assert_eq!(s.finish_reason(), FinishReason::StopString);
        assert_eq!(out, &sc.greedy_text[..cut]);
    }
}

#[test]
fn cancel_from_another_thread() {
    let sc = common::scenario();
    let model = common::open_model();
    let mut s = model.session().unwrap();
    s.add_exchange(&sc.q1, &sc.a1).unwrap();
    let n0 = s.tokens().unwrap().len();
    let canceller = s.canceller();
    let (seen_tx, seen_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let th = thread::spawn(move || {
        seen_rx.recv().unwrap();
        canceller.cancel();
        done_tx.send(()).unwrap();
    });
    let mut first = true;
    let opts = AskOptions::new()
        .greedy()
        .repetition_penalty(1.0)
        .max_new_tokens(100_000);
    let r = s.ask_streaming(&sc.q2, &opts, |_| {
        if first {
            first = false;
            seen_tx.send(()).unwrap();
            // the cancel lands while this call is running
            done_rx.recv_timeout(Duration::from_secs(30)).unwrap();
        }
        ControlFlow::Continue(())
    });
    th.join().unwrap();
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Cancelled);
    assert_eq!(s.tokens().unwrap().len(), n0);
    s.ask(
        "Another question.",
        &AskOptions::new().max_new_tokens(4).seed(7),
    )
    .unwrap();
}

#[test]
fn reset_fork_seed() {
    let model = common::open_model();
    let mut s = model.session_with_system_prompt("You are terse.").unwrap();
    let opts = AskOptions::new().max_new_tokens(8).seed(1234);
    let a = s.ask("Hello!", &opts).unwrap();
    let toks = s.tokens().unwrap();
    let mut f = s.fork().unwrap();
    assert_eq!(f.tokens().unwrap(), toks);
    f.ask("More?", &AskOptions::new().max_new_tokens(2))
        .unwrap();
    assert_eq!(s.tokens().unwrap(), toks);
    s.reset().unwrap();
    assert!(s.tokens().unwrap().is_empty());
    assert_eq!(s.ask("Hello!", &opts).unwrap(), a);
}

#[test]
fn model_shared_between_threads_sessions_moved() {
    let sc = Arc::new(common::scenario());
    let model = common::open_model();
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let model = model.clone();
            let sc = sc.clone();
            thread::spawn(move || {
                let mut s = model.session().unwrap();
                s.add_exchange(&sc.q1, &sc.a1).unwrap();
                let opts = AskOptions::new()
                    .greedy()
                    .repetition_penalty(1.0)
                    .max_new_tokens(8);
                s.ask(&sc.q2, &opts).unwrap();
                s // sessions are Send: hand it back
            })
        })
        .collect();
    let mut expect = sc.prompt_ids.clone();
    expect.extend_from_slice(&sc.greedy_ids[..8]);
    for h in handles {
        assert_eq!(h.join().unwrap().tokens().unwrap(), expect);
    }
}

#[test]
fn log_closure() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let (l, c) = (lines.clone(), count.clone());
    let opts = ModelOptions::new()
        .n_threads(1)
        .log(LogLevel::Debug, move |_lvl, msg| {
            l.lock().unwrap().push(msg.to_string());
            c.fetch_add(1, Ordering::SeqCst);
        });
    let model = Model::open_with(common::model_dir(), opts).unwrap();
    let mut s = model.session().unwrap();
    drop(model);
    s.ask("Hi", &AskOptions::new().max_new_tokens(2)).unwrap();
    drop(s);
    assert!(count.load(Ordering::SeqCst) > 0);
}
