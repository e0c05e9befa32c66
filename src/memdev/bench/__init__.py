"""The benchmark behind BENCHMARKS.md: ``python -m memdev.bench`` (``make bench``), ``--ablation``, ``--tuning``."""
