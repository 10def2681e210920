"""Idiomatic layer: Model, Session, Stream and ApolloError over :mod:`apollo._capi`."""
from __future__ import annotations

import ctypes
import os
import queue
import threading
from ctypes import POINTER, byref, c_char_p, c_int32, c_size_t, c_void_p
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple, Union

from . import _capi as C

StrPath = Union[str, "os.PathLike[str]"]
TextCallback = Callable[[str], Any]
"""Called with each chunk of the answer; a truthy return value stops generation."""
AbortCallback = Callable[[], Any]
"""Polled between layers and tokens; a truthy return value cancels the call."""
ProgressCallback = Callable[[int, int], Any]
"""Called with (i_clip, n_clips) after each encoded clip."""
LogCallback = Callable[[int, str], None]
"""Called with (level, message) for each log line of the model."""

_CODE_NAMES = {v: k for k, v in vars(C).items() if k.startswith("E_") and isinstance(v, int)}


class ApolloError(Exception):
    """A libapollo failure: ``code`` is the negative ``APOLLO_E_*`` status,
    ``message`` the library's detailed message (``apollo_last_errmsg`` or
    ``apollo_session_errmsg``), ``name`` the code's symbolic name."""

    def __init__(self, code: int, message: str = "") -> None:
        self.code = code
        self.name = "APOLLO_" + _CODE_NAMES.get(code, "E_UNKNOWN")
        self.reason = strerror(code)
        self.message = message or self.reason
        super().__init__(self.message if self.message == self.reason
                         else f"{self.reason}: {self.message}")


def strerror(code: int) -> str:
    """Static English text for a status code."""
    return C.lib().apollo_strerror(code).decode("utf-8", "replace")


def version() -> str:
    """Version string of the loaded library, e.g. ``"0.1.0"``."""
    return C.lib().apollo_version_string().decode()


def version_number() -> int:
    """``MAJOR*10000 + MINOR*100 + PATCH`` of the loaded library."""
    return int(C.lib().apollo_version_number())


def library_path() -> str:
    """Where the loaded library was found."""
    return getattr(C.lib(), "_apollo_path", "")


def _check(rc: int) -> int:
    """Raises for a negative status, with the calling thread's last message."""
    if rc < 0:
        raise ApolloError(rc, C.lib().apollo_last_errmsg().decode("utf-8", "replace"))
    return rc


def _utf8(s: str, what: str) -> bytes:
    b = s.encode("utf-8")
    if b"\0" in b:
        raise ValueError(f"{what} contains a NUL character")
    return b


_FINISH_NAMES = {C.FINISH_NONE: "none", C.FINISH_EOS: "eos", C.FINISH_STOP_STRING: "stop_string",
                 C.FINISH_LENGTH: "length", C.FINISH_CONTEXT: "context",
                 C.FINISH_CALLBACK: "callback"}


def finish_reason_name(reason: int) -> str:
    """``"eos"``, ``"stop_string"``, ``"length"``, ``"context"``, ``"callback"`` or ``"none"``."""
    return _FINISH_NAMES.get(reason, "unknown")


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class VisionTower:
    kind: int  # TOWER_SIGLIP or TOWER_INTERNVIDEO2
    name: str
    hidden_size: int
    n_layers_run: int
    n_params: int


@dataclass(frozen=True)
class ModelInfo:
    """Summary of a loaded model (``apollo_model_info``)."""
    llm_hidden_size: int
    llm_intermediate_size: int
    llm_n_layers: int
    llm_n_heads: int
    llm_n_kv_heads: int
    llm_head_dim: int
    llm_vocab_size: int
    llm_tied_embeddings: bool
    context_length: int
    llm_rope_theta: float
    llm_rms_norm_eps: float
    vision_towers: Tuple[VisionTower, ...]
    vision_select_layer: int
    frames_per_clip: int
    tokens_per_clip: int
    clip_duration_s: float
    model_max_length: int
    n_params_llm: int
    n_params_connector: int

    @property
    def n_params(self) -> int:
        return self.n_params_llm + self.n_params_connector + sum(
            t.n_params for t in self.vision_towers)


_BACKENDS = {"auto": C.BACKEND_AUTO, "cpu": C.BACKEND_CPU, "onednn": C.BACKEND_ONEDNN}
_PRECISIONS = {"f32": C.PRECISION_F32, "bf16": C.PRECISION_BF16, "int8": C.PRECISION_INT8}


class _Handle:
    """Lifetime plumbing shared by Model, Session and Video: the C handle
    lives in ``self._h``; ``close()`` (defined by each class) releases it,
    also through ``with`` and, as a safety net, garbage collection."""

    _h: Optional[int] = None
    _what = "handle"

    def close(self) -> None:  # pragma: no cover - each class defines it
        raise NotImplementedError

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._release_on_gc()
        except Exception:
            pass

    def _release_on_gc(self) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return not self._h

    def _handle(self) -> int:
        if not self._h:
            raise ApolloError(C.E_MISUSE, "the %s is closed" % self._what)
        return self._h


class Model(_Handle):
    """A loaded Apollo checkpoint (``apollo_ctx``).

    Options: ``n_threads`` (0 = all CPUs), ``backend`` ("auto", "cpu",
    "onednn"), ``precision`` ("f32", the default, "bf16", or "int8": int8
    LLM weights quantized at open), ``log``
    (a callable receiving (level, message)) and ``log_level``.

    Safe to share between threads.  Sessions (and videos) keep the model
    alive, so closing the model while they are open is fine.

    >>> with apollo.Model("Apollo-1.5B-t32") as model:
    ...     with model.session() as s:
    ...         print(s.ask("Hello!"))
    """

    def __init__(self, path: StrPath, *, n_threads: int = 0,
                 backend: Union[str, int] = "auto", precision: Union[str, int] = "f32",
                 log: Optional[LogCallback] = None, log_level: int = C.LOG_WARN) -> None:
        lib = C.lib()
        self._lib = lib
        self._h: Optional[int] = None
        p = C.ctx_params()
        lib.apollo_ctx_params_init(byref(p))
        p.n_threads = n_threads
        p.backend = _BACKENDS[backend.lower()] if isinstance(backend, str) else int(backend)
        p.precision = _PRECISIONS[precision.lower()] if isinstance(precision, str) \
            else int(precision)
        p.log_level = log_level
        self._log_cb = None
        if log is not None:
            def _on_log(level: int, msg: Optional[bytes], _ud: Any) -> None:
                try:
                    log(int(level), (msg or b"").decode("utf-8", "replace"))
                except Exception:  # never let an exception cross into C
                    pass
            # referenced as long as this object lives; sessions reference the model
            self._log_cb = C.log_fn(_on_log)
            p.log_fn = self._log_cb
        out = C.ctx_p()
        _check(lib.apollo_ctx_open(_utf8(os.fspath(path), "path"), byref(p), byref(out)))
        self._h = out.value
        self.path = os.fspath(path)

    # lifetime -------------------------------------------------------------
    _what = "model"

    def close(self) -> None:
        """Releases this handle (open sessions keep the weights alive)."""
        ctx, self._h = self._h, None
        if ctx:
            self._lib.apollo_ctx_free(ctx)

    def __enter__(self) -> "Model":
        return self

    # queries --------------------------------------------------------------
    @property
    def backend(self) -> int:
        """The backend in use (``BACKEND_CPU`` or ``BACKEND_ONEDNN``)."""
        return _check(self._lib.apollo_ctx_get_backend(self._handle()))

    @property
    def n_tokens(self) -> int:
        """Number of token ids the tokenizer defines."""
        return _check(self._lib.apollo_ctx_n_tokens(self._handle()))

    @property
    def info(self) -> ModelInfo:
        i = C.model_info()
        self._lib.apollo_model_info_init(byref(i))
        _check(self._lib.apollo_ctx_get_model_info(self._handle(), byref(i)))
        towers = tuple(
            VisionTower(i.tower_kind[k], i.tower_name[k].value.decode("utf-8", "replace"),
                        i.tower_hidden_size[k], i.tower_n_layers_run[k], i.n_params_vision[k])
            for k in range(min(i.n_vision_towers, C.MAX_VISION_TOWERS)))
        return ModelInfo(
            i.llm_hidden_size, i.llm_intermediate_size, i.llm_n_layers, i.llm_n_heads,
            i.llm_n_kv_heads, i.llm_head_dim, i.llm_vocab_size, bool(i.llm_tied_embeddings),
            i.context_length, i.llm_rope_theta, i.llm_rms_norm_eps, towers,
            i.vision_select_layer, i.frames_per_clip, i.tokens_per_clip, i.clip_duration_s,
            i.model_max_length, i.n_params_llm, i.n_params_connector)

    # tokens ---------------------------------------------------------------
    def tokenize(self, text: str) -> List[int]:
        """Token ids of ``text`` exactly as the checkpoint's HF tokenizer gives them."""
        b = text.encode("utf-8")
        cap = len(b) + 1  # every token covers at least one byte
        ids = (c_int32 * cap)()
        n = c_size_t()
        _check(self._lib.apollo_tokenize(self._handle(), b, len(b), ids, cap, byref(n)))
        return list(ids[:n.value])

    def detokenize(self, ids: Sequence[int]) -> str:
        """Text of ``ids`` (special tokens written out)."""
        arr = (c_int32 * len(ids))(*ids)
        n = c_size_t()
        _check(self._lib.apollo_detokenize(self._handle(), arr, len(ids), None, 0, byref(n)))
        buf = ctypes.create_string_buffer(n.value + 1)
        _check(self._lib.apollo_detokenize(self._handle(), arr, len(ids), buf, n.value + 1,
                                           byref(n)))
        return buf.raw[:n.value].decode("utf-8", "replace")

    def token_to_piece(self, token: int) -> bytes:
        """Raw bytes of one token (possibly part of a UTF-8 character)."""
        n = c_size_t()
        _check(self._lib.apollo_token_to_piece(self._handle(), token, None, 0, byref(n)))
        buf = ctypes.create_string_buffer(n.value + 1)
        _check(self._lib.apollo_token_to_piece(self._handle(), token, buf, n.value + 1, byref(n)))
        return buf.raw[:n.value]

    # children -------------------------------------------------------------
    def session(self, system_prompt: Optional[str] = None) -> "Session":
        """A new, empty conversation."""
        return Session(self, system_prompt)

    def video(self, path: StrPath, **options: Any) -> "Video":
        """Opens a video or image file for this model (see :class:`Video`)."""
        return Video.open(self, path, **options)


# --------------------------------------------------------------------------
# Generation options
# --------------------------------------------------------------------------

@dataclass
class GenerateOptions:
    """Options of :meth:`Session.ask`; ``None`` means the model's default
    (``llm/generation_config.json``)."""
    max_new_tokens: Optional[int] = None
    do_sample: Optional[bool] = None
    temperature: Optional[float] = None
    top_p: Optional[float] = None
    top_k: Optional[int] = None
    repetition_penalty: Optional[float] = None
    seed: int = 0
    stop: Sequence[str] = field(default_factory=tuple)


class _Call:
    """One apollo_session_ask call's params struct and the ctypes objects it
    points to (kept referenced while C may use them)."""

    def __init__(self, lib: Any, opts: GenerateOptions, on_chunk: Optional[TextCallback],
                 abort: Optional[AbortCallback]) -> None:
        p = C.generate_params()
        lib.apollo_generate_params_init(byref(p))
        if opts.max_new_tokens is not None:
            p.max_new_tokens = opts.max_new_tokens
        if opts.do_sample is not None:
            p.do_sample = 1 if opts.do_sample else 0
        if opts.temperature is not None:
            p.temperature = opts.temperature
        if opts.top_p is not None:
            p.top_p = opts.top_p
        if opts.top_k is not None:
            p.top_k = opts.top_k
        if opts.repetition_penalty is not None:
            p.repetition_penalty = opts.repetition_penalty
        p.seed = opts.seed
        stops = [_utf8(s, "stop string") for s in opts.stop]
        self._stops = (c_char_p * max(1, len(stops)))(*stops)
        if stops:
            p.stop_strings = self._stops
            p.n_stop_strings = len(stops)
        self.error: Optional[BaseException] = None
        self._text_cb = self._abort_cb = None
        if on_chunk is not None:
            def _on_text(text: Any, n: int, _ud: Any) -> int:
                try:
                    return 1 if on_chunk(ctypes.string_at(text, n).decode("utf-8", "replace")) \
                        else 0
                except BaseException as e:  # re-raised by Session.ask
                    self.error = e
                    return 1
            self._text_cb = C.text_fn(_on_text)
            p.on_text = self._text_cb
        if abort is not None:
            def _abort(_ud: Any) -> int:
                try:
                    return 1 if abort() else 0
                except BaseException as e:
                    self.error = e
                    return 1
            self._abort_cb = C.abort_fn(_abort)
            p.abort_fn = self._abort_cb
        self.params = p


class _Encode:
    """An apollo_encode_params and the callbacks it points to."""

    def __init__(self, lib: Any, progress: Optional[ProgressCallback],
                 abort: Optional[AbortCallback]) -> None:
        p = C.encode_params()
        lib.apollo_encode_params_init(byref(p))
        self.error: Optional[BaseException] = None
        self._progress_cb = self._abort_cb = None
        if progress is not None:
            def _progress(i: int, n: int, _ud: Any) -> None:
                if self.error is None:
                    try:
                        progress(int(i), int(n))
                    except BaseException as e:  # stops at the next abort poll
                        self.error = e
            self._progress_cb = C.progress_fn(_progress)
            p.progress_fn = self._progress_cb

        def _abort(_ud: Any) -> int:
            if self.error is not None:
                return 1
            try:
                return 1 if abort is not None and abort() else 0
            except BaseException as e:
                self.error = e
                return 1
        self._abort_cb = C.abort_fn(_abort)
        p.abort_fn = self._abort_cb
        self.params = p

    def reraise(self) -> None:
        if self.error is not None:
            raise self.error


# --------------------------------------------------------------------------
# Session
# --------------------------------------------------------------------------

class Session(_Handle):
    """A conversation (``apollo_session``): its history lives in a KV cache so
    a new question never recomputes earlier turns.

    One call runs at a time (concurrent calls from several threads are
    serialised); :meth:`cancel` may be called from any thread.
    """

    def __init__(self, model: Model, system_prompt: Optional[str] = None, *,
                 _handle: Optional[int] = None) -> None:
        self._lib = model._lib
        self._model = model  # keeps the model's log callback alive
        self._h: Optional[int] = None
        self._lock = threading.RLock()      # one call at a time
        self._hlock = threading.Lock()      # guards the handle for cancel()
        if _handle is not None:
            self._h = _handle
            return
        p = C.session_params()
        self._lib.apollo_session_params_init(byref(p))
        if system_prompt is not None:
            p.system_prompt = _utf8(system_prompt, "system prompt")
        out = C.session_p()
        _check(self._lib.apollo_session_new(model._handle(), byref(p), byref(out)))
        self._h = out.value

    # lifetime -------------------------------------------------------------
    def close(self) -> None:
        """Ends the conversation (waits for a running call to finish)."""
        with self._lock:
            with self._hlock:
                h, self._h = self._h, None
            if h:
                self._lib.apollo_session_free(h)

    _what = "session"

    def __enter__(self) -> "Session":
        return self

    def _release_on_gc(self) -> None:
        # no locks from a finalizer: nothing else can hold the session now
        h, self._h = self._h, None
        if h:
            self._lib.apollo_session_free(h)

    @property
    def model(self) -> Model:
        return self._model

    def _check(self, rc: int) -> int:
        if rc < 0:
            msg = self._lib.apollo_session_errmsg(self._h).decode("utf-8", "replace")
            raise ApolloError(rc, msg or self._lib.apollo_last_errmsg().decode("utf-8",
                                                                                "replace"))
        return rc

    # conversation ---------------------------------------------------------
    def ask(self, question: str, *, stream: bool = False,
            on_text: Optional[TextCallback] = None, abort: Optional[AbortCallback] = None,
            options: Optional[GenerateOptions] = None, **kwargs: Any) -> Any:
        """Asks ``question`` and generates the answer.

        Returns the whole answer (white space stripped) or, with
        ``stream=True``, a :class:`Stream` iterating over the answer's chunks
        as they are generated.  ``on_text(chunk)`` is called for each chunk
        (on the generating thread); a truthy return stops the answer there
        (finish reason ``"callback"``).  ``abort()`` is polled while working;
        truthy cancels the call (:class:`ApolloError` ``E_CANCELLED``; the
        conversation is left as it was).  Generation options are given as
        ``options`` or as keyword arguments of :class:`GenerateOptions`
        (``max_new_tokens``, ``do_sample``, ``temperature``, ``top_p``,
        ``top_k``, ``repetition_penalty``, ``seed``, ``stop``).
        """
        opts = options if options is not None else GenerateOptions(**kwargs)
        if options is not None and kwargs:
            raise TypeError("give either options or keyword arguments")
        q = _utf8(question, "question")
        if stream:
            return Stream(self, q, opts, on_text, abort)
        return self._ask(q, opts, on_text, abort)

    def _ask(self, q: bytes, opts: GenerateOptions, on_text: Optional[TextCallback],
             abort: Optional[AbortCallback]) -> str:
        with self._lock:
            call = _Call(self._lib, opts, on_text, abort)
            ans = c_void_p()
            rc = self._lib.apollo_session_ask(self._handle(), q, byref(call.params), byref(ans))
            try:
                if call.error is not None:
                    raise call.error
                self._check(rc)
                return ctypes.string_at(ans.value).decode("utf-8", "replace") if ans.value \
                    else ""
            finally:
                self._lib.apollo_free(ans)

    def add_exchange(self, question: str, answer: str) -> None:
        """Appends a finished exchange without generating (prefilled now)."""
        with self._lock:
            self._check(self._lib.apollo_session_add_exchange(
                self._handle(), _utf8(question, "question"), _utf8(answer, "answer")))

    def reset(self) -> None:
        """Forgets the conversation (the system prompt is kept)."""
        with self._lock:
            self._check(self._lib.apollo_session_reset(self._handle()))

    def fork(self) -> "Session":
        """A copy of the conversation sharing nothing mutable with this one."""
        with self._lock:
            out = C.session_p()
            self._check(self._lib.apollo_session_fork(self._handle(), byref(out)))
            return Session(self._model, _handle=out.value)

    def add_video(self, video: "Video", *, progress: Optional[ProgressCallback] = None,
                  abort: Optional[AbortCallback] = None) -> None:
        """Shows a video to the model: opens a user message with the video's
        block and evaluates it; the next :meth:`ask` (or
        :meth:`add_exchange`) completes that message with its question.
        Encodes the video first if needed (``progress(i_clip, n_clips)``
        after each clip, ``abort()`` polled; :meth:`cancel` also stops it).
        The session does not keep the video.  Fork the session afterwards to
        ask several questions about one video for the price of one."""
        with self._lock:
            enc = _Encode(self._lib, progress, abort)
            rc = self._lib.apollo_session_add_video(self._handle(), video._handle(),
                                                    byref(enc.params))
            enc.reraise()
            self._check(rc)

    def cancel(self) -> None:
        """Stops the running call (or else the next one) with ``E_CANCELLED``.
        May be called from any thread."""
        with self._hlock:
            if self._h:
                self._lib.apollo_session_cancel(self._h)

    @property
    def finish_reason(self) -> str:
        """How the last answer ended: ``"eos"``, ``"stop_string"``, ``"length"``,
        ``"context"``, ``"callback"`` or ``"none"``."""
        with self._lock:
            return finish_reason_name(
                self._check(self._lib.apollo_session_get_finish_reason(self._handle())))

    @property
    def tokens(self) -> List[int]:
        """The conversation's token ids (visual tokens appear as -200)."""
        with self._lock:
            h = self._handle()
            n = c_size_t()
            self._check(self._lib.apollo_session_get_tokens(h, None, 0, byref(n)))
            buf = (c_int32 * max(1, n.value))()
            self._check(self._lib.apollo_session_get_tokens(h, buf, n.value, byref(n)))
            return list(buf[:n.value])


_DONE = object()


class Stream(Iterator[str]):
    """The answer of ``Session.ask(..., stream=True)`` as an iterator of text
    chunks (whole UTF-8 characters, not stripped).

    Generation runs on a background thread that calls the C function and
    pushes each chunk onto a queue; iterating pops them, so the answer is
    produced as fast as the model goes, independently of the consumer.  An
    error of the call is raised by the iteration after the last chunk.
    Closing the stream early (``close()``, leaving a ``with`` block, or
    garbage collection) stops generation after the current token; the
    conversation then keeps the partial answer (finish reason
    ``"callback"``).  After the iteration ends, ``answer`` holds the whole
    stripped answer and ``finish_reason`` how it ended.
    """

    def __init__(self, session: Session, question: bytes, opts: GenerateOptions,
                 on_text: Optional[TextCallback], abort: Optional[AbortCallback]) -> None:
        self._session = session
        self._queue: "queue.Queue[Any]" = queue.Queue()
        self._stop = threading.Event()
        self._error: Optional[BaseException] = None
        self._done = False
        self.answer: Optional[str] = None
        self.finish_reason: Optional[str] = None

        def chunk(text: str) -> bool:
            self._queue.put(text)
            stop = bool(on_text(text)) if on_text is not None else False
            return stop or self._stop.is_set()

        def run() -> None:
            try:
                self.answer = session._ask(question, opts, chunk, abort)
                self.finish_reason = session.finish_reason
            except BaseException as e:
                self._error = e
            finally:
                self._queue.put(_DONE)

        self._thread = threading.Thread(target=run, name="apollo-stream", daemon=True)
        self._thread.start()

    def __iter__(self) -> "Stream":
        return self

    def __next__(self) -> str:
        if self._done:
            raise StopIteration
        item = self._queue.get()
        if item is _DONE:
            self._done = True
            self._thread.join()
            if self._error is not None:
                err, self._error = self._error, None
                raise err
            raise StopIteration
        return item

    def text(self) -> str:
        """Consumes the rest of the stream; returns the concatenated chunks."""
        return "".join(self)

    def close(self) -> None:
        """Stops generation (if still running) and waits for the thread."""
        self._stop.set()
        if not self._done:
            self._thread.join()
            self._done = True

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._stop.set()
        except Exception:
            pass


# --------------------------------------------------------------------------
# Videos
# --------------------------------------------------------------------------

_SOURCES = {C.VIDEO_SOURCE_FILE: "file", C.VIDEO_SOURCE_MEMORY: "memory",
            C.VIDEO_SOURCE_FRAMES: "frames"}


@dataclass(frozen=True)
class VideoInfo:
    """What is known about an opened video (``apollo_video_info``)."""
    source: str  # "file", "memory" or "frames"
    is_image: bool
    total_frames: int
    fps: float
    duration_s: float
    width: int
    height: int
    rotation: int
    n_clips: int
    frames_per_clip: int
    tokens_per_clip: int
    clip_duration_s: float
    budget_ratio: float
    sampling_repaired: bool
    codec: str
    pix_fmt: str
    container: str


def _video_params(lib: Any, fps: Optional[float], max_clips: Optional[int],
                  n_threads: Optional[int], start_s: Optional[float], end_s: Optional[float],
                  clip_sampling_ratio: Optional[float]) -> "C.video_params":
    p = C.video_params()
    lib.apollo_video_params_init(byref(p))
    if fps is not None:
        p.fps = fps
    if max_clips is not None:
        p.max_clips = max_clips
    if n_threads is not None:
        p.n_threads = n_threads
    if start_s is not None:
        p.start_s = start_s
    if end_s is not None:
        p.end_s = end_s
    if clip_sampling_ratio is not None:
        p.clip_sampling_ratio = clip_sampling_ratio
    return p


class Video(_Handle):
    """A video (or image) prepared for one model: opened, its metadata read
    and its clips chosen as Apollo's reference loader does (``apollo_video``).

    Open one with :meth:`Video.open` (a file), :meth:`Video.from_bytes` (a
    whole file in memory) or :meth:`Video.from_frames` (decoded RGB24
    frames), or :meth:`Model.video`.  Used by one thread at a time; keeps
    its model alive.  Options (all optional, ``None`` = the library's
    default): ``fps`` inside a clip, ``max_clips``, ``n_threads`` (decoder),
    ``start_s``/``end_s`` (a window), ``clip_sampling_ratio``.
    """

    def __init__(self, model: Model, _handle: int) -> None:
        self._lib = model._lib
        self._model = model
        self._h: Optional[int] = _handle

    @classmethod
    def open(cls, model: Model, path: StrPath, **options: Any) -> "Video":
        """Opens a video or image file."""
        lib = model._lib
        p = _video_params(lib, **_video_kwargs(options))
        out = C.video_p()
        _check(lib.apollo_video_open_file(model._handle(), _utf8(os.fspath(path), "path"),
                                          byref(p), byref(out)))
        return cls(model, out.value)

    @classmethod
    def from_bytes(cls, model: Model, data: bytes, **options: Any) -> "Video":
        """Opens a complete video or image file held in memory (copied)."""
        lib = model._lib
        p = _video_params(lib, **_video_kwargs(options))
        out = C.video_p()
        buf = bytes(data)
        _check(lib.apollo_video_open_memory(model._handle(), buf, len(buf), byref(p),
                                            byref(out)))
        return cls(model, out.value)

    @classmethod
    def from_frames(cls, model: Model, rgb: Any, n_frames: int, width: int, height: int, *,
                    fps: Optional[float] = None,
                    timestamps_s: Optional[Sequence[float]] = None, row_stride: int = 0,
                    **options: Any) -> "Video":
        """A video made of decoded frames: ``rgb`` is any buffer (bytes,
        bytearray, memoryview, a C-contiguous uint8 array) of ``n_frames``
        frames of ``height`` rows of ``row_stride`` (default ``3 * width``)
        bytes, RGB24.  Give ``fps`` or ``timestamps_s``; one frame makes an
        image.  The frames the clips use are copied.  ``clip_fps`` is the
        ``fps`` option of the other constructors (frames per second inside a
        clip)."""
        lib = model._lib
        if "clip_fps" in options:
            options["fps"] = options.pop("clip_fps")
        p = _video_params(lib, **_video_kwargs(options))
        mv = memoryview(rgb).cast("B")
        need = (row_stride or 3 * width) * height * n_frames
        if mv.nbytes < need:
            raise ValueError(f"rgb holds {mv.nbytes} bytes, {need} needed")
        buf = (ctypes.c_uint8 * mv.nbytes).from_buffer_copy(mv) if mv.readonly else \
            (ctypes.c_uint8 * mv.nbytes).from_buffer(mv)
        ts = (ctypes.c_double * len(timestamps_s))(*timestamps_s) if timestamps_s else None
        out = C.video_p()
        _check(lib.apollo_video_open_frames(model._handle(), buf, n_frames, width, height,
                                            row_stride, fps or 0.0, ts, byref(p), byref(out)))
        return cls(model, out.value)

    # lifetime -------------------------------------------------------------
    _what = "video"

    def close(self) -> None:
        h, self._h = self._h, None
        if h:
            self._lib.apollo_video_free(h)

    def __enter__(self) -> "Video":
        return self

    @classmethod
    def load(cls, model: Model, path: StrPath, **options: Any) -> "Video":
        """Loads a video saved by :meth:`save` (already encoded).  The
        options must be those the video was opened with; a file made by
        another model or with other settings is refused (``E_CONFIG``)."""
        lib = model._lib
        p = _video_params(lib, **_video_kwargs(options))
        out = C.video_p()
        _check(lib.apollo_video_load(model._handle(), _utf8(os.fspath(path), "path"), byref(p),
                                     byref(out)))
        return cls(model, out.value)

    # encoding -------------------------------------------------------------
    def encode(self, *, progress: Optional[ProgressCallback] = None,
               abort: Optional[AbortCallback] = None) -> None:
        """Runs the vision encoders once (no-op when already encoded)."""
        enc = _Encode(self._lib, progress, abort)
        rc = self._lib.apollo_video_encode(self._handle(), byref(enc.params))
        enc.reraise()
        _check(rc)

    @property
    def is_encoded(self) -> bool:
        return bool(_check(self._lib.apollo_video_is_encoded(self._handle())))

    def embeddings(self) -> Tuple["array.array[float]", int]:
        """The visual tokens: (floats, dim), n_clips * tokens_per_clip rows
        of ``dim`` floats, clip-major (``E_MISUSE`` when not encoded)."""
        import array
        n, dim = c_size_t(), c_int32()
        _check(self._lib.apollo_video_get_embeddings(self._handle(), None, 0, byref(n),
                                                     byref(dim)))
        out = array.array("f", bytes(4 * n.value))
        if n.value:
            addr, _ = out.buffer_info()
            _check(self._lib.apollo_video_get_embeddings(
                self._handle(), ctypes.cast(addr, POINTER(ctypes.c_float)), n.value, byref(n),
                byref(dim)))
        return out, dim.value

    def save(self, path: StrPath) -> None:
        """Saves the encoded video's tokens to ``path`` (atomically)."""
        _check(self._lib.apollo_video_save(self._handle(), _utf8(os.fspath(path), "path")))

    # queries --------------------------------------------------------------
    @property
    def info(self) -> VideoInfo:
        i = C.video_info()
        self._lib.apollo_video_info_init(byref(i))
        _check(self._lib.apollo_video_get_info(self._handle(), byref(i)))

        def s(b: bytes) -> str:
            return b.decode("utf-8", "replace")
        return VideoInfo(_SOURCES.get(i.source, str(i.source)), bool(i.is_image), i.total_frames,
                         i.fps, i.duration_s, i.width, i.height, i.rotation, i.n_clips,
                         i.frames_per_clip, i.tokens_per_clip, i.clip_duration_s,
                         i.budget_ratio, bool(i.sampling_repaired), s(i.codec), s(i.pix_fmt),
                         s(i.container))

    @property
    def n_clips(self) -> int:
        return _check(self._lib.apollo_video_n_clips(self._handle()))

    def clip_time(self, i: int) -> Tuple[float, float]:
        """Seconds from the start of the video of clip ``i``'s first and last frame."""
        t0, t1 = ctypes.c_double(), ctypes.c_double()
        _check(self._lib.apollo_video_get_clip_time(self._handle(), i, byref(t0), byref(t1)))
        return t0.value, t1.value

    def clip_frames(self, i: int) -> List[int]:
        """Frame numbers of clip ``i``."""
        n = _check(self._lib.apollo_video_get_clip_frames(self._handle(), i, None, 0))
        buf = (ctypes.c_int64 * max(1, n))()
        n = _check(self._lib.apollo_video_get_clip_frames(self._handle(), i, buf, n))
        return list(buf[:n])

    def frame(self, index: int) -> Tuple[bytes, int, int]:
        """Decodes frame ``index`` as the model's preprocessing receives it:
        (RGB24 bytes, width, height), rows packed."""
        if not C.has("apollo_video_get_frame"):
            raise ApolloError(C.E_UNSUPPORTED, "this libapollo has no apollo_video_get_frame")
        w, h = c_int32(), c_int32()
        n = _check(self._lib.apollo_video_get_frame(self._handle(), index, None, 0, byref(w),
                                                    byref(h)))
        buf = ctypes.create_string_buffer(max(1, n))
        n = _check(self._lib.apollo_video_get_frame(self._handle(), index, buf, n, byref(w),
                                                    byref(h)))
        return buf.raw[:n], w.value, h.value

    def prompt_text(self, placeholders: bool = False) -> str:
        """The text block that introduces this video in the prompt."""
        flags = C.VIDEO_TEXT_PLACEHOLDERS if placeholders else 0
        n = _check(self._lib.apollo_video_get_prompt_text(self._handle(), flags, None, 0))
        buf = ctypes.create_string_buffer(n + 1)
        _check(self._lib.apollo_video_get_prompt_text(self._handle(), flags, buf, n + 1))
        return buf.raw[:n].decode("utf-8", "replace")


_VIDEO_OPTIONS = ("fps", "max_clips", "n_threads", "start_s", "end_s", "clip_sampling_ratio")


def _video_kwargs(options: dict) -> dict:
    bad = set(options) - set(_VIDEO_OPTIONS)
    if bad:
        raise TypeError(f"unknown video options: {', '.join(sorted(bad))}")
    return {k: options.get(k) for k in _VIDEO_OPTIONS}
