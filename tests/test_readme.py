"""Every command the README shows is run by this suite or by CI (.ci/run).

This test reads the README's shell blocks and fails on a command nobody exercises, so the README and
the tests cannot drift apart. The commands that are cheap to run here are run here.
"""

import os
import pathlib
import re
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]

# command -> where it is exercised
EXERCISED = {
    "pip install -r requirements.txt": ".ci/run",
    "pytest": ".ci/run",
    "jupyter-book build .": "tests/test_book.py (with -W -n into a temporary folder)",
    "jupyter-book build . --toc _toc_student.yml --path-output _build/student": "tests/test_book.py",
    "jupyter lab": "test_jupyter_lab_serves_the_exercises",
    "python -m physml_helpers.course.assign": "tests/test_assign.py::test_cli_check_exit_codes",
    "python -m physml_helpers.course.assign --check": "tests/test_assign.py::test_repository_exercises_are_in_sync",
    "python -m physml_helpers.course.assign pack --chapters 1 --out week1.zip": "tests/test_assign.py::test_pack_bundles_notebooks_helpers_readme_and_requirements",
    'python -c "import jax; print(jax.devices())"': "test_jax_devices_command",
    "python benchmarks/notebook_times.py": "test_notebook_times_script",
    "python benchmarks/vmc_vs_netket.py": "test_vmc_benchmark_runs_and_skips_netket_cleanly",
    "python benchmarks/ising_vs_numpy.py": "test_ising_benchmark_runs",
    "python -m physml_helpers.course.pdf": "test_pdf_command_line (its arguments) and tests/test_book.py::pdf_edition "
                                          "(build_pdf, which it calls, on the test builds' cache)",
}


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_every_readme_command_is_exercised():
    commands = _readme_commands()
    assert "pytest" in commands and "jupyter-book build ." in commands
    unknown = [c for c in commands if c not in EXERCISED]
    assert unknown == [], f"README commands not exercised by any test or CI: {unknown}"


def test_ci_runs_install_and_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"pip install .*-r requirements.txt", ci)
    assert re.search(r"^\s*(python -m )?pytest\b", ci, re.M)


def test_jax_devices_command():
    out = subprocess.run([sys.executable, "-c", "import jax; print(jax.devices())"], capture_output=True, text=True, check=True)
    assert "Device" in out.stdout or "cpu" in out.stdout.lower()


def test_notebook_times_script():
    """Run the timing script on two of the (fast) exercise notebooks, given by a glob; the full run is the
    README's command. (Every exercise notebook is executed by nbval in the same run: timing them all here
    would execute them twice.)"""
    result = subprocess.run(
        [sys.executable, "benchmarks/notebook_times.py", "exercises/0[14]_*.ipynb"], cwd=ROOT, capture_output=True,
        text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    table = (ROOT / "_build" / "notebook_times.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == ["exercises/01_energy_landscapes.ipynb",
                                                   "exercises/04_generalization.ipynb"], table
    assert all(row.rstrip(" |").endswith("ok") for row in rows), table


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_jupyter_lab_serves_the_exercises(tmp_path):
    port, token = _free_port(), "physml-test-token"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False", "--allow-root"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/contents/exercises/01_energy_landscapes.ipynb?token={token}&content=0"
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    assert response.status == 200
                    break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise AssertionError("jupyter lab did not serve exercises/ within 60 s")
                time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10) as response:
            assert response.status == 200 and b"JupyterLab" in response.read()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_vmc_benchmark_runs_and_skips_netket_cleanly():
    """A short run of the benchmark; without NetKet (it is not in requirements.txt) it must say so and exit 0."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    probe = subprocess.run([sys.executable, "-c", "import netket"], capture_output=True, env=env)
    result = subprocess.run(
        [sys.executable, "benchmarks/vmc_vs_netket.py", "--iters", "5", "--chains", "200"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| physml_helpers.vmc |" in result.stdout
    if probe.returncode != 0:
        assert "NetKet is not installed: skipped" in result.stdout
    else:
        assert "NetKet time / course time per iteration" in result.stdout


def test_ising_benchmark_runs():
    """A short run of the Ising benchmark: all three codes time, and their chains agree on the physics."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "benchmarks/ising_vs_numpy.py", "--L", "64", "--sweeps", "50", "--blocks", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "JAX multispin (headline)" in result.stdout and "ratio to NumPy: median" in result.stdout
    energies = re.search(r"energy per site at the end: NumPy (-?[\d.]+), JAX multispin (-?[\d.]+), "
                         r"JAX checkerboard (-?[\d.]+)", result.stdout)
    assert energies, result.stdout
    # all at T = 2.269 on a 64 x 64 torus: near Kaufman's -1.42; one configuration fluctuates by ~0.03
    numpy_energy, multispin, checkerboard = (float(g) for g in energies.groups())
    assert abs(multispin - numpy_energy) < 0.25 and abs(checkerboard - numpy_energy) < 0.25


def test_pdf_command_line(monkeypatch):
    """The README's PDF command, and its student-edition options, reach build_pdf as documented; the
    build itself is tested in tests/test_book.py (it needs the executed book)."""
    from physml_helpers.course import pdf

    calls = []

    def fake_build_pdf(root, pdf_path, **kwargs):
        calls.append((root, pdf_path, kwargs))
        return {"pdf": pdf_path or "_build/pdf/book.pdf", "typeset": 1, "images": 1, "build_seconds": 0, "seconds": 0}

    monkeypatch.setattr(pdf, "build_pdf", fake_build_pdf)
    assert pdf.main([]) == 0
    assert pdf.main(["--toc", "_toc_student.yml", "--out", "_build/pdf/student.pdf"]) == 0
    assert calls[0] == (".", None, {"config": None, "toc": None, "strict": True})
    assert calls[1] == (".", "_build/pdf/student.pdf", {"config": None, "toc": "_toc_student.yml", "strict": True})
