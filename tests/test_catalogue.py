"""The catalogue and the suite agree: every claim has a test, every test names a real claim."""

from __future__ import annotations

from pathlib import Path

import pytest

from blitz import claims
from blitz.plugin import claim_ids

TESTS = Path(__file__).parent


class _CollectClaims:
    """A plugin for a nested collect-only run: which claim ids each collected test names."""

    def __init__(self) -> None:
        self.ids: dict[str, list[str]] = {}

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.ids = {item.nodeid: claim_ids(item) for item in items}


@pytest.fixture(scope="module")
def collected() -> dict[str, list[str]]:
    """Claim ids per test of the whole suite, however narrow the current run's selection."""
    collector = _CollectClaims()
    args = ["--collect-only", "-qq", "-p", "no:cacheprovider", "--run-slow", str(TESTS)]
    code = pytest.main(args, plugins=[collector])
    assert code == pytest.ExitCode.OK, f"collecting {TESTS} failed with exit code {code}"
    return collector.ids


def test_every_test_names_a_catalogue_claim(collected):
    unknown = {
        nodeid: [i for i in ids if i not in claims.CLAIMS]
        for nodeid, ids in collected.items()
        if any(i not in claims.CLAIMS for i in ids)
    }
    assert unknown == {}


def test_every_tested_claim_has_a_test(collected):
    named = {claim_id for ids in collected.values() for claim_id in ids}
    missing = [c.id for c in claims.tested() if c.id not in named]
    assert missing == []


def test_benchmark_claims_have_no_test(collected):
    """C11 and its kind are judged by the benchmark report, never by a timed test."""
    named = {claim_id for ids in collected.values() for claim_id in ids}
    timed = [c.id for c in claims.CLAIMS.values() if c.kind == "benchmark" and c.id in named]
    assert timed == []


def test_catalogue_ids_are_unique_and_ordered_by_section():
    ids = list(claims.CLAIMS)
    assert len(ids) == len(set(ids))
    for claim in claims.CLAIMS.values():
        assert claim.id[0] == claim.section[0].upper()
        assert claim.section in claims.SECTIONS
        assert claim.kind in ("plain", "golden", "drift", "benchmark")
        assert claim.statement


def test_unknown_claim_id_is_a_clear_key_error():
    with pytest.raises(KeyError, match="unknown claim id 'Z01'"):
        claims.get("Z01")


def test_every_claim_says_which_revision_of_the_tutorial_states_it():
    for claim in claims.CLAIMS.values():
        assert claim.revision in claims.REVISIONS, claim.id
    assert claims.REVISIONS == ("snapshot", "2026", "both")


def test_the_2026_revisions_claims_are_marked_so():
    """The claims of the May 2026 revision alone, and N12, which both state in their own form."""
    only_2026 = [c.id for c in claims.CLAIMS.values() if c.revision == "2026"]
    assert only_2026 == ["T18", "N14", "C13", "C14"]
    assert claims.get("N12").revision == "both"
    assert claims.get("C14").accelerator and claims.get("C13").cpu_only
