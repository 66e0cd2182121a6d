"""The base of every fact model."""

from pydantic import BaseModel, ConfigDict


class FactModel(BaseModel):
    # Unknown keys from a newer agent are kept, not rejected: additive changes keep the version.
    model_config = ConfigDict(extra="allow")
