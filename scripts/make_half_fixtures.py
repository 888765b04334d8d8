#!/usr/bin/env python3
"""Issue 13: tests/data/half_casts.bin, what PyTorch 1.13 (CPU) gives for
float16 / bfloat16 conversions and for casts between every pair of dtypes.

Layout (little-endian), read by tests/test_half.c:
  "NBHC" u32 version (1)
  u32 65536, u32[65536]   float32 bits of every float16 bit pattern .float()
  u32 n, u32[n] float32 bits; u16[n] .half() bits; u16[n] .bfloat16() bits
  u32 ndtypes; per source dtype (nabla's enum order): u32 n; the n source
      elements' bytes; then per destination dtype the n elements' bytes of
      source.to(destination)
Run with /usr/bin/python3 (torch 1.13).
"""
import struct
import numpy as np
import torch

OUT = "tests/data/half_casts.bin"
# nabla's nb_dtype order
DTYPES = [torch.float32, torch.float64, torch.int64, torch.int32, torch.uint8, torch.bool,
          torch.float16, torch.bfloat16, torch.int16, torch.int8]


def raw(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16 or t.dtype == torch.float16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def f32_sweep():
    vals = set()
    h = np.arange(65536, dtype=np.uint32).astype(np.uint16)
    f = torch.from_numpy(h.view(np.int16).copy()).view(torch.float16).float().numpy()
    # the midpoints between neighbouring positive float16 values and the
    # float32 values either side of them (each rounding boundary), and
    # every 16th on the negative side
    pos = np.unique(f[np.isfinite(f) & (f >= 0)].astype(np.float64))
    mid = ((pos[:-1] + pos[1:]) / 2).astype(np.float32)
    mb = mid.view(np.uint32).astype(np.int64)
    for d in (-1, 0, 1):
        vals.update(((mb + d) & 0xFFFFFFFF).tolist())
        vals.update(((mb[::16] + d) | 0x80000000).tolist())
    # bfloat16: every exponent, ties and neighbours of the dropped half
    for e in range(256):
        for sign in (0, 0x80000000):
            for m in (0, 1, 0x7FFF, 0x8000, 0x8001, 0x18000, 0x17FFF, 0x7F7FFF, 0x7F8000, 0x7FFFFF, 0x10000, 0x400000):
                vals.add(sign | (e << 23) | m)
    # overflow edges, NaNs with payloads, infinities, zeros
    for v in (65504.0, 65519.0, 65519.99, 65520.0, 65536.0, 1e10, 3.4028235e38, 3.3895314e38, 3.3961e38,
              2.0 ** -24, 2.0 ** -25, 2.0 ** -26, 2.0 ** -14, 6.1e-5, 1e-45, 1e-40):
        for sg in (1, -1):
            vals.add(int(np.array([sg * v], dtype=np.float32).view(np.uint32)[0]))
    vals.update([0x7F800000, 0xFF800000, 0x7F800001, 0x7FC00000, 0xFFC00000, 0x7FA00000, 0xFF812345,
                 0x7FFFFFFF, 0xFFFFFFFF, 0x7F802000, 0, 0x80000000])
    rng = np.random.default_rng(13)
    vals.update(rng.integers(0, 2 ** 32, 4000, dtype=np.uint64).tolist())
    return np.array(sorted(vals), dtype=np.uint32)


def cast_sources():
    specials = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 0.1, 1 / 3, 127.0, 128.0, -128.0, -129.5,
                255.0, 256.0, 300.7, -300.7, 32767.0, 32768.0, -32769.0, 65504.0, 65519.0, 65520.0, 70000.0,
                1e5, -1e5, 2.0 ** 31, -2.0 ** 31, 2.0 ** 31 + 3, 1e10, -1e10, 1e20, 1e-5, 6e-8, -6e-8, 1e-40,
                3.4e38, 1e300, float("inf"), float("-inf"), float("nan"), -float("nan")]
    ints = [0, 1, -1, 2, 127, 128, -128, -129, 255, 256, 300, -300, 32767, 32768, -32768, -32769, 65535, 65536,
            2049, 2051, 4097, 16777217, 2 ** 31 - 1, -2 ** 31, 2 ** 40 + 1, 2 ** 53 + 1, -2 ** 62, 2 ** 63 - 1]
    out = []
    for dt in DTYPES:
        if dt.is_floating_point:
            t = torch.tensor(specials, dtype=torch.float64).to(dt)
        elif dt == torch.bool:
            t = torch.tensor([True, False, True, True, False])
        else:
            info = torch.iinfo(dt)
            t = torch.tensor([v for v in ints if info.min <= v <= info.max], dtype=dt)
        out.append(t)
    return out


def main():
    with open(OUT, "wb") as f:
        f.write(b"NBHC" + struct.pack("<I", 1))
        h = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.int16)
        wide = torch.from_numpy(h.copy()).view(torch.float16).float()
        f.write(struct.pack("<I", 65536) + raw(wide))
        sweep = f32_sweep()
        x = torch.from_numpy(sweep.view(np.float32).copy())
        f.write(struct.pack("<I", len(sweep)) + sweep.tobytes() + raw(x.half()) + raw(x.bfloat16()))
        f.write(struct.pack("<I", len(DTYPES)))
        for src in cast_sources():
            f.write(struct.pack("<I", src.numel()) + raw(src))
            for dst in DTYPES:
                f.write(raw(src.to(dst)))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
