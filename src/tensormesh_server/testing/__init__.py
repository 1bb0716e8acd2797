"""Test and benchmark helpers shipped with the server (no test framework needed)."""
