"""Connecting to sources: address policy, deadlines, and errors mapped to fields."""
