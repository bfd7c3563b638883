"""One implementation of every metric: quality, fairness and value kernels.

Weights-aware where the bootstrap needs them; every page, the search and Compare call these.
"""
