"""Load benchmarks of i18n-connect: a real ``i18n-connect serve`` on loopback, state prepared
in the store beforehand, load from ``wrk``, results as ratios to the same server's trivial
form endpoint measured in the same run. See ``docs/performance.md``.
"""
