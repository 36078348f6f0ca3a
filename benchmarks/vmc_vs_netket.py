"""Variational Monte Carlo of the course helpers against NetKet, on the same problem.

    python benchmarks/vmc_vs_netket.py                    # 300 iterations each
    python benchmarks/vmc_vs_netket.py --iters 100 --chains 1000

The problem: periodic transverse-field Ising chain, N = 16, h = J = 1; an RBM with alpha = 1 and real
parameters (the ground state is positive); Metropolis single-spin flips, one sweep (N proposals) per
chain between iterations, one sample per chain (``--chains`` samples per iteration); stochastic
reconfiguration with a dense solve, diagonal shift 0.01, learning rate 0.05. Both run in float64 on the
same machine, from the same kind of initial state.

The two codes are timed in alternating blocks of iterations within one run (after one compiling
iteration each; ``--blocks``), so that a change in the load of a shared machine affects both alike; reported
for each: the median and range over blocks of the seconds per iteration, the median and quartiles of the
block-by-block time ratio, and the relative error of the *exact* variational energy of the final parameters (a sum over all 2^16 configurations, so the
comparison carries no Monte Carlo noise) against the free-fermion ground-state energy.

NetKet is optional and not in requirements.txt. To run the comparison:

    pip install netket

(NetKet 3.23 works with the JAX of requirements.txt.) Without it, the script runs the course's VMC alone,
says NetKet was skipped, and exits with status 0.
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from physml_helpers.quantum import tfim_exact_energy  # noqa: E402
from physml_helpers.vmc import exact_statistics, init_rbm, rbm_log_psi, tfim_local_energy, vmc  # noqa: E402

N_SITES, H_FIELD, LR, DIAG_SHIFT = 16, 1.0, 0.05, 0.01


class CourseRunner:
    """The course's VMC, compiled by the first step; ``run(n)`` advances it n iterations."""

    name = "physml_helpers.vmc"

    def __init__(self, n_iters: int, n_chains: int):
        self.local_energy = partial(tfim_local_energy, h=H_FIELD)
        init, self.step = vmc(rbm_log_psi, self.local_energy, N_SITES, n_chains=n_chains, lr=LR,
                              diag_shift=DIAG_SHIFT)
        self.state = init(jax.random.key(1), init_rbm(jax.random.key(0), N_SITES, alpha=1, scale=0.01))
        self.keys = iter(jax.random.split(jax.random.key(2), n_iters))  # split before any clock starts
        self.run(1)  # compiles

    def run(self, n: int) -> None:
        for _ in range(n):
            self.state, _ = self.step(next(self.keys), self.state)
        jax.block_until_ready(self.state.params)

    def energy(self) -> float:
        stats = exact_statistics(rbm_log_psi, self.local_energy, self.state.params, N_SITES, gradients=False)
        return float(stats["energy"])


class NetKetRunner:
    """NetKet's VMC on the same problem, compiled by the first step; ``run(n)`` advances it n iterations."""

    def __init__(self, n_chains: int):
        import netket as nk

        graph = nk.graph.Chain(length=N_SITES, pbc=True)
        hilbert = nk.hilbert.Spin(s=0.5, N=N_SITES)
        # NetKet's Ising is -h sum X + J sum ZZ, so J = -1 is the course's -sum ZZ
        self.hamiltonian = nk.operator.Ising(hilbert=hilbert, graph=graph, h=H_FIELD, J=-1.0)
        sampler = nk.sampler.MetropolisLocal(hilbert, n_chains=n_chains, sweep_size=N_SITES)
        model = nk.models.RBM(alpha=1, param_dtype=float)
        self.vstate = nk.vqs.MCState(sampler, model, n_samples=n_chains, n_discard_per_chain=0, seed=0,
                                     sampler_seed=1)
        self.driver = nk.driver.VMC(
            self.hamiltonian,
            nk.optimizer.Sgd(learning_rate=LR),
            variational_state=self.vstate,
            preconditioner=nk.optimizer.SR(diag_shift=DIAG_SHIFT, solver=nk.optimizer.solver.cholesky),
        )
        self.name = f"NetKet {nk.__version__}"
        self.run(1)  # compiles

    def run(self, n: int) -> None:
        self.driver.run(n_iter=n, out=None, show_progress=False)
        jax.block_until_ready(self.vstate.parameters)

    def energy(self) -> float:
        psi = np.asarray(self.vstate.to_array(normalize=True))
        # NetKet orders its basis with spin down (-1) first; compare energies, which are basis-independent
        return float(np.real(np.vdot(psi, self.hamiltonian.to_sparse() @ psi)))


def timed(runner, n: int) -> float:
    """Seconds per iteration of ``n`` iterations of ``runner``."""
    start = time.perf_counter()
    runner.run(n)
    return (time.perf_counter() - start) / n


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iters", type=int, default=300, help="iterations per code (default 300)")
    parser.add_argument("--chains", type=int, default=1000, help="Metropolis chains = samples per iteration")
    parser.add_argument("--blocks", type=int, default=None,
                        help="timed blocks per code, alternated (default 10, or iters - 1 if fewer)")
    args = parser.parse_args(argv)
    if args.blocks is None:
        args.blocks = min(10, args.iters - 1)
    if args.iters < 2 or args.chains < 1 or not 1 <= args.blocks <= args.iters - 1:
        parser.error(f"--iters must be >= 2, --chains >= 1 and 1 <= --blocks <= iters - 1, got {args.iters}, "
                     f"{args.chains} and {args.blocks}")
    exact = tfim_exact_energy(N_SITES, h=H_FIELD)
    print(f"TFIM N={N_SITES}, h=J=1, RBM alpha=1, {args.chains} samples/iteration, SR, {args.iters} iterations")
    print(f"exact ground-state energy (free fermions): {exact:.8f}; devices: {jax.devices()}")
    runners = [CourseRunner(args.iters, args.chains)]
    try:
        runners.append(NetKetRunner(args.chains))
    except ImportError:
        print("NetKet is not installed: skipped (pip install netket to compare).")
    # the first (compiling) iteration is done; the rest is timed in blocks, the codes taking turns (and turns
    # at going first), so that a change in the machine's load affects both codes alike
    sizes = np.diff(np.linspace(0, args.iters - 1, args.blocks + 1).round().astype(int))
    seconds = np.zeros((len(runners), len(sizes)))
    for b, size in enumerate(sizes):
        order = range(len(runners)) if b % 2 == 0 else reversed(range(len(runners)))
        for r in order:
            seconds[r, b] = timed(runners[r], int(size))
    print(f"\n{len(sizes)} alternating blocks of {sizes.min()}-{sizes.max()} iterations after one compiling iteration")
    print("\n| code | ms / iteration: median (min-max over blocks) | exact variational energy | relative error |")
    print("|---|---|---|---|")
    for runner, s in zip(runners, seconds):
        energy = runner.energy()
        print(f"| {runner.name} | {1e3 * np.median(s):.2f} ({1e3 * s.min():.2f}-{1e3 * s.max():.2f}) | "
              f"{energy:.6f} | {(energy - exact) / abs(exact):.2e} |")
    if len(runners) == 2:
        ratio = seconds[1] / seconds[0]
        q1, q3 = np.percentile(ratio, [25, 75])
        print(f"\nNetKet time / course time per iteration, block by block: median {np.median(ratio):.2f}, "
              f"quartiles {q1:.2f}-{q3:.2f}, range {ratio.min():.2f}-{ratio.max():.2f} over {len(ratio)} blocks")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
