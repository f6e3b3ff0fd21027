"""The embedded toy dataset."""
