"""Vendor product uploads: stage one CSV in DynamoDB, validate it into `products`, and the jobs that run it."""

from assets.partitions import product_upload_partitions
from assets.pipeline_jobs import pipeline_jobs
from assets.product_uploads.assets import product_upload_records, validated_products

product_uploads_assets = [product_upload_records, validated_products]

product_uploads_job, product_uploads_job_on_lambda = pipeline_jobs(
    "product_uploads",
    product_upload_partitions,
    "Stage one vendor CSV in DynamoDB and validate it into the products table.",
)

__all__ = ["product_uploads_assets", "product_uploads_job", "product_uploads_job_on_lambda"]
