"""Adapters that put negsamp behind the APIs of the libraries its users
train with.  Each submodule imports its library when it is itself
imported; ``import negsamp`` imports none of them.

- ``negsamp.integrations.pyg``: PyTorch Geometric's negative sampling
  functions (``pip install 'negsamp[pyg]'``).
"""
