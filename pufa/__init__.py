"""Composition root: the CLI (and later the web console). The only place that wires things together."""

__version__ = "0.1.0"
