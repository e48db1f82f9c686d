"""Paths of the committed fixtures (a module of its own: several conftest.py files would shadow each other)."""

from pathlib import Path

TESTS = Path(__file__).parent
FIXTURES = TESTS / "fixtures"
LOCKS = FIXTURES / "locks"
SIZE_CACHE = FIXTURES / "size-cache"
