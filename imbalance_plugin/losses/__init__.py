"""Registered losses of the plugin; importing this package registers them."""
