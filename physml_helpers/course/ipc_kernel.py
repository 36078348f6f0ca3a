"""A kernel provisioner that starts local kernels over IPC (Unix-domain sockets) instead of TCP.

jupyter_client starts kernels over TCP on 127.0.0.1 by default, without encryption, and ipykernel then
logs "Kernel is running over TCP without encryption" at every start (``IPKernelApp.init_sockets``).
A local kernel needs no network: over IPC its five channels are socket files in Jupyter's runtime
folder, private to the user (mode 0700), and the kernel logs nothing.

``pyproject.toml`` registers this class as the ``physml-ipc`` kernel provisioner (entry point group
``jupyter_client.kernel_provisioners``). It becomes the default through the environment variable
``JUPYTER_DEFAULT_PROVISIONER_NAME``, which the root ``conftest.py`` sets for every process the test
suite starts (xdist workers, nbval's kernels, the book builds' nbclient) and the book's extension
``book/_ext/course_html.py`` sets for a plain ``jupyter-book build .``. A kernel spec that names its own
provisioner keeps it.
"""

from __future__ import annotations

import os
from typing import Any

import zmq
from jupyter_client.provisioning import LocalProvisioner
from jupyter_core.paths import jupyter_runtime_dir
from jupyter_core.utils import ensure_dir_exists

# Unix-domain socket paths are limited to 107 bytes on Linux (103 on macOS); jupyter_client appends
# "-<n>" to the prefix.
_MAX_PREFIX = 96


class IPCProvisioner(LocalProvisioner):  # type: ignore[misc]
    """``LocalProvisioner`` with the kernel manager switched to the ``ipc`` transport before launch."""

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        km = self.parent
        if km is not None and km.transport != "ipc" and zmq.has("ipc"):  # no IPC on Windows: TCP as before
            if km.connection_file:
                prefix = os.path.splitext(km.connection_file)[0] + "-ipc"
            else:
                runtime = jupyter_runtime_dir()
                ensure_dir_exists(runtime, 0o700)
                prefix = os.path.join(runtime, f"kernel-{self.kernel_id}-ipc")
            if len(prefix) > _MAX_PREFIX:
                raise RuntimeError(f"IPC socket path {prefix!r} is too long; set JUPYTER_RUNTIME_DIR to a shorter folder")
            km.transport = "ipc"
            km.ip = prefix  # for ipc, the "ip" is the path prefix of the socket files
            km.cache_ports = False  # the TCP port cache does not apply to socket files
        return await super().pre_launch(**kwargs)
