#!/usr/bin/env python3
"""Writes a GGUF model with every quantized tensor dequantized to F16 or F32 (same metadata,
same tensor names and shapes): the full-precision form of a quantized file, for measuring a
quantized draft against its own model (`--speculative-config '{"model": QUANTIZED, ...}'` on
the dequantized target). Uses the `gguf` package (pip install gguf).

    python3 scripts/dequantize-gguf.py IN.gguf OUT.gguf [--type f16|f32]
"""
import argparse

import numpy as np
import gguf


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--type", choices=["f16", "f32"], default="f16")
    args = ap.parse_args()
    reader = gguf.GGUFReader(args.input)
    arch = reader.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(args.output, arch)
    for field in reader.fields.values():
        # The header counts and the architecture are written by GGUFWriter itself; the file
        # type changes.
        if field.name.startswith("GGUF.") or field.name in ("general.architecture", "general.file_type"):
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), vtype, sub_type=sub)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if args.type == "f16" else gguf.LlamaFileType.ALL_F32)
    dtype = np.float16 if args.type == "f16" else np.float32
    for t in reader.tensors:
        data = gguf.quants.dequantize(t.data, t.tensor_type)
        # 1-D tensors (norms) stay F32, as llama.cpp's converter keeps them.
        out = data.astype(np.float32 if data.ndim == 1 or len(t.shape) == 1 else dtype)
        writer.add_tensor(t.name, out)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main()
