"""Patina: a language server that gives every editor semantic code search."""

__version__ = "0.1.0"
