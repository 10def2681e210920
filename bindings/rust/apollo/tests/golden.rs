//! The golden scenario shared by the C, Python, Rust and Go suites.
mod common;

use apollo::{AskOptions, FinishReason};
use std::ops::ControlFlow;

fn golden(penalty: Option<f32>, expect_ids: &[i32], expect_text: &str) {
    let sc = common::scenario();
    let model = common::open_model();
    let mut s = model.session().unwrap();
    drop(model); // the session keeps the model alive
    s.add_exchange(&sc.q1, &sc.a1).unwrap();
    let mut opts = AskOptions::new().greedy().max_new_tokens(32);
    opts.repetition_penalty = penalty; // None = the model's generation_config
    let mut streamed = String::new();
    let answer = s
        .ask_streaming(&sc.q2, &opts, |t| {
            streamed.push_str(t);
            ControlFlow::Continue(())
        })
        .unwrap();
    let mut expect = sc.prompt_ids.clone();
    expect.extend_from_slice(expect_ids);
    assert_eq!(s.tokens().unwrap(), expect);
    assert_eq!(s.finish_reason(), FinishReason::Length);
    assert_eq!(streamed, expect_text);
    assert_eq!(answer, streamed.trim());
}

#[test]
fn golden_greedy() {
    let sc = common::scenario();
    golden(Some(1.0), &sc.greedy_ids, &sc.greedy_text);
}

#[test]
fn golden_greedy_model_repetition_penalty() {
    let sc = common::scenario();
    golden(None, &sc.greedy_rp_ids, &sc.greedy_rp_text);
}
