"""Setting types shared by every component's pydantic-settings class."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator
from pydantic_settings import NoDecode


def split_commas(value: object) -> object:
    """Let list settings be given as 'a,b,c' in the environment."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


# A list of names, written comma-separated in the environment.
NameList = Annotated[list[str], NoDecode, BeforeValidator(split_commas)]
# A list of host:port addresses, written comma-separated in the environment.
AddressList = NameList
