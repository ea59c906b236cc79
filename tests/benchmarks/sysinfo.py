"""The machine a benchmark ran on, printed beside its figures: CPU model, the flags that decide
onnxruntime's kernels (AVX2, AVX-512, VNNI, AMX), cores, and the library versions."""

from __future__ import annotations

import os
import platform

RELEVANT_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8", "amx_bf16")


def cpu_model_and_flags() -> tuple[str, list[str]]:
    model, flags = platform.processor() or platform.machine(), []
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name":
                    model = value.strip()
                elif key == "flags":
                    present = set(value.split())
                    flags = [f for f in RELEVANT_FLAGS if f in present]
                if model and flags:
                    break
    except OSError:
        pass
    return model, flags


def cpu_line() -> str:
    """`cpu: AMD EPYC (2 cores) avx2 fma; onnxruntime 1.x` for a benchmark's header."""
    import onnxruntime

    model, flags = cpu_model_and_flags()
    return (f"cpu: {model} ({os.cpu_count()} cores) flags: {' '.join(flags) or 'none of ' + ','.join(RELEVANT_FLAGS)}; "
            f"onnxruntime {onnxruntime.__version__}; python {platform.python_version()}")


if __name__ == "__main__":
    print(cpu_line())
