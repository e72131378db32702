"""Shared configuration for the kit's own tests."""

# tests/mutants/ holds wrong submissions (cell bodies), not tests: some are named like
# test files (test_near_never_raises.py) and define functions called test*.
collect_ignore = ["mutants", "secrets"]  # secrets/: hostile cells for test_secrets.py


def pytest_configure(config):
    config.addinivalue_line("markers", "redteam: hostile submissions that must be contained (tests/redteam/)")
