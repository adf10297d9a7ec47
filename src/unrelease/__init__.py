"""unrelease: roll back a bad Python package release in one step."""

__version__ = "0.1.0"
