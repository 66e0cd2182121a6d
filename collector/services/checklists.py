"""Checklist templates: versioned YAML (XLSForm-like) with sections and typed items.

An item may name an automatic source: check ids aggregated over the site's devices. The shipped
templates live in ``collector/data/checklists``; a template is identified by (key, version) and an
inspection keeps the version it was started with, so editing a template never rewrites history.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from checks.model import Localized as _Pair
from checks.model import Severity
from collector.i18n import localized


def _from_msgid(value: object) -> object:
    # The YAML holds the English (a msgid); Vietnamese comes from the catalog (locales/vi/checklists.po).
    # Published documents keep both languages, as they always have: {vi, en}.
    return localized(value) if isinstance(value, str) else value


Localized = Annotated[_Pair, BeforeValidator(_from_msgid)]


class ItemType(StrEnum):
    PASS_FAIL = "pass_fail"
    NUMBER = "number"
    TEXT = "text"
    CHOICE = "choice"
    PHOTO = "photo"
    SIGNATURE = "signature"


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str
    label: Localized


class AutoSource(BaseModel):
    """Pass when every result of these checks on the site's devices passes; fail when one fails."""

    model_config = ConfigDict(extra="forbid")
    checks: list[str] = Field(min_length=1)
    devices: Literal["host", "network_device", "any"] = "host"


class ChecklistItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: Localized
    type: ItemType
    required: bool = True
    weight: float = Field(default=1, ge=0)
    severity: Severity = Severity.MEDIUM
    # A failed answer needs a photo or a note before sign-off.
    evidence_on_fail: bool = False
    choices: list[Choice] = Field(default_factory=list)
    auto: AutoSource | None = None

    @model_validator(mode="after")
    def _coherent(self) -> ChecklistItem:
        if self.type == ItemType.CHOICE and not self.choices:
            raise ValueError(f"item {self.id}: a choice item needs choices")
        if self.auto is not None and self.type != ItemType.PASS_FAIL:
            raise ValueError(f"item {self.id}: only pass_fail items can be answered automatically")
        return self

    @property
    def scored(self) -> bool:
        return self.type == ItemType.PASS_FAIL and self.weight > 0


class ChecklistSection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: Localized
    items: list[ChecklistItem] = Field(min_length=1)


class ChecklistTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(pattern=r"^[a-z0-9-]+$")
    version: int = Field(ge=1)
    title: Localized
    pass_threshold: float = Field(default=70, ge=0, le=100)
    sections: list[ChecklistSection] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> ChecklistTemplate:
        ids = [i.id for s in self.sections for i in s.items]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate item ids: {', '.join(dupes)}")
        return self

    def items(self) -> list[tuple[ChecklistSection, ChecklistItem]]:
        return [(s, i) for s in self.sections for i in s.items]

    def item(self, item_id: str) -> ChecklistItem | None:
        return next((i for _, i in self.items() if i.id == item_id), None)


class ChecklistError(ValueError):
    pass


class UnknownTemplate(ChecklistError):
    """No shipped template has this key (or version): the thing asked for does not exist."""

    status_code = 404


def parse_template(text: str, *, source: str = "template") -> ChecklistTemplate:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ChecklistError(f"{source}: not valid YAML: {exc}") from None
    try:
        return ChecklistTemplate.model_validate(data)
    except ValueError as exc:
        raise ChecklistError(f"{source}: {exc}") from None


@cache
def shipped_templates() -> dict[tuple[str, int], ChecklistTemplate]:
    folder = resources.files("collector") / "data" / "checklists"
    out: dict[tuple[str, int], ChecklistTemplate] = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith((".yaml", ".yml")):
            t = parse_template(entry.read_text(encoding="utf-8"), source=entry.name)
            out[(t.key, t.version)] = t
    return out


def get_template(key: str, version: int | None = None) -> ChecklistTemplate:
    versions = {v: t for (k, v), t in shipped_templates().items() if k == key}
    if not versions:
        raise UnknownTemplate(f"no checklist template {key!r}")
    if version is None:
        return versions[max(versions)]
    if version not in versions:
        raise UnknownTemplate(f"checklist template {key!r} has no version {version}")
    return versions[version]
