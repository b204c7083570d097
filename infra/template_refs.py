"""References between the resources of a CloudFormation template, as the packaged-template checks read them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_SUB_ARN = re.compile(r"^\$\{([A-Za-z0-9]+)\.Arn\}$")


def arn_target(value: Any) -> str | None:
    """The logical name of the resource whose Arn `value` is, if it is exactly one GetAtt/Sub of it."""
    if not isinstance(value, Mapping) or len(value) != 1:
        return None
    ((function, argument),) = value.items()
    if function == "Fn::GetAtt":
        parts = argument.split(".", 1) if isinstance(argument, str) else argument
        if isinstance(parts, list) and len(parts) == 2 and parts[1] == "Arn" and isinstance(parts[0], str):
            return parts[0]
    elif function == "Fn::Sub" and isinstance(argument, str) and (match := _SUB_ARN.match(argument)):
        return match.group(1)
    return None
