"""The benchmark: `python -m bench.run [--smoke]` (make bench / make bench-smoke).

`bench.generate` builds and caches the data sets, `bench.app` is the service plus two baseline
routes (served only for the benchmark), `bench.run` starts real gunicorn processes and prints the
table of ratios.
"""
