"""Shared infrastructure: settings, database, clock, templating, message types. Imports nothing from the product."""
