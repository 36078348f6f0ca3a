"""The suite's processes run single-threaded (root conftest.py): two multi-threaded JAX kernels on two
cores slow each other several-fold, enough to push notebook cells past nbval's timeout."""

import os
import subprocess
import sys


def test_child_processes_inherit_single_thread_settings():
    code = "import os; print(os.environ.get('XLA_FLAGS', ''), os.environ.get('OPENBLAS_NUM_THREADS'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "intra_op_parallelism_threads=1" in out and "--xla_cpu_multi_thread_eigen=false" in out, out
    assert out.split()[-1] == "1", out


def test_xla_flags_are_valid_for_this_jaxlib():
    # An unknown flag makes XLA abort at start-up, so run a computation in a fresh process.
    code = "import jax.numpy as jnp; print(float(jnp.linalg.eigvalsh(jnp.eye(3) * 2.0).sum()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "6.0"
