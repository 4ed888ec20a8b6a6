"""Hostile-input tests: every bad input is one stderr line, exit code 2, and nothing written or deleted."""
