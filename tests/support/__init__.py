"""Helpers shared by the test suites (imported as `support.<module>`; tests/ is on pytest's pythonpath)."""
