"""Computations behind the book's chapters; notebooks call these and plot what they save."""
