"""Experiment grids, result tables and plots."""
