"""What the features above the engine plug into it, from their ``AppConfig.ready()``.

* **Template names**: ``register_context(name, provider)``. ``provider(execution)`` answers the
  value templates see under ``name`` (``record`` for an execution started on a record). It is
  called only for tasks whose config mentions the name, and always for a deployment's Python
  task types (they get the whole context).
* **Start options**: ``register_start_option(name, handler)``. ``start_execution(options={name:
  value})`` calls ``handler(execution, value, caller)`` inside the transaction that creates the
  execution (a flow run to mirror it into, say); the handler raises ``ValidationError`` to refuse.
* **Sweeper passes**: ``register_sweep_pass(name, function)``. The periodic sweeper calls
  ``function(now)`` on every pass; it answers how many rows it handled (overdue approvals, say).
* **Purge passes**: ``register_purge_pass(name, function)``. The retention purge calls
  ``function(retention)`` (an ``executions.retention.Retention``: the tenants' cutoffs, batch
  size, time budget, archive, dry run) after it has removed executions; it answers how many rows
  it removed, or would remove on a dry run (Port flow runs, say).
* **Archive sections**: ``register_archive_section(name, reader)``. ``reader(execution_ids)``
  answers ``{execution_id: [rows]}``: what the feature keeps about executions the purge is about
  to remove, written beside them in the archive under ``name`` (their approvals, say).
* **Links on the operators' execution page**: ``register_page_links(name, reader)``.
  ``reader(execution)`` answers ``[PageLink]``: what the feature holds of that execution, each
  with its page and its admin row, listed under ``name`` (its approvals, say); one query at most.

The engine calls these without knowing the apps behind them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ContextProvider = Callable[[Any], Any]
StartOptionHandler = Callable[[Any, Any, Any], None]
SweepPass = Callable[[Any], int]
PurgePass = Callable[[Any], int]
ArchiveSection = Callable[[list], dict]


@dataclass(frozen=True)
class PageLink:
    """One thing a feature holds of an execution, as the operators' page lists it."""

    title: str
    status: str
    url: str  # its own page
    admin_url: str  # its row in the admin


PageLinks = Callable[[Any], list[PageLink]]

_context: dict[str, ContextProvider] = {}
_start_options: dict[str, StartOptionHandler] = {}
_sweep_passes: dict[str, SweepPass] = {}
_purge_passes: dict[str, PurgePass] = {}
_archive_sections: dict[str, ArchiveSection] = {}
_page_links: dict[str, PageLinks] = {}


def register_context(name: str, provider: ContextProvider) -> None:
    _context[name] = provider


def register_start_option(name: str, handler: StartOptionHandler) -> None:
    _start_options[name] = handler


def register_sweep_pass(name: str, function: SweepPass) -> None:
    _sweep_passes[name] = function


def register_purge_pass(name: str, function: PurgePass) -> None:
    _purge_passes[name] = function


def register_archive_section(name: str, reader: ArchiveSection) -> None:
    _archive_sections[name] = reader


def context_providers() -> dict[str, ContextProvider]:
    return _context


def start_option_handler(name: str) -> StartOptionHandler | None:
    return _start_options.get(name)


def sweep_passes() -> dict[str, SweepPass]:
    return _sweep_passes


def purge_passes() -> dict[str, PurgePass]:
    return _purge_passes


def archive_sections() -> dict[str, ArchiveSection]:
    return _archive_sections


def register_page_links(name: str, reader: PageLinks) -> None:
    _page_links[name] = reader


def page_links() -> dict[str, PageLinks]:
    return _page_links
