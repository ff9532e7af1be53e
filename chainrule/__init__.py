"""chainrule: derive, generate, verify, report and audit the mathematics of deep-learning notes."""

__version__ = "0.1.0"
