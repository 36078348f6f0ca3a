"""The package's public surface: every public function documents its arguments, returns and errors; every
iterative method has the (init, step) shape; importing the package is cheap and changes nothing."""

import importlib
import inspect
import subprocess
import sys

import pytest

MODULES = [
    "landscape", "langevin", "integrators", "networks", "randommatrix", "quantum", "vmc", "discovery",
    "symmetry", "hnn", "onsager", "gauge", "landau", "interactive", "ising",
    "spinglass", "annealing", "hopfield", "perceptron", "rbm", "spiked", "generalization",
    "sbi", "potentials", "mldft", "reservoir", "diffusion", "lattice_protein", "coevolution",
    "qcontrol", "qec", "tomography", "tensornet", "photonics",
]


def _public_functions():
    for name in MODULES:
        module = importlib.import_module(f"physml_helpers.{name}")
        for attr in module.__all__:
            obj = getattr(module, attr)
            if inspect.isfunction(obj):
                yield f"{name}.{attr}", obj


@pytest.mark.parametrize("name, fn", list(_public_functions()), ids=lambda x: x if isinstance(x, str) else "")
def test_every_public_function_documents_args_returns_and_raises(name, fn):
    doc = inspect.getdoc(fn) or ""
    missing = [section for section in ("Args:", "Returns:", "Raises:") if section not in doc]
    if not inspect.signature(fn).parameters:
        missing = [s for s in missing if s != "Args:"]
    assert not missing, f"{name} lacks {', '.join(missing)} in its docstring"


def test_every_name_in_all_exists_and_public_names_are_listed():
    for name in MODULES:
        module = importlib.import_module(f"physml_helpers.{name}")
        assert len(set(module.__all__)) == len(module.__all__), f"{name}.__all__ has duplicates"
        for attr in module.__all__:
            assert hasattr(module, attr), f"{name}.__all__ lists {attr}, which does not exist"
        defined_here = [a for a, v in vars(module).items() if not a.startswith("_")
                        and (inspect.isfunction(v) or inspect.isclass(v)) and v.__module__ == module.__name__]
        unlisted = sorted(set(defined_here) - set(module.__all__))
        assert not unlisted, f"{name} defines public names missing from __all__: {unlisted}"


def test_kernel_factories_return_init_step_pairs_with_namedtuple_states():
    from physml_helpers import Kernel

    factories = [(f"{m}.{a}", getattr(importlib.import_module(f"physml_helpers.{m}"), a))
                 for m in MODULES for a in importlib.import_module(f"physml_helpers.{m}").__all__
                 if a.endswith("_kernel")]
    assert len(factories) >= 9, [n for n, _ in factories]
    for name, factory in factories:
        assert inspect.signature(factory).return_annotation in (Kernel, "Kernel"), name
    for cls_name in ("DescentState", "FlowState", "LangevinState", "ODEState", "LeapfrogState", "SamplerState",
                     "WilsonState", "VMCState", "AdamState"):
        cls = next(getattr(importlib.import_module(f"physml_helpers.{m}"), cls_name) for m in MODULES
                   if hasattr(importlib.import_module(f"physml_helpers.{m}"), cls_name))
        assert issubclass(cls, tuple) and hasattr(cls, "_fields"), f"{cls_name} is not a NamedTuple"


def test_importing_the_package_is_cheap_and_changes_no_jax_setting():
    code = (
        "import sys, physml_helpers\n"
        "assert 'jax' not in sys.modules, 'importing physml_helpers imported jax'\n"
        "import jax\n"
        "assert not jax.config.jax_enable_x64\n"
        "import physml_helpers.landscape, physml_helpers.vmc, physml_helpers.gauge\n"
        "assert not jax.config.jax_enable_x64\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
