"""imbalance_plugin: class-imbalance methods for MMDetection 3.x."""
