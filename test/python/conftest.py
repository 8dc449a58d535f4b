"""Fixtures of the python suite: a fresh object name per test, removed afterwards.
netshm is imported by the fixtures, not here: test_install.py runs without it."""

import os
import uuid

import pytest


@pytest.fixture
def name():
    """A POSIX object name nobody uses; the object is unlinked after the test."""
    import netshm
    shm = "/netshm-py-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
    yield shm
    try:
        netshm.unlink(shm)
    except netshm.NotFound:
        pass


@pytest.fixture
def table(name):
    import netshm
    with netshm.open(name, create=True) as t:
        yield t
