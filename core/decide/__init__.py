"""From a finished study to one decision: the Pareto front, MCDM methods, the room, comparisons.

Reads studies and metrics; never writes bundles or imports the CLI.
"""
