"""Run-wide settings for the test suite, applied before any test module or notebook kernel starts.

The suite runs two processes at once (``-n 2``), and both execute notebooks in kernels of their own: the
book's chapters and solutions (shared between the two, tests/notebook_pool.py) and the exercises (nbval). By
default XLA and OpenBLAS each start one busy-waiting thread per core in every process, so two such processes
on two cores fight over them. Measured on a two-core machine: chapters 2 and 7 executed side by side took
215 s and 229 s with the default threads, and 51 s and 43 s with one thread each (alone, with default
threads: 42 s and 35 s). Every process the suite starts (workers, kernels, the book build) inherits these
variables.
"""

import os

_SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
_XLA_FLAGS = ("--xla_cpu_multi_thread_eigen=false", "intra_op_parallelism_threads=1")

for _name, _value in _SINGLE_THREAD.items():
    os.environ.setdefault(_name, _value)
_flags = os.environ.get("XLA_FLAGS", "").split()
os.environ["XLA_FLAGS"] = " ".join(_flags + [f for f in _XLA_FLAGS if f.split("=")[0] not in " ".join(_flags)])

# Every kernel the suite starts (nbval's, and nbclient's in the book builds) runs over IPC sockets, not
# unencrypted TCP on localhost, so ipykernel has no "Kernel is running over TCP without encryption"
# warning to print: physml_helpers/course/ipc_kernel.py is the kernel provisioner that does this,
# registered by pyproject.toml's entry point and made the default here for this process and every
# process it starts (workers, kernels, the builds).
os.environ.setdefault("JUPYTER_DEFAULT_PROVISIONER_NAME", "physml-ipc")
