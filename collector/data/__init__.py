"""Data shipped with the collector: the scoring configuration and the fonts the PDF reports embed."""
