"""Vendor product uploads: stage one CSV in DynamoDB, validate it into `products`, and the job that runs it."""

from assets.partitions import product_upload_partitions
from assets.pipeline_jobs import pipeline_job
from assets.product_uploads.assets import product_upload_records, validated_products

product_uploads_assets = [product_upload_records, validated_products]

product_uploads_job = pipeline_job(
    "product_uploads",
    product_upload_partitions,
    "Stage one vendor CSV in DynamoDB and validate it into the products table.",
)

__all__ = ["product_uploads_assets", "product_uploads_job"]
