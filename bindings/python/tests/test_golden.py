"""The golden scenario shared by the C, Python, Rust and Go suites."""
from __future__ import annotations

import apollo


def _golden(model_dir, scenario, penalty, expect_key):
    chunks = []
    model = apollo.Model(model_dir, n_threads=2)
    with model.session() as s:
        model.close()  # the session keeps the model alive
        s.add_exchange(scenario["q1"], scenario["a1"])
        answer = s.ask(scenario["q2"], do_sample=False, repetition_penalty=penalty,
                       max_new_tokens=32, on_text=chunks.append)
        assert s.tokens == scenario["prompt_ids"] + scenario[expect_key]
        assert s.finish_reason == "length"
        assert answer == "".join(chunks).strip()
        return "".join(chunks)


def test_golden_greedy(model_dir, scenario):
    text = _golden(model_dir, scenario, 1.0, "greedy_ids")
    assert text == scenario["greedy_text"]


def test_golden_greedy_model_repetition_penalty(model_dir, scenario):
    # None = the checkpoint's generation_config (1.1 for the tiny model)
    text = _golden(model_dir, scenario, None, "greedy_rp_ids")
    assert text == scenario["greedy_rp_text"]


def test_golden_streaming_iterator(model, scenario):
    with model.session() as s:
        s.add_exchange(scenario["q1"], scenario["a1"])
        stream = s.ask(scenario["q2"], stream=True, do_sample=False, repetition_penalty=1.0,
                       max_new_tokens=32)
        chunks = list(stream)
        assert len(chunks) > 1
        assert "".join(chunks) == scenario["greedy_text"]
        assert stream.answer == scenario["greedy_text"].strip()
        assert stream.finish_reason == "length"
        assert s.tokens == scenario["prompt_ids"] + scenario["greedy_ids"]
