"""Analyses: pure functions of tables and arrays; they never open a video or a database."""
