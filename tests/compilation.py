"""Counting XLA compilations, for the tests that a repeated call with the same shapes compiles nothing."""

import contextlib

import jax


@contextlib.contextmanager
def count_compilations():
    """Count XLA backend compilations inside the block: ``with count_compilations() as n: ...; n[0]``."""
    from jax import monitoring

    counter = [0]

    def listener(name, duration, **kwargs):
        if name.endswith("backend_compile_duration"):
            counter[0] += 1

    monitoring.register_event_duration_secs_listener(listener)
    try:
        yield counter
    finally:
        monitoring.unregister_event_duration_listener(listener)


def assert_compiles_once(call, *, second=None):
    """Run ``call()`` (which compiles), then ``second()`` (default: ``call`` again, usually with new values of
    the same shapes) and assert the second run compiled nothing."""
    jax.block_until_ready(call())
    with count_compilations() as compiled:
        jax.block_until_ready((second or call)())
    assert compiled[0] == 0, f"a repeated call with the same shapes compiled {compiled[0]} more time(s)"
