"""memdev: a Kaggle-style pipeline for tabular anomaly-detection competitions."""

__version__ = "0.1.0"
