"""The shape of an agent capability (certificates, LAN scan, network devices, ...).

A capability is declared once, in its own package (``agent/<name>/capability.py``), and listed in
``agent.capabilities.CAPABILITIES``; everything else is derived from that declaration: its table in
``agent.toml`` (a field of ``AgentSettings``), its schedule in ``wardwatch agent run``, what the
worker child runs when it is due, and its ``wardwatch agent <command>``.

Declarations are light (standard library, typer, typing): ``wardwatch agent run`` reads the
registry and must stay small, so the config model and the entry points import their heavy code
inside the function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from agent.protocol import CapabilitySchedule

if TYPE_CHECKING:
    from pydantic import BaseModel

    from agent.config import AgentSettings
    from inventory.facts import Facts
    from inventory.report import Report

ConfigT = TypeVar("ConfigT", bound="BaseModel")


@dataclass(frozen=True)
class Capability(Generic[ConfigT]):
    name: str  # module name: schedule key, ``worker collect --modules`` item, a report's ``modules``
    section: str  # its table in agent.toml, and the AgentSettings field
    config: Callable[[], type[ConfigT]]  # the table's model (a function: pydantic loads only when asked)
    interval: Callable[[AgentSettings], float]  # seconds between scheduled runs
    enabled: Callable[[AgentSettings], bool]  # whether it runs on its schedule
    command_name: str  # ``wardwatch agent <command_name>``
    command: Callable[..., Any]  # the typer command (its signature declares the options)
    # Worker entry points: exactly one. ``host_facts(settings, facts, run_now, problems)`` fills its
    # section of the host report and says whether it did (``run_now``: its schedule is due, do the
    # work; else only what is already known, or nothing); a failure that still leaves a section is
    # told in ``problems``, one that leaves none raises. ``reports(settings)``: reports of their own.
    host_facts: Callable[[AgentSettings, Facts, bool, list[str]], bool] | None = None
    reports: Callable[[AgentSettings], list[Report]] | None = None
    # Old names still accepted after a rename (docs show only the new ones): tables of agent.toml
    # (and their WARDWATCH_AGENT_<OLD>__* variables), read into ``section``, the new name winning key
    # by key; and hidden ``wardwatch agent <alias>`` commands.
    section_aliases: tuple[str, ...] = ()
    command_aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.host_facts is None) == (self.reports is None):
            raise TypeError(f"capability {self.name}: give exactly one of host_facts or reports")

    @property
    def in_host_report(self) -> bool:
        return self.host_facts is not None

    def config_of(self, settings: AgentSettings) -> ConfigT:
        """This capability's table of ``settings``."""
        value = getattr(settings, self.section)
        model = self.config()
        if not isinstance(value, model):
            raise TypeError(f"settings.{self.section} is {type(value).__name__}, not {model.__name__}")
        return value

    def schedule(self, settings: AgentSettings) -> CapabilitySchedule:
        return CapabilitySchedule(
            name=self.name,
            interval=float(self.interval(settings)),
            enabled=bool(self.enabled(settings)),
            in_host_report=self.in_host_report,
        )
