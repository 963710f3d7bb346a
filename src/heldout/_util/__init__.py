"""Plumbing shared by the stages: hashing, suggestions, file locations."""
