"""Metrics: distances between distributions and molecular quality scores."""
