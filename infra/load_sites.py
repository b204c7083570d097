"""Load the sites (tenants) of a deployment from a JSON file: `python -m infra.load_sites --stack NAME sites.json`.

Sites are configuration, not data an API edits: each carries its legal retention maximum and the basis for
it, the controller and the DPO contact. The file has the shape of local/demo_sites.json ("sites" list).
Loading again replaces each site's record (retention changes through the API come with issue 3).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from chalicelib.domain.catalog import Site
from chalicelib.store.catalog import Catalog
from infra.deployment import physical_ids, stack_catalog


def load_sites(catalog: Catalog, sites: list[dict[str, Any]]) -> list[str]:
    """Validate every site first, then store them all; the ids stored."""
    validated = [Site.model_validate(site) for site in sites]
    for site in validated:
        if site.retention_days > site.max_retention_days:
            raise ValueError(f"{site.site_id}: retention {site.retention_days} d over its legal maximum")
    for site in validated:
        catalog.put_site(site)
    return [site.site_id for site in validated]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", required=True, help="the CloudFormation stack of the deployment")
    parser.add_argument("file", type=Path)
    arguments = parser.parse_args()
    catalog = stack_catalog(physical_ids(arguments.stack))
    loaded = load_sites(catalog, json.loads(arguments.file.read_text())["sites"])
    print(f"loaded sites: {', '.join(loaded)}")  # noqa: T201


if __name__ == "__main__":
    main()
