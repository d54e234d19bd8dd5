"""A file over `max_upload_bytes` is refused before it is read: the step fails naming the file and the limit,
upload_history says why, and nothing is staged."""

import dataclasses

from resources.product_uploads.config import ProductUploadsConfig
from tests.assets.product_uploads.sandbox import csv_body, product_line


def test_a_file_over_the_limit_is_refused_unread_naming_the_file(uploads_env):
    body = csv_body(*(product_line(n) for n in range(1, 40)))
    fields = {name: getattr(uploads_env.config, name) for name in ProductUploadsConfig.model_fields}
    env = dataclasses.replace(
        uploads_env, config=ProductUploadsConfig(**{**fields, "max_upload_bytes": len(body) - 1})
    )
    upload = env.put("uploads/VEND001/too_big.csv", body)

    result = env.run(upload)

    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.event_specific_data.error.message
    assert "uploads/VEND001/too_big.csv" in message
    assert f"file is {len(body):,} bytes, over the {len(body) - 1:,}-byte limit" in message
    history = env.history(upload.upload_id)
    assert history["status"] == "failed" and "max_upload_bytes" in history["error_message"]
    assert env.items(upload.upload_id) == []
    assert env.query("SELECT count(*) FROM products") == [(0,)]

    at_the_limit = dataclasses.replace(
        uploads_env, config=ProductUploadsConfig(**{**fields, "max_upload_bytes": len(body)})
    )
    accepted = at_the_limit.put("uploads/VEND001/just_fits.csv", body)
    assert at_the_limit.run(accepted).success
    assert at_the_limit.history(accepted.upload_id)["valid_records"] == 39
