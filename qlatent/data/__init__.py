"""Datasets: the synthetic quantum dataset and QM9."""
