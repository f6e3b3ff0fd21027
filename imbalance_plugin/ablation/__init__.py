"""Experiment grids, result tables and plots (``tools/ablate.py``).

- :mod:`.grid`: grid files (variants, or axes whose cells become variants,
  with their published metrics and sources) and their loading
- :mod:`.run`: running a grid, resumable, one run per variant and seed;
  :mod:`.launch`: the stock tools' command lines per launcher, run
- :mod:`.overrides`: ``--cfg-options`` and ``--data-root`` for the tools
- :mod:`.metrics`: reading COCO metrics, speed and memory of a run
- :mod:`.records`: a run's record and results.csv
- :mod:`.report`: results.md (a list of column specs), results.png
- :mod:`.progress`: progress lines with elapsed time and time left
- :mod:`.gradient_density`: ``--gradient-density``, the training hook and
  the gradient-density plot of every run
"""
