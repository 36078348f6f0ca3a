"""Shared fixtures. Unit tests run in float64, so that exact references can be met to 1e-10, and under
JAX's strict dtype promotion, so that a helper that silently mixes float32 and float64 (and so changes
the caller's dtype) fails loudly instead."""

import pathlib

import jax
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def pytest_configure(config):
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_numpy_dtype_promotion", "strict")


@pytest.fixture
def root() -> pathlib.Path:
    return ROOT
