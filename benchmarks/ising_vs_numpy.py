"""Checkerboard Metropolis for the 2-D Ising model: the course's JAX kernel against vectorized NumPy.

    python benchmarks/ising_vs_numpy.py                 # L = 512, 20 sweeps per block, 5 blocks
    python benchmarks/ising_vs_numpy.py --L 256 --sweeps 40 --blocks 7

Both update the same way: a sweep is two half-sweeps, each flipping the spins of one checkerboard
sublattice with the Metropolis probability min(1, exp(-2 beta s h)), h the sum of the four neighbours. The
NumPy version is the usual vectorized one (``np.roll`` for the neighbours, one uniform random number per site
from ``np.random.default_rng``, int8 spins, an acceptance table). Two JAX kernels are timed, each called with
``record_every`` equal to the block length, so that it computes energy and magnetization once per block (NumPy
computes none):

* the headline, ``metropolis(..., method="multispin")``: 32 spins per uint32 word, antiparallel neighbours
  counted by a bitwise adder, the Bernoulli decisions of 32 spins drawn at once from 24 random words of the
  counter-based :func:`physml_helpers.ising.site_bits` (L a multiple of 64);
* ``method="checkerboard"``: int8 sublattices, one random 32-bit word per site compared with integer
  thresholds (any even L).

The three are timed in alternating blocks after one warm-up block each (so compilation is excluded, and a
change in the load of a shared machine affects both alike), with ``block_until_ready``; reported: spin-flip
attempts per second of each (median over blocks) and the median and range of the block-by-block ratios to
NumPy, by the wall clock and by the process's CPU time (steadier on a shared machine). Both
run single-threaded when the environment asks for it (``OMP_NUM_THREADS=1`` and XLA's
``--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1``); by default they use what the machine
offers.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers.ising import metropolis


def numpy_sweeps(spins: np.ndarray, beta: float, n_sweeps: int, rng: np.random.Generator) -> np.ndarray:
    """Vectorized NumPy checkerboard Metropolis on an int8 [L, L] torus."""
    L = spins.shape[0]
    black = (np.add.outer(np.arange(L), np.arange(L)) % 2 == 0)
    accept = {x: np.exp(-2 * beta * x) for x in (-4, -2, 0, 2, 4)}
    table = np.array([accept[x] for x in (-4, -2, 0, 2, 4)])
    for _ in range(n_sweeps):
        for colour in (black, ~black):
            h = np.roll(spins, 1, 0) + np.roll(spins, -1, 0) + np.roll(spins, 1, 1) + np.roll(spins, -1, 1)
            p = table[(spins * h + 4) // 2]
            flip = colour & (rng.random(spins.shape) < p)
            spins = np.where(flip, -spins, spins).astype(np.int8)
    return spins


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--L", type=int, default=512)
    parser.add_argument("--sweeps", type=int, default=20, help="sweeps per timed block")
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--temperature", type=float, default=2.269, help="near T_c, where both accept often")
    args = parser.parse_args()
    L, beta = args.L, 1.0 / args.temperature
    rng = np.random.default_rng(0)
    start = np.where(rng.random((L, L)) < 0.5, 1, -1).astype(np.int8)

    spins_np = numpy_sweeps(start, beta, 1, rng)  # warm-up
    methods = ("multispin", "checkerboard") if L % 64 == 0 else ("checkerboard",)
    spins_jax, info = {}, {}
    for m in methods:
        spins_jax[m], info[m] = metropolis(jax.random.key(0), jnp.asarray(start), beta=beta, n_sweeps=args.sweeps,
                                           record_every=args.sweeps, method=m)
        jax.block_until_ready(spins_jax[m])  # compiles

    attempts = args.sweeps * L * L
    wall = {name: [] for name in ("numpy", *methods)}
    cpu = {name: [] for name in ("numpy", *methods)}
    for block in range(args.blocks):
        t, c = time.perf_counter(), time.process_time()
        spins_np = numpy_sweeps(spins_np, beta, args.sweeps, rng)
        wall["numpy"].append(attempts / (time.perf_counter() - t))
        cpu["numpy"].append(attempts / (time.process_time() - c))
        for m in methods:
            t, c = time.perf_counter(), time.process_time()
            spins_jax[m], info[m] = metropolis(jax.random.key(block + 1), spins_jax[m], beta=beta,
                                               n_sweeps=args.sweeps, record_every=args.sweeps, method=m)
            jax.block_until_ready(spins_jax[m])
            wall[m].append(attempts / (time.perf_counter() - t))
            cpu[m].append(attempts / (time.process_time() - c))
    print(f"L = {L}, T = {args.temperature}, {args.sweeps} sweeps per block, {args.blocks} blocks")
    print(f"NumPy:             {np.median(wall['numpy']):.3g} spin-flip attempts per second")
    for m in methods:
        ratio = np.array(wall[m]) / np.array(wall["numpy"])
        cpu_ratio = np.array(cpu[m]) / np.array(cpu["numpy"])
        label = f"JAX {m}" + (" (headline)" if m == methods[0] else "")
        print(f"{label + ':':<30s} {np.median(wall[m]):.3g} spin-flip attempts per second; ratio to NumPy: median "
              f"{np.median(ratio):.1f}, range {ratio.min():.1f}-{ratio.max():.1f}; per CPU second: median "
              f"{np.median(cpu_ratio):.1f}, range {cpu_ratio.min():.1f}-{cpu_ratio.max():.1f}")
    # the chains agree on the physics: energy per site after the run (same temperature, different noise)
    e_np = -np.mean(spins_np * (np.roll(spins_np, 1, 0) + np.roll(spins_np, 1, 1)))
    print(f"energy per site at the end: NumPy {e_np:.4f}, "
          + ", ".join(f"JAX {m} {float(info[m].energy[-1]):.4f}" for m in methods))

if __name__ == "__main__":
    main()
