"""Raw layer: the C ABI of ``apollo.h`` mirrored with ctypes.

Nothing here is idiomatic; :mod:`apollo` builds the public classes on top of
it.  Every function gets ``argtypes`` and ``restype`` (without them ctypes
would truncate pointers to C ``int``), every params struct is mirrored as a
:class:`ctypes.Structure` whose ``struct_size`` the C ``_init`` functions set.

Loading order of the shared library:

1. ``$APOLLO_LIBRARY``: a path to ``libapollo.so*`` or a directory holding it;
2. the package directory (a ``libapollo.so*`` copied next to this file);
3. the system: ``ctypes.util.find_library("apollo")``, then the dynamic
   loader's own search (``LD_LIBRARY_PATH``, ldconfig cache) for
   ``libapollo.so.0``.

At load, ``apollo_version_number()`` is compared with the version this
binding was written for: the major and minor numbers must match (while the
version is 0.x the minor number is the ABI version).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double, c_float,
                    c_int, c_int32, c_int64, c_size_t, c_uint32, c_uint64, c_void_p)
from typing import List, Optional

# --------------------------------------------------------------------------
# Constants (apollo.h)
# --------------------------------------------------------------------------

VERSION_MAJOR = 0
VERSION_MINOR = 1
VERSION_PATCH = 0
VERSION_NUMBER = VERSION_MAJOR * 10000 + VERSION_MINOR * 100 + VERSION_PATCH

OK = 0
E_INVALID_ARG = -1
E_MISUSE = -2
E_NOMEM = -3
E_IO = -4
E_NOT_FOUND = -5
E_JSON = -6
E_CONFIG = -7
E_FORMAT = -8
E_DTYPE = -9
E_SHAPE = -10
E_MISSING_TENSOR = -11
E_UNSUPPORTED = -12
E_BACKEND = -13
E_CANCELLED = -14
E_CONTEXT_FULL = -15
E_VIDEO = -16
E_NO_VIDEO = -17

BACKEND_AUTO = 0
BACKEND_CPU = 1
BACKEND_ONEDNN = 2

LOG_ERROR = 0
LOG_WARN = 1
LOG_INFO = 2
LOG_DEBUG = 3

PRECISION_F32 = 0
PRECISION_BF16 = 1
PRECISION_INT8 = 2

MAX_VISION_TOWERS = 4
TOWER_NAME_CAP = 64
TOWER_SIGLIP = 1
TOWER_INTERNVIDEO2 = 2

FINISH_NONE = 0
FINISH_EOS = 1
FINISH_STOP_STRING = 2
FINISH_LENGTH = 3
FINISH_CONTEXT = 4
FINISH_CALLBACK = 5

MAX_STOP_STRINGS = 16

VIDEO_SOURCE_FILE = 1
VIDEO_SOURCE_MEMORY = 2
VIDEO_SOURCE_FRAMES = 3
VIDEO_TEXT_PLACEHOLDERS = 1

# --------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------

log_fn = CFUNCTYPE(None, c_int32, c_char_p, c_void_p)
# The text pointer is not NUL-terminated: declare it as a raw pointer.
text_fn = CFUNCTYPE(c_int32, POINTER(c_char), c_size_t, c_void_p)
abort_fn = CFUNCTYPE(c_int32, c_void_p)
progress_fn = CFUNCTYPE(None, c_int32, c_int32, c_void_p)


class ctx_params(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("n_threads", c_int32),
        ("backend", c_int32),
        ("log_level", c_int32),
        ("log_fn", log_fn),
        ("log_user_data", c_void_p),
        ("precision", c_int32),
    ]


class model_info(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("llm_hidden_size", c_int32),
        ("llm_intermediate_size", c_int32),
        ("llm_n_layers", c_int32),
        ("llm_n_heads", c_int32),
        ("llm_n_kv_heads", c_int32),
        ("llm_head_dim", c_int32),
        ("llm_vocab_size", c_int32),
        ("llm_tied_embeddings", c_int32),
        ("context_length", c_int32),
        ("llm_rope_theta", c_double),
        ("llm_rms_norm_eps", c_double),
        ("n_vision_towers", c_int32),
        ("tower_kind", c_int32 * MAX_VISION_TOWERS),
        ("tower_name", (c_char * TOWER_NAME_CAP) * MAX_VISION_TOWERS),
        ("tower_hidden_size", c_int32 * MAX_VISION_TOWERS),
        ("tower_n_layers_run", c_int32 * MAX_VISION_TOWERS),
        ("vision_select_layer", c_int32),
        ("frames_per_clip", c_int32),
        ("tokens_per_clip", c_int32),
        ("clip_duration_s", c_double),
        ("model_max_length", c_int32),
        ("n_params_llm", c_int64),
        ("n_params_vision", c_int64 * MAX_VISION_TOWERS),
        ("n_params_connector", c_int64),
    ]


class session_params(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("system_prompt", c_char_p),
    ]


class generate_params(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("max_new_tokens", c_int32),
        ("do_sample", c_int32),
        ("temperature", c_float),
        ("top_p", c_float),
        ("top_k", c_int32),
        ("repetition_penalty", c_float),
        ("seed", c_uint64),
        ("stop_strings", POINTER(c_char_p)),
        ("n_stop_strings", c_int32),
        ("on_text", text_fn),
        ("on_text_user_data", c_void_p),
        ("abort_fn", abort_fn),
        ("abort_user_data", c_void_p),
    ]


class video_params(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("fps", c_double),
        ("max_clips", c_int32),
        ("n_threads", c_int32),
        ("start_s", c_double),
        ("end_s", c_double),
        ("clip_sampling_ratio", c_double),
        ("borrow", c_int32),
    ]


class video_info(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("source", c_int32),
        ("is_image", c_int32),
        ("total_frames", c_int64),
        ("fps", c_double),
        ("duration_s", c_double),
        ("width", c_int32),
        ("height", c_int32),
        ("rotation", c_int32),
        ("n_clips", c_int32),
        ("frames_per_clip", c_int32),
        ("tokens_per_clip", c_int32),
        ("clip_duration_s", c_double),
        ("budget_ratio", c_double),
        ("sampling_repaired", c_int32),
        ("codec", c_char * 32),
        ("pix_fmt", c_char * 32),
        ("container", c_char * 64),
    ]


class encode_params(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("progress_fn", progress_fn),
        ("progress_user_data", c_void_p),
        ("abort_fn", abort_fn),
        ("abort_user_data", c_void_p),
    ]


ctx_p = c_void_p
session_p = c_void_p
video_p = c_void_p

# (name, restype, argtypes).  Functions added by later versions of the
# header go to _OPTIONAL: they are bound when the loaded library has them.
_FUNCTIONS = [
    ("apollo_version_number", c_int32, []),
    ("apollo_version_string", c_char_p, []),
    ("apollo_strerror", c_char_p, [c_int]),
    ("apollo_last_errmsg", c_char_p, []),
    ("apollo_ctx_params_init", None, [POINTER(ctx_params)]),
    ("apollo_ctx_open", c_int, [c_char_p, POINTER(ctx_params), POINTER(ctx_p)]),
    ("apollo_ctx_free", None, [ctx_p]),
    ("apollo_ctx_get_backend", c_int, [ctx_p]),
    ("apollo_model_info_init", None, [POINTER(model_info)]),
    ("apollo_ctx_get_model_info", c_int, [ctx_p, POINTER(model_info)]),
    ("apollo_tokenize", c_int,
     [ctx_p, c_char_p, c_size_t, POINTER(c_int32), c_size_t, POINTER(c_size_t)]),
    ("apollo_detokenize", c_int,
     [ctx_p, POINTER(c_int32), c_size_t, c_void_p, c_size_t, POINTER(c_size_t)]),
    ("apollo_token_to_piece", c_int, [ctx_p, c_int32, c_void_p, c_size_t, POINTER(c_size_t)]),
    ("apollo_ctx_n_tokens", c_int32, [ctx_p]),
    ("apollo_free", None, [c_void_p]),
    ("apollo_session_params_init", None, [POINTER(session_params)]),
    ("apollo_session_new", c_int, [ctx_p, POINTER(session_params), POINTER(session_p)]),
    ("apollo_session_free", None, [session_p]),
    ("apollo_session_fork", c_int, [session_p, POINTER(session_p)]),
    ("apollo_session_reset", c_int, [session_p]),
    ("apollo_session_errmsg", c_char_p, [session_p]),
    ("apollo_generate_params_init", None, [POINTER(generate_params)]),
    # the answer is declared as void** so that ctypes hands back the raw
    # pointer (needed for apollo_free) rather than a converted bytes object
    ("apollo_session_ask", c_int,
     [session_p, c_char_p, POINTER(generate_params), POINTER(c_void_p)]),
    ("apollo_session_add_exchange", c_int, [session_p, c_char_p, c_char_p]),
    ("apollo_session_cancel", c_int, [session_p]),
    ("apollo_session_get_finish_reason", c_int, [session_p]),
    ("apollo_session_get_tokens", c_int,
     [session_p, POINTER(c_int32), c_size_t, POINTER(c_size_t)]),
]
_FUNCTIONS += [
    # Videos
    ("apollo_video_params_init", None, [POINTER(video_params)]),
    ("apollo_video_open_file", c_int,
     [ctx_p, c_char_p, POINTER(video_params), POINTER(video_p)]),
    ("apollo_video_open_memory", c_int,
     [ctx_p, c_void_p, c_size_t, POINTER(video_params), POINTER(video_p)]),
    ("apollo_video_open_frames", c_int,
     [ctx_p, c_void_p, c_int32, c_int32, c_int32, c_size_t, c_double, POINTER(c_double),
      POINTER(video_params), POINTER(video_p)]),
    ("apollo_video_free", None, [video_p]),
    ("apollo_video_info_init", None, [POINTER(video_info)]),
    ("apollo_video_get_info", c_int, [video_p, POINTER(video_info)]),
    ("apollo_video_n_clips", c_int32, [video_p]),
    ("apollo_video_get_clip_time", c_int,
     [video_p, c_int32, POINTER(c_double), POINTER(c_double)]),
    ("apollo_video_get_clip_frames", c_int32, [video_p, c_int32, POINTER(c_int64), c_int32]),
    ("apollo_video_get_prompt_text", c_int64, [video_p, c_int32, c_void_p, c_size_t]),
    # Encoding, saved embeddings, videos in sessions
    ("apollo_encode_params_init", None, [POINTER(encode_params)]),
    ("apollo_video_encode", c_int, [video_p, POINTER(encode_params)]),
    ("apollo_video_is_encoded", c_int, [video_p]),
    ("apollo_video_get_embeddings", c_int,
     [video_p, POINTER(c_float), c_size_t, POINTER(c_size_t), POINTER(c_int32)]),
    ("apollo_video_save", c_int, [video_p, c_char_p]),
    ("apollo_video_load", c_int, [ctx_p, c_char_p, POINTER(video_params), POINTER(video_p)]),
    ("apollo_session_add_video", c_int, [session_p, video_p, POINTER(encode_params)]),
]
# Functions of later header versions go here: bound when the library has them.
_OPTIONAL: list = [
    ("apollo_video_get_frame", c_int64,
     [video_p, c_int64, c_void_p, c_size_t, POINTER(c_int32), POINTER(c_int32)]),
]


class LibraryNotFound(OSError):
    """libapollo could not be located or has an incompatible version."""


def _candidates() -> List[str]:
    out: List[str] = []
    env = os.environ.get("APOLLO_LIBRARY")
    if env:
        if os.path.isdir(env):
            out += [os.path.join(env, n) for n in ("libapollo.so.0", "libapollo.so",
                                                   "libapollo.dylib", "apollo.dll")]
        else:
            out.append(env)
        return out  # an explicit choice is not second-guessed
    here = os.path.dirname(os.path.abspath(__file__))
    for n in sorted(os.listdir(here)):
        if n.startswith("libapollo.so") or n in ("libapollo.dylib", "apollo.dll"):
            out.append(os.path.join(here, n))
    found = ctypes.util.find_library("apollo")
    if found:
        out.append(found)
    out += ["libapollo.so.0", "libapollo.so"] if sys.platform.startswith("linux") else []
    return out


def _bind(lib: ctypes.CDLL) -> None:
    for name, restype, argtypes in _FUNCTIONS:
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    for name, restype, argtypes in _OPTIONAL:
        fn = getattr(lib, name, None)
        if fn is not None:
            fn.restype = restype
            fn.argtypes = argtypes


def load() -> ctypes.CDLL:
    errors = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            errors.append(f"{path}: no such file")
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            errors.append(f"{path}: {e}")
            continue
        if not hasattr(lib, "apollo_version_number"):
            errors.append(f"{path}: not libapollo")
            continue
        _bind(lib)
        v = lib.apollo_version_number()
        if v // 100 != VERSION_NUMBER // 100:
            raise LibraryNotFound(
                f"{path}: libapollo {lib.apollo_version_string().decode()} is not ABI-compatible "
                f"with these bindings (written for {VERSION_MAJOR}.{VERSION_MINOR}.x)")
        lib._apollo_path = path  # type: ignore[attr-defined]
        return lib
    raise LibraryNotFound("libapollo not found (set APOLLO_LIBRARY to the library or its "
                          "directory); tried: " + "; ".join(errors or ["nothing"]))


_lib: Optional[ctypes.CDLL] = None


def lib() -> ctypes.CDLL:
    """The loaded library (loaded on first use)."""
    global _lib
    if _lib is None:
        _lib = load()
    return _lib


def has(name: str) -> bool:
    """Whether the loaded library exports ``name`` (for optional functions)."""
    return hasattr(lib(), name)
