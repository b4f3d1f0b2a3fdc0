"""The benchmark: `python -m bench.run [--smoke] [--profile DIR]` (make bench / make bench-smoke).

`bench.generate` builds and caches the data sets, `bench.app` is the service plus three baseline
routes (served only for the benchmark), `bench.run` starts real gunicorn processes, prints the table
of ratios and fails past a floor, `bench.profiles` sums the py-spy profiles of `--profile`.
"""
