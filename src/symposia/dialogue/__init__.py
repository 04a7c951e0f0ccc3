"""Dialogue engine: plans, visibility, orchestration of turns."""
