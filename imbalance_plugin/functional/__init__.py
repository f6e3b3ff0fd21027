"""Pure tensor math of the imbalance methods: no registry, no mmdet imports."""
