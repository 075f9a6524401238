"""Validates AddDeliveryOptions details documents with AWS's own generated shapes.

Usage: python catalog_shapes.py <folder of aws-marketplace-catalog-shapes>  < docs.json
Reads a JSON list of documents; prints a JSON list with, for each, the errors pydantic
reports (an empty list when the shapes accept the document). Needs pydantic v2.
"""

import json
import sys

sys.path.insert(0, sys.argv[1])

from aws_marketplace_catalog_shapes_amiproduct_1_0_changetypes.models.add_delivery_options_change_detail import (  # noqa: E402
    AddDeliveryOptionsChangeDetail,
)
from pydantic import ValidationError  # noqa: E402

results = []
for document in json.load(sys.stdin):
    try:
        AddDeliveryOptionsChangeDetail.model_validate(document)
        results.append([])
    except ValidationError as error:
        results.append(
            [".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in error.errors()]
        )
json.dump(results, sys.stdout)
