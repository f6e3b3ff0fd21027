"""Registered samplers of the plugin; importing this package registers them."""
