"""The wire contract between agent and collector.

Plain pydantic v2 models; nothing here imports agent or collector code. The version numbers live in
``inventory.wire`` (standard library only, so the agent's supervisor can use them too).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import typing
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from inventory.facts import SECTION_NAMES, Facts
from inventory.wire import SCHEMA_VERSION as SCHEMA_VERSION
from inventory.wire import SUPPORTED_SCHEMA_VERSIONS as SUPPORTED_SCHEMA_VERSIONS


class CheckStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    NOT_APPLICABLE = "not_applicable"
    SKIPPED = "skipped"
    # The check applies but could not see (no privilege, unreadable state): never a pass, and counted
    # as not passed in the compliance score. Additive: added without a schema version bump.
    UNKNOWN = "unknown"


# A parameter of an evidence message: data (a hostname, a count, a product name), never prose.
MessageParam = str | int | float | bool | list[str] | None


class EvidenceMessage(BaseModel):
    """Evidence as data: ``id`` is an English msgid with ``%(name)s`` placeholders, ``params`` fill them.

    The collector renders it in the reader's language when shown. Additive (no schema version bump):
    an agent without it sends only ``evidence``, which the collector maps back when it can.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=500)
    params: dict[str, MessageParam] = Field(default_factory=dict)

    def english(self) -> str:
        """The msgid with its parameters: the plain ``evidence`` text sent beside the message."""
        params = {k: ", ".join(v) if isinstance(v, list) else v for k, v in self.params.items()}
        try:
            return self.id % params if params else self.id
        except (KeyError, ValueError, TypeError):
            return self.id


class CheckResult(BaseModel):
    """One check's verdict. ``evidence`` is short, human readable and never holds a secret.

    ``message`` (optional, additive) is the same evidence as a message id and parameters.
    """

    model_config = ConfigDict(extra="forbid")

    check_id: str = Field(min_length=1, max_length=200)
    status: CheckStatus
    evidence: str = Field(default="", max_length=4000)
    observed: dict[str, Any] = Field(default_factory=dict)
    # Which thing the verdict is about when a check runs per item (a certificate, a LAN host);
    # empty for a check about the whole subject.
    target: str = Field(default="", max_length=500)
    message: EvidenceMessage | None = None


class ResultKey(BaseModel):
    """Which stored result a delta says is gone: its check and target."""

    model_config = ConfigDict(extra="forbid")

    check_id: str = Field(min_length=1, max_length=200)
    target: str = Field(default="", max_length=500)


class HostIdentity(BaseModel):
    """How the collector recognises a host across reports (docs/architecture.md, "Identity and tenancy").

    ``machine_id`` alone is not enough: cloned disk images share it. The collector compares the
    serial and the first physical MAC too and keeps two devices when they differ.
    """

    machine_id: str | None = None
    serial: str | None = None
    mac: str | None = None  # first physical MAC, lower case, colon separated

    @field_validator("mac")
    @classmethod
    def _normal_mac(cls, v: str | None) -> str | None:
        return v.lower().replace("-", ":") if v else v


class NetworkDeviceIdentity(BaseModel):
    name: str
    host: str
    platform: str
    serial: str | None = None


class Subject(BaseModel):
    kind: Literal["host", "network_device"] = "host"
    hostname: str = Field(min_length=1, max_length=255)
    host: HostIdentity | None = None
    device: NetworkDeviceIdentity | None = None
    site: str | None = None  # a network device names its site; a host belongs to its agent's site


class ReportKind(StrEnum):
    FULL = "full"
    DELTA = "delta"  # unchanged sections travel as their hash in ``partial``
    HEARTBEAT = "heartbeat"  # no facts, no results: proof of life


class QuarantinedReport(BaseModel):
    """One report the agent set aside (the collector refused it for good, or it was damaged on disk)."""

    model_config = ConfigDict(extra="forbid")

    report_id: str | None = Field(default=None, max_length=36)
    kind: str | None = Field(default=None, max_length=16)
    subject: str | None = Field(default=None, max_length=300)  # "host", or "device:<name>"
    reason: str = Field(min_length=1, max_length=500)
    quarantined_at: AwareDatetime


class Quarantine(BaseModel):
    """What a heartbeat says about the agent's quarantine: how many reports it holds, the newest ones.

    Sent while there are any, and once with ``count`` 0 after the last one is gone.
    """

    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=0, le=1_000_000)
    recent: list[QuarantinedReport] = Field(default_factory=list, max_length=10)


class Report(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    report_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    agent_id: str
    agent_version: str | None = None
    collected_at: AwareDatetime
    kind: ReportKind = ReportKind.FULL
    subject: Subject
    facts: Facts = Field(default_factory=Facts)
    results: list[CheckResult] = Field(default_factory=list)
    # Sections omitted because unchanged since ``base_report_id``: section name -> hash.
    partial: dict[str, Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]] = Field(default_factory=dict)
    base_report_id: uuid.UUID | None = None
    # Which result ids the report covers; a delta omits results of unchanged modules.
    modules: list[str] = Field(default_factory=list)
    # A delta with ``results_hash`` carries only the results that changed since its base (additive:
    # without it a report carries every result of its modules, as older agents send). The hash is
    # ``results_set_hash`` of the agent's complete results for ``modules`` after this report; the
    # collector recomputes it over what it holds and answers 409 needs_full when they differ.
    results_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    # ... and the results of those modules the agent no longer has (a removed certificate).
    results_gone: list[ResultKey] = Field(default_factory=list, max_length=10_000)
    # Heartbeats: the reports this agent quarantined (absent: nothing to say, or an older agent).
    quarantine: Quarantine | None = None

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, v: int) -> int:
        if v not in SUPPORTED_SCHEMA_VERSIONS:
            supported = ", ".join(str(x) for x in sorted(SUPPORTED_SCHEMA_VERSIONS))
            raise ValueError(f"unsupported schema_version {v}; this collector accepts {supported}")
        return v

    @field_validator("partial")
    @classmethod
    def _known_sections(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - set(SECTION_NAMES))
        if unknown:
            raise ValueError(f"unknown section(s) in partial: {', '.join(unknown)}")
        return v

    def changed_results_only(self) -> bool:
        """Whether this report carries only the results that changed since its base: the receiver
        keeps the stored results of its modules it does not name, except those in ``results_gone``."""
        return self.kind == ReportKind.DELTA and self.results_hash is not None

    def present_sections(self) -> dict[str, Any]:
        """Sections carried in full in this report, as JSON-ready data."""
        data = self.facts.model_dump(mode="json", exclude_none=True)
        return {name: data[name] for name in SECTION_NAMES if name in data}


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON: the same facts always hash the same on agent and collector."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def section_hash(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


ResultTuple = tuple[str, str, str, str, Any]  # check_id, target, status, evidence, observed


def result_tuple(result: CheckResult) -> ResultTuple:
    return (result.check_id, result.target, result.status.value, result.evidence, result.observed)


def result_digest(row: ResultTuple) -> str:
    """One result's hash (what the agent compares with its base to know whether it changed)."""
    return section_hash(list(row))


def results_set_hash(rows: Iterable[ResultTuple]) -> str:
    """The hash of a complete result set: per (check_id, target) the first row wins, sorted by key.

    The agent computes it over its results, the collector over the rows it holds (status, evidence
    and observed as stored: JSON text, so the same values come back).
    """
    unique: dict[tuple[str, str], ResultTuple] = {}
    for row in rows:
        unique.setdefault((row[0], row[1]), row)
    return section_hash([list(unique[k]) for k in sorted(unique)])


def utcnow() -> datetime:
    return datetime.now(UTC)


# ---- what a report may carry, whatever the model allows ------------------------------------------
#
# Rules that hold identically wherever a report is stored (SQLite and PostgreSQL JSON and text columns)
# and shown (pages, API, exports). ``parse_report`` applies them to the bytes received; an agent may
# apply them before sending. Each problem names its JSON path.

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Containers (objects, arrays) from the report's root down; the deepest model path is about 8.
MAX_DEPTH = 16
# Within a free-form mapping (a result's ``observed``) from the mapping itself down.
MAX_FREEFORM_DEPTH = 6
FREEFORM_KEYS = frozenset({"observed"})
# collected_at: not before 2000 (a PC whose clock was reset), not more than a day ahead of the
# receiver's clock. Other times in facts record events on the host: not before the Unix epoch (earlier
# values are "never" sentinels) nor ahead either. Certificate validity and a document's claimed signing
# time are claims, not observations: any date the model accepts (X.509 allows 9999-12-31).
COLLECTED_AT_MIN = datetime(2000, 1, 1, tzinfo=UTC)
EVENT_TIME_MIN = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
CLAIMED_TIME_FIELDS = frozenset({"not_before", "not_after", "signer_not_after", "signing_time"})
MAX_PROBLEMS = 20
# Longer digit strings are never an int64; refusing them before int() also avoids Python's
# 4,300-digit conversion limit (a ValueError deep in the JSON parser).
_MAX_INT_DIGITS = 20
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class WireProblem:
    loc: Loc
    msg: str
    type: str

    def as_dict(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


class WireError(ValueError):
    """The bytes are not a report this contract accepts; ``problems`` say what and where.

    ``malformed``: not JSON at all (an HTTP receiver answers 400); otherwise the JSON is well formed but
    refused (422).
    """

    def __init__(self, problems: list[WireProblem], *, malformed: bool = False) -> None:
        self.problems = problems
        self.malformed = malformed
        super().__init__("; ".join(f"{_path(p.loc)}: {p.msg}" for p in problems))


@dataclass(frozen=True)
class _BigInt:
    digits: str


def _path(loc: Loc) -> str:
    return ".".join(str(x) for x in loc) or "(report)"


def load_json(body: bytes) -> Any:
    """The JSON value of ``body``; integers too long for int64 and overly deep nesting are refused."""
    if not body:
        raise WireError([WireProblem((), "empty body: expected a JSON report", "empty")], malformed=True)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = WireProblem((), f"body is not UTF-8 text (byte {exc.start})", "utf8")
        raise WireError([problem], malformed=True) from None
    try:
        return json.loads(text, parse_int=lambda s: int(s) if len(s) <= _MAX_INT_DIGITS else _BigInt(s))
    except json.JSONDecodeError as exc:
        msg = f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        raise WireError([WireProblem((), msg, "json_invalid")], malformed=True) from None
    except RecursionError:
        msg = f"nesting deeper than {MAX_DEPTH} levels"
        raise WireError([WireProblem((), msg, "too_deep")]) from None


def wire_problems(
    data: Any, *, max_string: int | None = None, long_strings: tuple[Loc, ...] = ()
) -> list[WireProblem]:
    """What in ``data`` (parsed JSON) cannot be stored or shown: NUL and lone surrogates in strings,
    NaN and infinities, integers outside int64, nesting deeper than ``MAX_DEPTH`` (or
    ``MAX_FREEFORM_DEPTH`` inside ``observed``), strings longer than ``max_string`` characters except
    under the ``long_strings`` paths (an int in a path pattern matches any index or key there: use -1).
    At most ``MAX_PROBLEMS`` are reported. The walk is iterative: depth costs no Python stack."""
    if isinstance(data, dict) and _plain(data, 0, 0, max_string if max_string is not None else math.inf):
        return []  # nothing to report: the walk below (paths, messages) is for the reports that have some
    problems: list[WireProblem] = []

    def add(loc: Loc, msg: str, kind: str) -> bool:
        problems.append(WireProblem(loc, msg, kind))
        return len(problems) >= MAX_PROBLEMS

    # (value, path, containers above it, 0 outside a free-form mapping else 1 + free-form containers above)
    stack: list[tuple[Any, Loc, int, int]] = [(data, (), 0, 0)]
    while stack:
        value, loc, depth, free = stack.pop()
        if isinstance(value, str):
            if _string_problem(value, loc, max_string, long_strings, add):
                break
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if not INT64_MIN <= value <= INT64_MAX and add(loc, "integer outside the 64-bit range", "int64"):
                break
        elif isinstance(value, float):
            if not math.isfinite(value) and add(loc, "NaN and infinity are not JSON numbers", "finite"):
                break
        elif isinstance(value, _BigInt):
            msg = f"integer of {len(value.digits.lstrip('-'))} digits is outside the 64-bit range"
            if add(loc, msg, "int64"):
                break
        elif isinstance(value, dict | list):
            depth += 1
            free = free + 1 if free else 0
            if depth > MAX_DEPTH:
                if add(loc, f"nesting deeper than {MAX_DEPTH} levels", "too_deep"):
                    break
                continue
            if free - 1 > MAX_FREEFORM_DEPTH:
                if add(loc, f"free-form data nested deeper than {MAX_FREEFORM_DEPTH} levels", "too_deep"):
                    break
                continue
            for key, item in _children(value):
                if isinstance(key, str) and _string_problem(key, (*loc, key), None, (), add):
                    stack.clear()
                    break
                starts_free = free == 0 and key in FREEFORM_KEYS
                stack.append((item, (*loc, key), depth, 1 if starts_free else free))
    return problems


def _plain(value: dict[str, Any] | list[Any], above: int, free: int, limit: float) -> bool:
    """Whether the walk of ``wire_problems`` would find nothing in ``value`` (a container with
    ``above`` containers above it, ``free`` as the walk counts free-form depth): the same rules in one
    recursive pass without paths, stricter where that is simpler (any string longer than ``limit``,
    whatever its path; any value that is not plain JSON). Recursion is bounded by ``MAX_DEPTH``."""
    depth = above + 1
    free = free + 1 if free else 0
    if depth > MAX_DEPTH or free - 1 > MAX_FREEFORM_DEPTH:
        return False
    if type(value) is dict:
        items: Iterable[tuple[Any, Any]] = value.items()
    elif type(value) is list:
        items = ((None, v) for v in value)
    else:
        return False
    bad = _BAD_CHARS.search
    for key, item in items:
        if key is not None and (type(key) is not str or bad(key)):
            return False
        kind = type(item)
        if kind is str:
            if len(item) > limit or bad(item):
                return False
        elif kind is int:
            if not INT64_MIN <= item <= INT64_MAX:
                return False
        elif kind is float:
            if not math.isfinite(item):
                return False
        elif kind is dict or kind is list:
            if not _plain(item, depth, 1 if free == 0 and key in FREEFORM_KEYS else free, limit):
                return False
        elif kind is not bool and item is not None:
            return False  # an oversized integer (_BigInt) or anything else: the walk says what
    return True


def _children(value: dict[str, Any] | list[Any]) -> Iterator[tuple[str | int, Any]]:
    # Reversed so that the stack pops them in document order: the first problem is reported first.
    items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
    return reversed(items)


def _string_problem(
    text: str, loc: Loc, max_string: int | None, long_strings: tuple[Loc, ...], add: Any
) -> bool:
    bad = _BAD_CHARS.search(text)
    if bad is not None:
        what = "a NUL character" if bad.group() == "\x00" else "an unpaired surrogate (not Unicode text)"
        return bool(add(loc, f"{what} at character {bad.start()}", "string_chars"))
    if max_string is not None and len(text) > max_string and not _under(loc, long_strings):
        return bool(add(loc, f"string of {len(text)} characters; at most {max_string}", "string_too_long"))
    return False


def _under(loc: Loc, patterns: tuple[Loc, ...]) -> bool:
    return any(
        len(loc) >= len(p) and all(q == -1 or q == x for q, x in zip(p, loc, strict=False)) for p in patterns
    )


def time_problems(report: Report, *, now: datetime | None = None) -> list[WireProblem]:
    """Timestamps outside the window this contract accepts (see ``COLLECTED_AT_MIN``)."""
    now = now or utcnow()
    latest = now + FUTURE_SLACK
    problems: list[WireProblem] = []
    if not COLLECTED_AT_MIN <= report.collected_at <= latest:
        problems.append(
            WireProblem(
                ("collected_at",),
                f"{report.collected_at.isoformat()} is outside {COLLECTED_AT_MIN.date()} .. "
                f"{latest.isoformat(timespec='seconds')} (is the PC's clock right?)",
                "time_window",
            )
        )
    for loc, value in _datetimes(report.facts, ("facts",)):
        when = value if value.tzinfo else value.replace(tzinfo=UTC)
        if not EVENT_TIME_MIN <= when <= latest:
            problems.append(
                WireProblem(
                    loc,
                    f"{value.isoformat()} is outside {EVENT_TIME_MIN.date()} .. "
                    f"{latest.isoformat(timespec='seconds')}",
                    "time_window",
                )
            )
            if len(problems) >= MAX_PROBLEMS:
                break
    return problems


def _datetimes(value: Any, loc: Loc) -> Iterator[tuple[Loc, datetime]]:
    if isinstance(value, datetime):
        yield loc, value
    elif isinstance(value, BaseModel):
        for name in _time_fields(type(value)):
            yield from _datetimes(getattr(value, name), (*loc, name))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _datetimes(item, (*loc, i))


@functools.cache
def _time_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of ``model`` (in order) whose type can hold a checked time: a datetime, a model
    with such a field, or anything untyped. The others are not walked: 1,500 programs (no time in
    them) were most of a new PC's time check."""
    return tuple(
        name
        for name, info in model.model_fields.items()
        if name not in CLAIMED_TIME_FIELDS and _may_hold_time(info.annotation, frozenset({model}))
    )


def _may_hold_time(annotation: Any, seen: frozenset[type]) -> bool:
    if annotation is datetime or annotation is Any or annotation is object:
        return True
    if isinstance(annotation, type):
        if issubclass(annotation, datetime):
            return True
        if issubclass(annotation, BaseModel):
            # A model met again inside itself is walked (what it holds is being decided).
            return annotation in seen or any(
                name not in CLAIMED_TIME_FIELDS and _may_hold_time(info.annotation, seen | {annotation})
                for name, info in annotation.model_fields.items()
            )
        if annotation.__module__.startswith("pydantic"):
            return True  # AwareDatetime and its kind: a datetime once validated
        if not typing.get_args(annotation):
            return False  # str, int, date, an enum...: no time inside
    args = typing.get_args(annotation)
    if not args:
        # Not a type, not a generic (a TypeVar, a forward reference): walk it, as before.
        return not isinstance(annotation, str | int | float | bool | type(None))
    return any(_may_hold_time(a, seen) for a in args)


def parse_report(
    body: bytes,
    *,
    now: datetime | None = None,
    max_string: int | None = None,
    long_strings: tuple[Loc, ...] = (),
) -> Report:
    """A report from the bytes received, or ``WireError`` naming each problem and its JSON path.

    JSON, then the contract's rules (``wire_problems``), then the model, then the time window.
    """
    report, _skipped = parse_report_skipping(body, now=now, max_string=max_string, long_strings=long_strings)
    return report


def parse_report_skipping(
    body: bytes,
    *,
    known: Callable[[str, str], bool] | None = None,
    now: datetime | None = None,
    max_string: int | None = None,
    long_strings: tuple[Loc, ...] = (),
) -> tuple[Report, dict[str, str]]:
    """``parse_report``, leaving out the fact sections the receiver already holds.

    ``known(name, hash)`` says whether the receiver stores section ``name`` with that hash; such a
    section is dropped from the report before the contract's walk and the model's validation (it
    was checked when first stored, and the same bytes are the same facts). Returns the report and
    the sections left out (name -> hash). The hash is ``section_hash`` of the section as received
    with null members removed, which is what ``present_sections`` gives for the same facts; a
    section that differs only in form (an integer where a float is stored) is simply parsed.
    """
    from pydantic import ValidationError

    data = load_json(body)
    skipped: dict[str, str] = {}
    facts = data.get("facts") if isinstance(data, dict) and known is not None else None
    if isinstance(facts, dict):
        for name in SECTION_NAMES:
            value = facts.get(name)
            if value is None:
                continue
            try:
                digest = _received_section_hash(value)
            except (TypeError, ValueError):
                continue  # not plain JSON (an oversized integer): the walk below says what is wrong
            if known(name, digest):  # type: ignore[misc]
                skipped[name] = digest
        if skipped:
            data["facts"] = {k: v for k, v in facts.items() if k not in skipped}
    problems = wire_problems(data, max_string=max_string, long_strings=long_strings)
    if problems:
        raise WireError(problems)
    if not isinstance(data, dict):
        raise WireError([WireProblem((), "a report is a JSON object", "type")])
    version = data.get("schema_version", SCHEMA_VERSION)
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        supported = ", ".join(str(v) for v in sorted(SUPPORTED_SCHEMA_VERSIONS))
        msg = f"unsupported schema_version {version!r}; this collector accepts {supported}"
        raise WireError([WireProblem(("schema_version",), msg, "schema_version")])
    try:
        report = Report.model_validate(data)
    except ValidationError as exc:
        raise WireError(
            [WireProblem(tuple(e["loc"]), e["msg"], e["type"]) for e in exc.errors()[:MAX_PROBLEMS]]
        ) from None
    problems = time_problems(report, now=now)
    if problems:
        raise WireError(problems)
    return report, skipped


def _received_section_hash(value: Any) -> str:
    """``section_hash(_without_nulls(value))``, from one canonical dump of ``value``.

    The section as received holds nulls (pydantic writes every optional field; 1,500 programs
    carry two each), and walking it in Python to drop them, then dumping it again, was a third of a
    repeated report's CPU in the ingest process. The canonical JSON of ``value`` is dumped once and
    its null members are cut out of the text (``_drop_null_members``); a text that still holds
    ``":null`` after that (a key with an escaped character) is made the old way."""
    raw = canonical_json(value)
    if b'":null' in raw:
        raw = _drop_null_members(raw)
        if b'":null' in raw:
            raw = canonical_json(_without_nulls(value))
    return hashlib.sha256(raw).hexdigest()


# A member whose value is null, in canonical JSON. The key is taken only when it holds none of
# ``"\,:[]{}`` (any other key falls back to the walk). Outside a string, ``,"`` and ``{"`` start a key
# or a string: inside one, a ``"`` is always escaped (``\"``), so it never follows ``,`` or ``{``.
# A ``"`` closing a string is followed by one of ``,:]}``, which the key may not hold, so the match
# cannot start at a string's end: it is a key, a ``:``, and the literal null. Members after the first
# of an object go with the comma before them; then a first member with the comma after it (or none).
_KEY = rb'"[^"\\,:\[\]{}]*"'
_NULL_MEMBER_AFTER = re.compile(rb"," + _KEY + rb":null(?=[,}])")
_NULL_MEMBER_FIRST = re.compile(rb"\{" + _KEY + rb":null(?:,|(?=\}))")


def _drop_null_members(raw: bytes) -> bytes:
    """Canonical JSON ``raw`` without its objects' null members: the canonical JSON of
    ``_without_nulls`` of the same value (keys keep their order; arrays keep their nulls)."""
    return _NULL_MEMBER_FIRST.sub(b"{", _NULL_MEMBER_AFTER.sub(b"", raw))


def _without_nulls(value: Any) -> Any:
    """``value`` with null members of objects removed, at every depth (``exclude_none``'s form)."""
    # Scalars are taken as they are without a call: a section of 1,500 programs holds ~10,000 of
    # them, and this runs on every section to hash it, unchanged ones included (parsed JSON: plain
    # dicts and lists only, so the exact type is the test).
    if isinstance(value, dict):
        return {
            k: _without_nulls(v) if type(v) in _CONTAINERS else v for k, v in value.items() if v is not None
        }
    if isinstance(value, list):
        return [_without_nulls(v) if type(v) in _CONTAINERS else v for v in value]
    return value


_CONTAINERS = (dict, list)


def report_json_schema() -> dict[str, Any]:
    return Report.model_json_schema()
