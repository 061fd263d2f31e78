"""CLIP loading and the HDF5 feature cache (the `vlpeft clip-demo` and `vlpeft features` steps).

Import the submodules directly (``vlpeft.features.cache``, ``.clip_loader``); this package imports
nothing itself so that reading a cache does not import torch."""
