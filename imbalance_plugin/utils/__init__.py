"""Glue between the plugin and the stock MMEngine tools."""
