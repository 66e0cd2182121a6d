"""The runner: one broken evaluator gives `error` while the rest run; missing facts give not_applicable."""

from __future__ import annotations

from datetime import UTC, datetime

from checks.catalog import load_catalog
from checks.model import CheckDefinition, Localized, NoParams, Severity, Verdict, evaluator
from checks.runner import run_checks
from inventory.facts import Facts
from inventory.report import CheckStatus

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


@evaluator("test.explodes", params=NoParams)
def _explodes(facts: Facts, params: NoParams) -> Verdict:
    raise ZeroDivisionError("the evaluator divided by zero")


def _check(cid: str, ev: str, **kw: object) -> CheckDefinition:
    t = Localized(vi="kiểm tra", en="check")
    return CheckDefinition(
        id=cid,
        title=t,
        severity=Severity.LOW,
        applies_to=["host"],
        rationale=t,
        remediation=t,
        references=["x"],
        evaluator=ev,
        **kw,  # type: ignore[arg-type]
    )


def test_an_evaluator_that_raises_gives_error_and_the_others_still_run() -> None:
    catalog = dict(load_catalog())
    catalog["zz.broken"] = _check("zz.broken", "test.explodes")
    facts = Facts.model_validate({"security": {"firewall": {"product": "ufw", "enabled": True}}})
    results = {r.check_id: r for r in run_checks(facts, catalog=catalog, now=NOW)}
    assert results["zz.broken"].status == CheckStatus.ERROR
    assert "ZeroDivisionError: the evaluator divided by zero" in results["zz.broken"].evidence
    assert results["host.firewall.enabled"].status == CheckStatus.PASS
    assert len(results) == sum(1 for c in catalog.values() if "host" in c.applies_to)


def test_empty_facts_give_not_applicable_never_a_failure() -> None:
    results = run_checks(Facts(), modules=["checks"], now=NOW)
    assert len(results) >= 30
    assert {r.status for r in results} == {CheckStatus.NOT_APPLICABLE}, [
        (r.check_id, r.status, r.evidence) for r in results if r.status != CheckStatus.NOT_APPLICABLE
    ]


def test_platform_limited_checks_are_not_applicable_elsewhere() -> None:
    facts = Facts.model_validate({"os": {"family": "linux", "name": "Ubuntu", "version": "24.04"}})
    results = {r.check_id: r for r in run_checks(facts, now=NOW)}
    assert results["host.remote.rdp_nla"].status == CheckStatus.NOT_APPLICABLE
    assert results["host.remote.rdp_nla"].evidence == "not a check for linux"
    assert results["host.os.supported"].status == CheckStatus.PASS


def test_unknown_evaluator_is_an_error_result() -> None:
    catalog = {"zz.nope": _check("zz.nope", "test.no_such_evaluator")}
    (res,) = run_checks(Facts(), catalog=catalog, now=NOW)
    assert res.status == CheckStatus.ERROR and "unknown evaluator" in res.evidence


def test_result_severity_override_travels_in_observed() -> None:
    @evaluator("test.urgent", params=NoParams)
    def _urgent(facts: Facts, params: NoParams) -> Verdict:
        return Verdict(CheckStatus.FAIL, "expires in 3 days", {}, target="cert-1", severity=Severity.CRITICAL)

    (res,) = run_checks(Facts(), catalog={"zz.urgent": _check("zz.urgent", "test.urgent")}, now=NOW)
    assert res.observed["severity"] == "critical" and res.target == "cert-1"
