"""Imports: sources (CSV, XLSX, PLE) -> column resolution -> conversion -> loading, run by one pipeline."""
