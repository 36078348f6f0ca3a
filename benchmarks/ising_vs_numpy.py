"""Checkerboard Metropolis for the 2-D Ising model: the course's JAX kernel against vectorized NumPy.

    python benchmarks/ising_vs_numpy.py                 # L = 512, 20 sweeps per block, 5 blocks
    python benchmarks/ising_vs_numpy.py --L 256 --sweeps 40 --blocks 7

Both update the same way: a sweep is two half-sweeps, each flipping the spins of one checkerboard
sublattice with the Metropolis probability min(1, exp(-2 beta s h)), h the sum of the four neighbours. The
NumPy version is the usual vectorized one (``np.roll`` for the neighbours, one uniform random number per site
from ``np.random.default_rng``, int8 spins). The JAX version is :func:`physml_helpers.ising.metropolis`
(sublattice layout, one random 32-bit integer per site of the sublattice, from the counter-based
:func:`physml_helpers.ising.site_bits`, compared with integer thresholds), called with ``record_every`` equal
to the block length, so that it computes energy and magnetization once per block (NumPy computes none).

The two are timed in alternating blocks after one warm-up block each (so compilation is excluded, and a
change in the load of a shared machine affects both alike), with ``block_until_ready``; reported: spin-flip
attempts per second of each (median over blocks) and the median and range of the block-by-block ratio, by
the wall clock and by the process's CPU time (steadier on a shared machine). Both
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
    spins_jax, _ = metropolis(jax.random.key(0), jnp.asarray(start), beta=beta, n_sweeps=args.sweeps,
                          record_every=args.sweeps)
    jax.block_until_ready(spins_jax)  # compiles

    attempts = args.sweeps * L * L
    rates_np, rates_jax, cpu_np, cpu_jax = [], [], [], []
    for block in range(args.blocks):
        t, c = time.perf_counter(), time.process_time()
        spins_np = numpy_sweeps(spins_np, beta, args.sweeps, rng)
        rates_np.append(attempts / (time.perf_counter() - t))
        cpu_np.append(attempts / (time.process_time() - c))
        t, c = time.perf_counter(), time.process_time()
        spins_jax, info = metropolis(jax.random.key(block + 1), spins_jax, beta=beta, n_sweeps=args.sweeps,
                                     record_every=args.sweeps)
        jax.block_until_ready(spins_jax)
        rates_jax.append(attempts / (time.perf_counter() - t))
        cpu_jax.append(attempts / (time.process_time() - c))
    ratio = np.array(rates_jax) / np.array(rates_np)
    cpu_ratio = np.array(cpu_jax) / np.array(cpu_np)
    print(f"L = {L}, T = {args.temperature}, {args.sweeps} sweeps per block, {args.blocks} blocks")
    print(f"NumPy: {np.median(rates_np):.3g} spin-flip attempts per second")
    print(f"JAX:   {np.median(rates_jax):.3g} spin-flip attempts per second")
    print(f"ratio JAX / NumPy: median {np.median(ratio):.1f}, range {ratio.min():.1f}-{ratio.max():.1f}")
    # on a shared machine the process's CPU time is steadier than the wall clock (both codes run on one thread)
    print(f"ratio per CPU second: median {np.median(cpu_ratio):.1f}, range {cpu_ratio.min():.1f}-{cpu_ratio.max():.1f}")
    # the two chains agree on the physics: energy per site after the run (same temperature, different noise)
    e_np = -np.mean(spins_np * (np.roll(spins_np, 1, 0) + np.roll(spins_np, 1, 1)))
    print(f"energy per site at the end: NumPy {e_np:.4f}, JAX {float(info.energy[-1]):.4f}")


if __name__ == "__main__":
    main()
