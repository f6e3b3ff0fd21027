"""Experiment grids, result tables and plots (``tools/ablate.py``).

- :mod:`.grid_file`: what a grid file may hold (its entries, checked);
  :mod:`.grid`: the grid they make (variants, or the cells of axes, with
  their published metrics and sources) and its loading
- :mod:`.run`: running a grid, resumable, one run per variant and seed;
  :mod:`.launch`: the stock tools' command lines per launcher, run
- :mod:`.overrides`: ``--cfg-options`` and ``--data-root`` for the tools
- :mod:`.metrics`: the COCO metrics (declared once), reading them, speed
  and memory of a run
- :mod:`.records`: a run's record and results.csv
- :mod:`.report`: the three result files, written by :mod:`.rows` (row
  statistics), :mod:`.columns` (results.md's column specs), :mod:`.prose`
  (results.md) and :mod:`.plot` (results.png)
- :mod:`.progress`: progress lines with elapsed time and time left
- :mod:`.gradient_density`: ``--gradient-density``, the training hook and
  the gradient-density plot of every run
"""
