"""Shared configuration for the kit's own tests."""
import os
import shutil
import tempfile
from pathlib import Path

# tests/mutants/ holds wrong submissions (cell bodies), not tests: some are named like
# test files (test_near_never_raises.py) and define functions called test*.
collect_ignore = ["mutants", "secrets"]  # secrets/: hostile cells for test_secrets.py

# `autograder check` grades in its own process here, as before its grader process existed;
# tests/test_check_server.py turns the server on, in a folder of this session's own, and no
# server outlives the session.
_RUNTIME = Path(tempfile.mkdtemp(prefix="ag-rt-"))  # short: a socket's path has a length limit
os.environ["AUTOGRADER_RUNTIME_DIR"] = str(_RUNTIME)
os.environ["AUTOGRADER_SERVER"] = "0"


def pytest_configure(config):
    config.addinivalue_line("markers", "redteam: hostile submissions that must be contained (tests/redteam/)")
    config.addinivalue_line("markers", "slow: installs and round trips of a minute or more (the wheel, the "
                                       "releases, nbgrader); left out by default, `pytest -m slow` runs them")


def pytest_sessionfinish(session, exitstatus):
    from autograder.daemon import stop_all

    stop_all(_RUNTIME)
    shutil.rmtree(_RUNTIME, ignore_errors=True)
