"""Runs: what a finished training holds, and its folder and zip format."""
