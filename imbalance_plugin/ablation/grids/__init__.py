"""Built-in ablation grids: one file per grid, named as tools/ablate.py
takes it."""
