"""Shared fixtures. Unit tests run in float64 so that exact references can be met to 1e-10."""

import pathlib

import jax
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def pytest_configure(config):
    jax.config.update("jax_enable_x64", True)


@pytest.fixture
def root() -> pathlib.Path:
    return ROOT
