"""Vendor product uploads: key and id formats, CSV parsing, product validation, error reports.

Plain functions only (no dagster, boto3 or psycopg2), so they are tested without any service.
"""
