"""Turning results into text: CPU-column traces, tables, JSON, HTML."""
