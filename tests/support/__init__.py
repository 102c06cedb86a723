"""Helpers shared by test modules (fixtures: tests/conftest.py); test modules do not import each other."""
