"""Metric file imports, pure logic: validation, COPY formatting, file selection and the quarantine decision."""
