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


@pytest.mark.skipif(not hasattr(apollo._capi.lib(), "apollo_session_add_video"),
                    reason="libapollo has no apollo_session_add_video yet")
def test_golden_video(model_dir):
    """Video scenario: the video, then turn 1 restored, then turn 2 asked greedily."""
    from conftest import load_scenario
    ref = load_scenario("tiny-tied", "video-cfr")
    q1 = ref["q1"].rsplit("\n\n", 1)[1]  # the text after the video block
    with apollo.Model(model_dir, n_threads=2) as m, m.video(CFR) as v, m.session() as s:
        s.add_video(v)
        s.add_exchange(q1, ref["a1"])
        chunks = []
        s.ask(ref["q2"], do_sample=False, repetition_penalty=1.0, max_new_tokens=32,
              on_text=chunks.append)
        assert s.tokens == ref["prompt_ids"] + ref["greedy_ids"]
        assert "".join(chunks) == ref["greedy_text"]
