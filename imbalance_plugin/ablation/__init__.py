"""Experiment grids, result tables and plots (``tools/ablate.py``).

- :mod:`.grid`: grid files (named lists of variant configs) and their loading
- :mod:`.runner`: running a whole grid; :mod:`.run`: one variant and seed,
  resumable; :mod:`.launch`: the stock tools' command lines per launcher
- :mod:`.cfg_options`, :mod:`.data_root`: overrides passed to the tools
- :mod:`.metrics`: reading COCO metrics, speed and memory of a run
- :mod:`.records`: results.csv; :mod:`.summary`: statistics over seeds;
  :mod:`.table`: results.md; :mod:`.plot`: results.png;
  :mod:`.report`: the three together
- :mod:`.progress`: progress lines with elapsed time and time left
- :mod:`.gradient_density`: ``--gradient-density``, the training hook and
  the gradient-density plot of every run
"""
