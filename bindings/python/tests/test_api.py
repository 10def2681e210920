"""Per-language checks of the Python binding."""
from __future__ import annotations

import gc
import threading

import pytest

import apollo


def test_version():
    assert apollo.version_number() // 100 == 100 // 100
    assert apollo.version().startswith("0.1.")
    assert apollo.library_path()


def test_open_missing_dir_raises_library_message(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(apollo.ApolloError) as ei:
        apollo.Model(missing)
    e = ei.value
    assert e.code == apollo.E_NOT_FOUND
    assert e.name == "APOLLO_E_NOT_FOUND"
    assert str(missing) in e.message  # the library's detailed message
    assert e.message in str(e)


def test_model_info_and_tokens(model):
    info = model.info
    assert info.llm_n_layers > 0 and info.llm_hidden_size > 0
    assert info.llm_tied_embeddings
    assert len(info.vision_towers) >= 1
    assert model.backend in (apollo.BACKEND_CPU, apollo.BACKEND_ONEDNN)
    assert model.n_tokens == 151665
    ids = model.tokenize("Hello world")
    assert ids == [9707, 1879]
    assert model.detokenize(ids) == "Hello world"
    assert model.token_to_piece(1879) == b" world"
    assert model.tokenize("") == []
    assert model.tokenize("<|im_start|>") == [151644]
    with pytest.raises(apollo.ApolloError) as ei:
        model.detokenize([10**9])
    assert ei.value.code == apollo.E_INVALID_ARG


def test_context_managers_and_close(model_dir):
    with apollo.Model(model_dir, n_threads=1) as m:
        with m.session() as s:
            assert s.tokens == []
        assert s.closed
        with pytest.raises(apollo.ApolloError) as ei:
            s.ask("x")
        assert ei.value.code == apollo.E_MISUSE
        s.close()  # twice is fine
    assert m.closed
    with pytest.raises(apollo.ApolloError):
        m.tokenize("x")
    with pytest.raises(apollo.ApolloError):
        m.session()


def test_del_fallback(model_dir):
    m = apollo.Model(model_dir, n_threads=1)
    s = m.session()
    del m
    gc.collect()
    assert s.ask("Hi", max_new_tokens=2, seed=1) is not None  # the session kept the model
    del s
    gc.collect()


def test_streaming_callback_stop(model, scenario):
    seen = []

    def on_text(chunk: str) -> bool:
        seen.append(chunk)
        return len(seen) >= 3  # stop after three chunks

    with model.session() as s:
        s.ask(scenario["q2"], do_sample=False, max_new_tokens=32, on_text=on_text)
        assert len(seen) == 3
        assert s.finish_reason == "callback"


def test_callback_exception_propagates(model):
    def boom(chunk: str) -> None:
        raise KeyError("boom")

    with model.session() as s:
        with pytest.raises(KeyError):
            s.ask("Hi", max_new_tokens=8, on_text=boom)
        assert s.ask("Hi", max_new_tokens=2) is not None  # still usable


def test_stream_closed_early(model, scenario):
    with model.session() as s:
        with s.ask(scenario["q2"], stream=True, do_sample=False, max_new_tokens=64) as st:
            first = next(st)
            assert first
        assert s.finish_reason in ("callback", "length", "eos")
        assert s.ask("Hi", max_new_tokens=2) is not None


def test_stop_strings(model, scenario):
    stop = "キャ"
    with model.session() as s:
        s.add_exchange(scenario["q1"], scenario["a1"])
        out = []
        s.ask(scenario["q2"], do_sample=False, repetition_penalty=1.0, max_new_tokens=32,
              stop=[stop], on_text=out.append)
        if stop in scenario["greedy_text"]:
            assert s.finish_reason == "stop_string"
            assert "".join(out) == scenario["greedy_text"][:scenario["greedy_text"].index(stop)]


def test_errors_from_session(model):
    with model.session() as s:
        before = s.tokens
        with pytest.raises(apollo.ApolloError) as ei:
            s.ask("x" * 200000)
        assert ei.value.code == apollo.E_CONTEXT_FULL
        assert "context length" in ei.value.message
        assert s.tokens == before
        with pytest.raises(apollo.ApolloError) as ei:
            s.ask("x", max_new_tokens=0)
        assert ei.value.code == apollo.E_INVALID_ARG
        with pytest.raises(ValueError):
            s.ask("nul\0inside")


def test_abort_callback(model):
    with model.session() as s:
        with pytest.raises(apollo.ApolloError) as ei:
            s.ask("Stop at once.", abort=lambda: True)
        assert ei.value.code == apollo.E_CANCELLED
        assert s.tokens == []


def test_cancel_from_another_thread(model, scenario):
    with model.session() as s:
        s.add_exchange(scenario["q1"], scenario["a1"])
        n0 = len(s.tokens)
        seen = threading.Event()
        cancelled = threading.Event()

        def canceller():
            seen.wait(30)
            s.cancel()
            cancelled.set()

        def on_text(chunk):
            seen.set()
            cancelled.wait(30)  # the cancel lands while this call is running

        t = threading.Thread(target=canceller)
        t.start()
        with pytest.raises(apollo.ApolloError) as ei:
            s.ask(scenario["q2"], do_sample=False, repetition_penalty=1.0,
                  max_new_tokens=100000, on_text=on_text)
        t.join()
        assert ei.value.code == apollo.E_CANCELLED
        assert len(s.tokens) == n0  # the cancelled turn left no trace
        assert s.ask("Another question.", max_new_tokens=4, seed=7) is not None


def test_reset_fork_and_seed(model):
    with model.session(system_prompt="You are terse.") as s:
        a = s.ask("Hello!", max_new_tokens=8, seed=1234)
        toks = s.tokens
        with s.fork() as f:
            assert f.tokens == toks
            f.ask("More?", max_new_tokens=2)
            assert s.tokens == toks
        s.reset()
        assert s.tokens == []
        assert s.ask("Hello!", max_new_tokens=8, seed=1234) == a


def test_model_shared_between_threads(model, scenario):
    results = {}

    def worker(i):
        with model.session() as s:
            s.add_exchange(scenario["q1"], scenario["a1"])
            s.ask(scenario["q2"], do_sample=False, repetition_penalty=1.0, max_new_tokens=8)
            results[i] = s.tokens

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expect = scenario["prompt_ids"] + scenario["greedy_ids"][:8]
    assert all(results[i] == expect for i in range(3))


def test_log_callback(model_dir):
    lines = []
    with apollo.Model(model_dir, n_threads=1, log=lambda lvl, msg: lines.append((lvl, msg)),
                      log_level=apollo.LOG_DEBUG) as m:
        with m.session() as s:
            s.ask("Hi", max_new_tokens=2)
    assert lines and all(isinstance(m, str) for _, m in lines)


@pytest.mark.parametrize("name", ["ctx_params", "model_info", "session_params",
                                  "generate_params", "video_params", "video_info"])
def test_struct_layouts_match_library(name):
    """Each mirrored struct has the size the library's _init sets (run on an
    oversized buffer), so a field added to apollo.h is caught."""
    import ctypes
    from apollo import _capi
    lib = _capi.lib()
    init = getattr(lib, "apollo_" + name + "_init")
    buf = ctypes.create_string_buffer(4096)
    init(ctypes.cast(buf, ctypes.POINTER(getattr(_capi, name))))
    c_size = int.from_bytes(buf.raw[:4], "little")
    assert ctypes.sizeof(getattr(_capi, name)) == c_size
