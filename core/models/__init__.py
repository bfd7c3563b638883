"""Model families, evaluation of one configuration, latency measurement, a candidate rebuilt from a trial.

Owns what a fitted model is and how it is measured; knows nothing of studies, rooms or bundles.
"""
