"""`python -m local.export_openapi PATH`: write the API's OpenAPI document (what `GET /openapi.json` serves) to
PATH, for the console's generated TypeScript types and for API tools that want a file."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    import app  # noqa: F401 - registers every route's contract
    from chalicelib.api.openapi import openapi_document

    target = Path(sys.argv[1])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(openapi_document(), indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
