"""Time the two ways minigan computes a transposed convolution, on the DCGAN layer shapes.

    python3 benchmarks/conv_transpose_methods.py [--repeats 5]

col2im (one GEMM, then K*K additions onto the image) against sub-pixel phases (one im2col,
one GEMM with the S*S sub-kernels, one interleaving copy): see minigan/kernels/subpixel.py.
Forward only, float32, batch 64, the two methods alternating in one process; the last
column is the quantity `subpixel.worth_it` compares with 40, and the method it picks.
"""
# minigan keeps NumPy's BLAS on one thread itself and splits each convolution between the
# cores (minigan/kernels/blas.py, parallel.py). PyTorch's threads are not affected.
import argparse
import statistics

import numpy as np

import minigan as mg
from minigan.kernels import subpixel
from timing import clock  # benchmarks/timing.py

# (in_channels, out_channels, input size) of stride-2, 4x4, padding-1 layers
SHAPES = [(128, 64, 4), (64, 32, 8), (32, 3, 16), (256, 128, 4), (256, 128, 8), (128, 64, 8),
          (128, 64, 16), (64, 3, 32), (512, 256, 4)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rule = subpixel.worth_it
    print(f"{'layer':24s} {'col2im ms':>9s} {'phases ms':>9s} {'ratio':>6s}  C*waste, picked")
    for cin, cout, size in SHAPES:
        x = rng.standard_normal((args.batch, size, size, cin), dtype=np.float32)
        x = mg.tensor(x.transpose(0, 3, 1, 2))  # channels-last, as inside a network
        w = mg.tensor(rng.standard_normal((cin, cout, 4, 4), dtype=np.float32))
        times = {"col2im": [], "phases": []}
        for _ in range(args.repeats):
            for method in times:
                with mg.kernels.use("fast", conv_transpose="subpixel" if method == "phases" else "col2im"):
                    times[method].append(clock(lambda: mg.conv_transpose2d(x, w, stride=2, padding=1), 0.05))
        a, b = (statistics.median(times[m]) * 1e3 for m in ("col2im", "phases"))
        waste = cin * ((size + 1) ** 2 - size ** 2) / size ** 2
        picked = "phases" if rule(cin, cout, (size, size), (4, 4), (2, 2)) else "col2im"
        print(f"{cin:4d}->{cout:<4d} on {size}x{size:<8d} {a:9.2f} {b:9.2f} {b / a:6.2f}  {waste:5.0f}, {picked}")


if __name__ == "__main__":
    main()
