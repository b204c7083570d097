"""The base of the archive's pydantic models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """A pydantic model whose validator, serializer and schema are built when it is first used, not when its
    module is imported: a function's first event imports the modules of the models it needs (chalicelib/api/
    contract.py), each with models that event never uses; a cold start pays to build only the ones it touches."""

    model_config = ConfigDict(defer_build=True)
