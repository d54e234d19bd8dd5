"""Metric file imports (seed 000): validation, COPY formatting and file selection, free of Dagster and AWS."""
