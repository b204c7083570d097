"""Give a site its sealing key pair: `python -m infra.site_keys --stack NAME --site SITE`.

The private key (an age identity) goes into the deployment's sealing-keys secret, readable by the ingest
function alone; the public key (the age recipient) goes into the site's record, where admins hand it to the
site's gateways. Running it again rotates the pair: clips already sealed to the old key no longer open, so
do it only with the site's gateways drained.
"""

from __future__ import annotations

import argparse

import boto3
from pyrage import x25519

from chalicelib.errors import NotFound
from chalicelib.store.catalog import Catalog
from chalicelib.store.sealing_keys import SealingKeys
from infra.deployment import physical_ids, stack_catalog


def give_site_keys(catalog: Catalog, keys: SealingKeys, site_id: str) -> str:
    """Create and store a site's key pair; the public recipient ("age1...")."""
    site = catalog.get_site(site_id)
    if site is None:
        raise NotFound(f"site {site_id} is not configured")
    identity = x25519.Identity.generate()
    recipient = str(identity.to_public())
    keys.store(site_id, str(identity))
    catalog.put_site(site.model_copy(update={"sealing_recipient": recipient}))
    return recipient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--site", required=True)
    arguments = parser.parse_args()
    physical = physical_ids(arguments.stack)
    keys = SealingKeys(boto3.client("secretsmanager"), physical["SealingKeys"])
    recipient = give_site_keys(stack_catalog(physical), keys, arguments.site)
    print(f"{arguments.site}: gateways seal to {recipient}")  # noqa: T201


if __name__ == "__main__":
    main()
