"""The base of every model of the API's requests and responses."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ApiModel(BaseModel):
    """Built on first use (``defer_build``), as the domain's models are (``jevs.domain``): a request uses a few of
    the API's hundred models, and building them all at import took a third of the API's cold start. A subclass's
    own ``model_config`` adds to this one. Under SnapStart they are built before the snapshot
    (``jevs.bootstrap.build_deferred_models``)."""

    model_config = ConfigDict(defer_build=True)
