"""Roll forward and complete half-done publishes: known-good files onto the index with twine."""
