"""Python bindings of libapollo (Apollo video-language models on CPU).

Pure Python over ctypes: the shared library is found through
``$APOLLO_LIBRARY`` (the file or its directory), the package directory, or
the system (``ctypes.util.find_library``, ``LD_LIBRARY_PATH``).

>>> import apollo
>>> with apollo.Model("Apollo-1.5B-t32") as model, model.session() as chat:
...     for chunk in chat.ask("Hello!", stream=True):
...         print(chunk, end="", flush=True)
"""
from __future__ import annotations

from . import _capi
from ._capi import (BACKEND_AUTO, BACKEND_CPU, BACKEND_ONEDNN, E_BACKEND, E_CANCELLED,
                    E_CONFIG, E_CONTEXT_FULL, E_DTYPE, E_FORMAT, E_INVALID_ARG, E_IO, E_JSON,
                    E_MISSING_TENSOR, E_MISUSE, E_NO_VIDEO, E_NOMEM, E_NOT_FOUND, E_SHAPE,
                    E_UNSUPPORTED, E_VIDEO, LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_WARN,
                    PRECISION_BF16, PRECISION_F32, PRECISION_INT8,
                    TOWER_INTERNVIDEO2, TOWER_SIGLIP, LibraryNotFound)
from ._core import (ApolloError, GenerateOptions, Model, ModelInfo, Session, Stream, Video,
                    VideoInfo, VisionTower, library_path, strerror, version, version_number)

__version__ = "0.1.0"

__all__ = [
    "ApolloError", "GenerateOptions", "LibraryNotFound", "Model", "ModelInfo", "Session",
    "Stream", "Video", "VideoInfo", "VisionTower", "library_path", "strerror", "version", "version_number",
    "BACKEND_AUTO", "BACKEND_CPU", "BACKEND_ONEDNN", "LOG_ERROR", "LOG_WARN", "LOG_INFO",
    "LOG_DEBUG", "PRECISION_F32", "PRECISION_BF16", "PRECISION_INT8", "TOWER_SIGLIP",
    "TOWER_INTERNVIDEO2",
    "E_INVALID_ARG", "E_MISUSE", "E_NOMEM", "E_IO", "E_NOT_FOUND", "E_JSON", "E_CONFIG",
    "E_FORMAT", "E_DTYPE", "E_SHAPE", "E_MISSING_TENSOR", "E_UNSUPPORTED", "E_BACKEND",
    "E_CANCELLED", "E_CONTEXT_FULL", "E_VIDEO", "E_NO_VIDEO",
]
