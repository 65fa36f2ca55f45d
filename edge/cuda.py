"""GPU memory, copies and streams for the TensorRT engines, through the CUDA runtime library with ctypes.

    cuda = CudaRuntime()                       # RuntimeError in one sentence without libcudart or a GPU
    ptr = cuda.malloc(nbytes); stream = cuda.stream()
    cuda.to_device(ptr, array, stream); ...; cuda.to_host(out, ptr, stream); cuda.synchronize(stream)

No torch or pycuda on the device: JetPack's CUDA toolkit ships libcudart.so.12, and these few calls
are all an engine needs (as TensorRT's own Python samples and Polygraphy do it). Only on a machine
with an NVIDIA GPU; nothing here is imported by `import edge`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

import numpy as np

# Where JetPack and the CUDA packages put the runtime, after the loader's own search.
LIBRARY_NAMES = ("libcudart.so", "libcudart.so.12", "/usr/local/cuda/lib64/libcudart.so", "libcudart.so.11.0")
HOST_TO_DEVICE, DEVICE_TO_HOST = 1, 2  # cudaMemcpyKind
ATTR_CC_MAJOR, ATTR_CC_MINOR = 75, 76  # cudaDevAttrComputeCapabilityMajor / Minor
PROPERTIES_BYTES = 8192  # larger than any cudaDeviceProp; `name` (char[256]) is its first field


def _load() -> Any:
    """The CUDA runtime library, or raise RuntimeError saying where it was looked for."""
    found = ctypes.util.find_library("cudart")
    for name in ((found,) if found else ()) + LIBRARY_NAMES:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    raise RuntimeError(
        "the CUDA runtime (libcudart.so) is not installed: JetPack's CUDA toolkit has it (sudo apt install nvidia-jetpack)"
    )


class CudaRuntime:
    """The calls the engines need, on GPU 0; each raises RuntimeError with CUDA's own error text."""

    def __init__(self) -> None:
        self._lib = _load()
        self._lib.cudaGetErrorString.restype = ctypes.c_char_p
        count = ctypes.c_int(0)
        code = self._lib.cudaGetDeviceCount(ctypes.byref(count))
        if code != 0 or count.value < 1:
            reason = self._error(code) if code else "no device"
            raise RuntimeError(f"the CUDA runtime sees no GPU ({reason})")

    def _error(self, code: int) -> str:
        return (self._lib.cudaGetErrorString(code) or b"unknown error").decode(errors="replace")

    def _check(self, code: int, call: str) -> None:
        if code != 0:
            raise RuntimeError(f"CUDA {call} failed: {self._error(code)}")

    def device_name(self) -> str:
        """The GPU's name, e.g. "Orin"."""
        props = ctypes.create_string_buffer(PROPERTIES_BYTES)
        call = getattr(self._lib, "cudaGetDeviceProperties_v2", None) or self._lib.cudaGetDeviceProperties
        self._check(call(props, 0), "cudaGetDeviceProperties")
        return props.raw[:256].split(b"\0", 1)[0].decode(errors="replace")

    def compute_capability(self) -> str:
        """ "8.7" on an Orin."""
        values = []
        for attr in (ATTR_CC_MAJOR, ATTR_CC_MINOR):
            value = ctypes.c_int(0)
            self._check(self._lib.cudaDeviceGetAttribute(ctypes.byref(value), attr, 0), "cudaDeviceGetAttribute")
            values.append(value.value)
        return f"{values[0]}.{values[1]}"

    def malloc(self, nbytes: int) -> int:
        """A device pointer to nbytes (held for the process's life: the engines run until it ends)."""
        ptr = ctypes.c_void_p()
        self._check(self._lib.cudaMalloc(ctypes.byref(ptr), ctypes.c_size_t(nbytes)), "cudaMalloc")
        return int(ptr.value or 0)

    def stream(self) -> int:
        """A new CUDA stream handle."""
        handle = ctypes.c_void_p()
        self._check(self._lib.cudaStreamCreate(ctypes.byref(handle)), "cudaStreamCreate")
        return int(handle.value or 0)

    def to_device(self, ptr: int, array: np.ndarray, stream: int) -> None:
        """Copy a C-contiguous array to device memory (queued on stream)."""
        array = np.ascontiguousarray(array)
        self._check(
            self._lib.cudaMemcpyAsync(
                ctypes.c_void_p(ptr), ctypes.c_void_p(array.ctypes.data), ctypes.c_size_t(array.nbytes),
                HOST_TO_DEVICE, ctypes.c_void_p(stream),
            ),
            "cudaMemcpyAsync (to the GPU)",
        )  # fmt: skip

    def to_host(self, out: np.ndarray, ptr: int, stream: int) -> None:
        """Copy device memory into a C-contiguous array (queued on stream; valid after synchronize)."""
        self._check(
            self._lib.cudaMemcpyAsync(
                ctypes.c_void_p(out.ctypes.data), ctypes.c_void_p(ptr), ctypes.c_size_t(out.nbytes),
                DEVICE_TO_HOST, ctypes.c_void_p(stream),
            ),
            "cudaMemcpyAsync (from the GPU)",
        )  # fmt: skip

    def synchronize(self, stream: int) -> None:
        self._check(self._lib.cudaStreamSynchronize(ctypes.c_void_p(stream)), "cudaStreamSynchronize")
