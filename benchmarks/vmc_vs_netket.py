"""Variational Monte Carlo of the course helpers against NetKet, on the same problem.

    python benchmarks/vmc_vs_netket.py                    # 300 iterations each
    python benchmarks/vmc_vs_netket.py --iters 100 --chains 1000

The problem: periodic transverse-field Ising chain, N = 16, h = J = 1; an RBM with alpha = 1 and real
parameters (the ground state is positive); Metropolis single-spin flips, one sweep (N proposals) per
chain between iterations, one sample per chain (``--chains`` samples per iteration); stochastic
reconfiguration with a dense solve, diagonal shift 0.01, learning rate 0.05. Both run in float64 on the
same machine, from the same kind of initial state.

Reported for each: seconds per iteration (after the first, compiling, iteration) and the relative error
of the *exact* variational energy of the final parameters (a sum over all 2^16 configurations, so the
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


def run_course(n_iters: int, n_chains: int) -> dict:
    local_energy = partial(tfim_local_energy, h=H_FIELD)
    init, step = vmc(rbm_log_psi, local_energy, N_SITES, n_chains=n_chains, lr=LR, diag_shift=DIAG_SHIFT)
    state = init(jax.random.key(1), init_rbm(jax.random.key(0), N_SITES, alpha=1, scale=0.01))
    keys = list(jax.random.split(jax.random.key(2), n_iters))  # split before the clock starts
    state, info = step(keys[0], state)  # compiles
    jax.block_until_ready(info.energy)
    start = time.perf_counter()
    for key in keys[1:]:
        state, info = step(key, state)
    jax.block_until_ready(state.params)
    seconds = (time.perf_counter() - start) / (n_iters - 1)
    energy = float(exact_statistics(rbm_log_psi, local_energy, state.params, N_SITES, gradients=False)["energy"])
    return {"seconds": seconds, "energy": energy}


def run_netket(n_iters: int, n_chains: int):
    try:
        import netket as nk
    except ImportError:
        return None
    graph = nk.graph.Chain(length=N_SITES, pbc=True)
    hilbert = nk.hilbert.Spin(s=0.5, N=N_SITES)
    # NetKet's Ising is -h sum X + J sum ZZ, so J = -1 is the course's -sum ZZ
    hamiltonian = nk.operator.Ising(hilbert=hilbert, graph=graph, h=H_FIELD, J=-1.0)
    sampler = nk.sampler.MetropolisLocal(hilbert, n_chains=n_chains, sweep_size=N_SITES)
    model = nk.models.RBM(alpha=1, param_dtype=float)
    vstate = nk.vqs.MCState(sampler, model, n_samples=n_chains, n_discard_per_chain=0, seed=0, sampler_seed=1)
    driver = nk.driver.VMC(
        hamiltonian,
        nk.optimizer.Sgd(learning_rate=LR),
        variational_state=vstate,
        preconditioner=nk.optimizer.SR(diag_shift=DIAG_SHIFT, solver=nk.optimizer.solver.cholesky),
    )
    driver.run(n_iter=1, out=None, show_progress=False)  # compiles
    jax.block_until_ready(vstate.parameters)
    start = time.perf_counter()
    driver.run(n_iter=n_iters - 1, out=None, show_progress=False)
    jax.block_until_ready(vstate.parameters)
    seconds = (time.perf_counter() - start) / (n_iters - 1)
    psi = np.asarray(vstate.to_array(normalize=True))
    # NetKet orders its basis with spin down (-1) first; compare energies, which are basis-independent
    matrix = hamiltonian.to_sparse()
    energy = float(np.real(np.vdot(psi, matrix @ psi)))
    return {"seconds": seconds, "energy": energy, "version": nk.__version__}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iters", type=int, default=300, help="iterations per code (default 300)")
    parser.add_argument("--chains", type=int, default=1000, help="Metropolis chains = samples per iteration")
    args = parser.parse_args(argv)
    if args.iters < 2 or args.chains < 1:
        parser.error(f"--iters must be >= 2 and --chains >= 1, got {args.iters} and {args.chains}")
    exact = tfim_exact_energy(N_SITES, h=H_FIELD)
    print(f"TFIM N={N_SITES}, h=J=1, RBM alpha=1, {args.chains} samples/iteration, SR, {args.iters} iterations")
    print(f"exact ground-state energy (free fermions): {exact:.8f}; devices: {jax.devices()}")
    rows = [("physml_helpers.vmc", run_course(args.iters, args.chains))]
    netket = run_netket(args.iters, args.chains)
    if netket is None:
        print("NetKet is not installed: skipped (pip install netket to compare).")
    else:
        rows.append((f"NetKet {netket['version']}", netket))
    print("\n| code | ms / iteration | exact variational energy | relative error |\n|---|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {1e3 * r['seconds']:.2f} | {r['energy']:.6f} | {(r['energy'] - exact) / abs(exact):.2e} |")
    if netket is not None:
        print(f"\nNetKet time / course time per iteration: {netket['seconds'] / rows[0][1]['seconds']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
