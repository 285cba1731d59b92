"""Adapters that put negsamp behind the APIs of the libraries its users
train with.  Each submodule imports its library when it is itself
imported; ``import negsamp`` imports none of them.

- ``negsamp.integrations.pyg``: PyTorch Geometric's negative sampling
  functions (``pip install 'negsamp[pyg]'``).
- ``negsamp.integrations.pykeen``: ``ExactNegativeSampler``, a PyKEEN
  negative sampler filtered exactly at draw time (``pip install
  'negsamp[pykeen]'``).
- ``negsamp.integrations.sentence_transformers``: ``mine_hard_negatives``
  with sentence-transformers' parameters and output formats, exact over the
  whole corpus (``pip install 'negsamp[sentence-transformers]'``).
"""
