"""Videos through the Python binding, against the decord reference metadata."""
from __future__ import annotations

import json

import pytest

import apollo

from conftest import FIXTURES

CFR = FIXTURES / "videos" / "cfr_161x97_2997.mp4"


@pytest.fixture(scope="module")
def meta():
    return json.loads((FIXTURES / "reference" / "video-cfr" / "meta.json").read_text())


def _check_cfr(v: apollo.Video, meta) -> None:
    assert v.n_clips == meta["num_clips"] == 3
    info = v.info
    assert info.total_frames == meta["total_frames"]
    assert info.fps == pytest.approx(meta["fps"], rel=0, abs=1e-12)
    assert (info.width, info.height) == (161, 97)
    assert info.codec == "h264" and not info.is_image
    assert info.n_clips == 3 and info.frames_per_clip == 4
    for i in range(3):
        assert v.clip_frames(i) == meta["clip_indices"][i]
        t0, t1 = v.clip_time(i)
        assert [round(t0, 1), round(t1, 1)] == meta["timestamps_rounded"][i]
    with pytest.raises(apollo.ApolloError) as ei:
        v.clip_frames(3)
    assert ei.value.code == apollo.E_INVALID_ARG


def test_video_file(model, meta):
    with model.video(CFR) as v:
        _check_cfr(v, meta)
        assert v.info.source == "file"
        scenario = json.loads((FIXTURES / "reference" / "tiny-tied" / "video-cfr" /
                               "scenario.json").read_text(encoding="utf-8"))
        block = v.prompt_text(placeholders=True)
        assert block in scenario["prompt_text"]
        assert v.prompt_text() == ("You are provided the following series of three, 2 second "
                                   "clips from a 0:00:04.504500 [H:MM:SS] video.\n0.0-1.4 "
                                   "seconds: ,\n1.3-2.7 seconds: ,\n2.6-4.0 seconds: ")
    assert v.closed


def test_video_memory(model, meta):
    with apollo.Video.from_bytes(model, CFR.read_bytes()) as v:
        _check_cfr(v, meta)
        assert v.info.source == "memory"


def test_video_frames_and_image(model):
    w, h, n = 32, 24, 20
    frames = bytearray(w * h * 3 * n)
    for k in range(n):
        frames[k * w * h * 3:(k + 1) * w * h * 3] = bytes([k * 10 % 256]) * (w * h * 3)
    with apollo.Video.from_frames(model, frames, n, w, h, fps=10.0) as v:
        info = v.info
        assert info.source == "frames" and info.total_frames == n and info.fps == 10.0
        assert v.n_clips >= 1
    with apollo.Video.from_frames(model, bytes(w * h * 3), 1, w, h, fps=1.0) as img:
        assert img.info.is_image and img.n_clips == 1


def test_video_errors(model, tmp_path):
    missing = tmp_path / "missing.mp4"
    with pytest.raises(apollo.ApolloError) as ei:
        model.video(missing)
    assert ei.value.code == apollo.E_NOT_FOUND and str(missing) in ei.value.message
    with pytest.raises(apollo.ApolloError) as ei:
        model.video(FIXTURES / "video-bad" / "text.txt")
    assert ei.value.code == apollo.E_VIDEO
    with pytest.raises(apollo.ApolloError) as ei:
        apollo.Video.from_bytes(model, b"")
    assert ei.value.code == apollo.E_NO_VIDEO
    with pytest.raises(TypeError):
        model.video(CFR, bogus=1)


def test_video_keeps_model_alive(model_dir, meta):
    m = apollo.Model(model_dir, n_threads=1)
    v = m.video(CFR, max_clips=2)
    m.close()
    assert v.n_clips == 2
    v.close()


def _video_golden(model, video, ref, fork=False):
    with model.session() as s:
        progress = []
        s.add_video(video, progress=lambda i, n: progress.append((i, n)))
        if fork:
            s = s.fork()
        s.add_exchange(ref["q1"], ref["a1"])
        chunks = []
        s.ask(ref["q2"], do_sample=False, repetition_penalty=1.0, max_new_tokens=32,
              on_text=chunks.append)
        assert s.tokens == ref["prompt_ids"] + ref["greedy_ids"]
        assert "".join(chunks) == ref["greedy_text"]
        return progress


@pytest.fixture(scope="module")
def video_ref():
    ref = json.loads((FIXTURES / "reference" / "tiny-tied" / "video-cfr" /
                      "scenario.json").read_text(encoding="utf-8"))
    text = ref["prompt_text"]
    user1 = text.split("<|im_start|>user\n", 1)[1].split("<|im_end|>", 1)[0]
    ref["q1"] = user1.rsplit("<|video_token|>", 1)[1][2:]  # after the video block + "\n\n"
    ref["a1"] = text.split("<|im_start|>assistant\n", 1)[1].split("<|im_end|>", 1)[0]
    ref["q2"] = text.split("<|im_start|>user\n")[2].split("<|im_end|>", 1)[0]
    return ref


def test_golden_video(model_dir, video_ref, tmp_path):
    """Video scenario: the video, turn 1 restored, turn 2 asked greedily; then
    the same from saved embeddings and from a fork."""
    with apollo.Model(model_dir, n_threads=2) as m, m.video(CFR) as v:
        assert not v.is_encoded
        progress = _video_golden(m, v, video_ref)
        assert progress and progress[-1] == (2, 3)
        assert v.is_encoded
        emb, dim = v.embeddings()
        assert dim == m.info.llm_hidden_size and len(emb) == 3 * v.info.tokens_per_clip * dim
        saved = tmp_path / "cfr.apemb"
        v.save(saved)
        with apollo.Video.load(m, saved) as loaded:
            assert loaded.is_encoded and loaded.n_clips == 3
            assert loaded.embeddings() == (emb, dim)
            assert _video_golden(m, loaded, video_ref, fork=True) == []  # never re-encoded
        with pytest.raises(apollo.ApolloError) as ei:
            apollo.Video.load(m, saved, max_clips=2)
        assert ei.value.code == apollo.E_CONFIG
        data = bytearray(saved.read_bytes())
        data[len(data) // 2] ^= 0xFF
        saved.write_bytes(bytes(data))
        with pytest.raises(apollo.ApolloError) as ei:
            apollo.Video.load(m, saved)
        assert ei.value.code == apollo.E_FORMAT


def test_add_video_abort_and_callback_error(model):
    with model.video(CFR) as v, model.session() as s:
        with pytest.raises(apollo.ApolloError) as ei:
            s.add_video(v, abort=lambda: True)
        assert ei.value.code == apollo.E_CANCELLED and s.tokens == [] and not v.is_encoded

        def boom(i, n):
            raise RuntimeError("stop")
        with pytest.raises(RuntimeError):
            v.encode(progress=boom)
        assert not v.is_encoded
