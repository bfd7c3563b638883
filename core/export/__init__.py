"""The bundle a team takes away: typed config, reproduce, predict, import, ONNX, report.

Everything a bundle needs to be rebuilt and checked later; no CLI here.
"""
