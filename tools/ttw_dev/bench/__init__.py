"""Benchmarks (``ttw bench ...``): measured figures with the command that reproduces them.

Each benchmark prints a table and can write JSON. Nothing here is a test: timings never
decide pass or fail.
"""
