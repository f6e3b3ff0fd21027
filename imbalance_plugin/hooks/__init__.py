"""Registered hooks of the plugin; importing this package registers them."""
