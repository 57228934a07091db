"""Data: video and image I/O, datasets, procedural characters."""
