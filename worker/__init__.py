"""crossgen: reverse-mentoring programmes, booked and kept healthy inside Microsoft 365."""

__version__ = "0.1.0"
