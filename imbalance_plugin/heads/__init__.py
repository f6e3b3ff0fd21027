"""Registered heads of the plugin; importing this package registers them."""
