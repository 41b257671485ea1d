#!/usr/bin/env bash
# One command to check minigan on a machine with an NVIDIA GPU and CuPy:
#
#     bash benchmarks/gpu_check.sh            # from anywhere; extra args go to pytest
#
# 1. the whole test suite on CuPy (`--device cuda`: every device test runs on the GPU),
# 2. the DCGAN step benchmark on the GPU (64x64, batch 128, and 32x32),
# 3. a short run of the cat example on the GPU (its real code path: data preloaded on the
#    device, checkpoint, sample grids), then examples/sample.py on its checkpoint.
# Each part runs even if an earlier one failed; the exit status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

python3 - <<'EOF' || { echo "gpu_check: no usable GPU (the error above says what is missing)"; exit 2; }
import minigan.backend as b
b.parse_device("cuda")  # runs a tiny kernel and matmul; else says what is missing, how to fix
import cupy
props = cupy.cuda.runtime.getDeviceProperties(0)
print(f"GPU 0: {props['name'].decode()}, CuPy {cupy.__version__}, CUDA runtime "
      f"{cupy.cuda.runtime.runtimeGetVersion()}")
EOF

status=0
step() {  # step NAME COMMAND...: run, time, remember failure
    echo; echo "=== $1"; shift
    local start=$SECONDS
    "$@" || { echo "=== FAILED: $*"; status=1; }
    echo "=== took $((SECONDS - start)) s"
}

step "test suite on CuPy" python3 -m pytest -q --device cuda "$@"
step "DCGAN step benchmark, 64x64 batch 128" \
    python3 benchmarks/dcgan_step.py --device cuda --sizes 64 --batch-size 128
step "DCGAN step benchmark, 32x32 batch 64" \
    python3 benchmarks/dcgan_step.py --device cuda --sizes 32 --batch-size 64
out="$(mktemp -d)"
step "cat example, 200 steps on the GPU" \
    python3 examples/cats_dcgan.py --device cuda --num-images 2560 --steps 200 --out "$out"
step "sample.py on its checkpoint" \
    python3 examples/sample.py --checkpoint "$out/checkpoint.npz" --device cuda --out "$out/sampled.png"
echo; echo "gpu_check: cat example output in $out"
[ "$status" -eq 0 ] && echo "gpu_check: all passed" || echo "gpu_check: some parts FAILED"
exit "$status"
