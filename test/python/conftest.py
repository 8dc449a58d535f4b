"""Fixtures of the python suite: a fresh object name per test, removed afterwards."""

import os
import uuid

import pytest

import netshm


@pytest.fixture
def name():
    """A POSIX object name nobody uses; the object is unlinked after the test."""
    shm = "/netshm-py-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
    yield shm
    try:
        netshm.unlink(shm)
    except netshm.NotFound:
        pass


@pytest.fixture
def table(name):
    with netshm.open(name, create=True) as t:
        yield t
