"""The base of the archive's pydantic models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """A pydantic model whose validator, serializer and schema are built when it is first used, not when its
    module is imported: every function imports every route's models (app.py declares them all), and building
    them all was a third of `import app`; a cold start now pays for the ones its first event touches."""

    model_config = ConfigDict(defer_build=True)
