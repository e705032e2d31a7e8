"""The engine library (libSwiftVLLM.so, beside this file) through ctypes: JSON text in and out,
errors raised as the Python exceptions the engine names. ctypes releases the GIL during each call.
"""
import ctypes
import json
import pathlib
import threading

ABI_VERSION = 1
_EXCEPTIONS = {"ValueError": ValueError, "TypeError": TypeError, "OSError": OSError,
               "KeyboardInterrupt": KeyboardInterrupt, "RuntimeError": RuntimeError}

_lib = ctypes.CDLL(str(pathlib.Path(__file__).with_name("libSwiftVLLM.so")))
_error = ctypes.POINTER(ctypes.c_void_p)
_lib.svllm_abi_version.restype = ctypes.c_int32
_lib.svllm_free.argtypes = [ctypes.c_void_p]
_lib.svllm_engine_new.argtypes = [ctypes.c_char_p, _error]
_lib.svllm_engine_new.restype = ctypes.c_void_p
_lib.svllm_engine_free.argtypes = [ctypes.c_void_p]
_lib.svllm_engine_call.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, _error]
_lib.svllm_engine_call.restype = ctypes.c_void_p
_lib.svllm_engine_cancel.argtypes = [ctypes.c_void_p]
_lib.svllm_engine_progress.argtypes = [ctypes.c_void_p]
_lib.svllm_engine_progress.restype = ctypes.c_int64
_lib.svllm_check_sampling_params.argtypes = [ctypes.c_char_p, _error]
_lib.svllm_check_sampling_params.restype = ctypes.c_void_p

if _lib.svllm_abi_version() != ABI_VERSION:
    raise ImportError(f"libSwiftVLLM.so has ABI version {_lib.svllm_abi_version()}, this package needs {ABI_VERSION}: reinstall swift_vllm")


def _take(pointer, error):
    """The returned string (freed here), or the engine's error raised."""
    if pointer:
        try:
            return ctypes.string_at(pointer).decode()
        finally:
            _lib.svllm_free(pointer)
    try:
        e = json.loads(ctypes.string_at(error.value).decode())
    finally:
        _lib.svllm_free(error.value)
    if e["type"] == "KeyboardInterrupt":
        raise KeyboardInterrupt
    raise _EXCEPTIONS.get(e["type"], RuntimeError)(e["message"])


def check_sampling_params(fields):
    error = ctypes.c_void_p()
    _take(_lib.svllm_check_sampling_params(json.dumps(fields).encode(), ctypes.byref(error)), error)


class Engine:
    """One engine handle. `call` runs on a worker thread so that Ctrl-C in the calling (main)
    thread can cancel it; calls from several threads run one at a time inside the engine."""

    def __init__(self, argv, seed):
        error = ctypes.c_void_p()
        handle = _lib.svllm_engine_new(json.dumps({"argv": argv, "seed": seed}).encode(), ctypes.byref(error))
        if not handle:
            _take(None, error)
        self._handle = handle

    def __del__(self):
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            _lib.svllm_engine_free(handle)

    def call(self, method, request, on_progress=None):
        payload = json.dumps(request).encode()
        result = {}

        def run():
            error = ctypes.c_void_p()
            pointer = _lib.svllm_engine_call(self._handle, method.encode(), payload, ctypes.byref(error))
            try:
                result["value"] = _take(pointer, error)
            except BaseException as e:  # handed to the calling thread
                result["error"] = e

        worker = threading.Thread(target=run, name="swift-vllm-call", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.05)
                if on_progress:
                    on_progress(_lib.svllm_engine_progress(self._handle))
        except KeyboardInterrupt:
            _lib.svllm_engine_cancel(self._handle)
            worker.join()
            raise
        if "error" in result:
            raise result["error"]
        return json.loads(result["value"])
