"""Corpora: synthetic tasks (and, later, the embedded default corpus)."""
