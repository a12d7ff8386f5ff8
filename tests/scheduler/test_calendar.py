"""Rule evaluation for every rule kind, lunar dates and solar terms across years, year boundaries, overrides and
staff dates."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from content.keydates import load_key_dates
from core.errors import UserError
from pufa.app import Database
from scheduler.calendar import add_custom_date, custom_rows, occurrences_in, set_override
from tests.conftest import TZ

REGISTRY = load_key_dates()
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=TZ)


def by_key(year: int, rows=(), pufa_month: int = 11):  # type: ignore[no-untyped-def]
    found = {}
    for occ in occurrences_in(REGISTRY, list(rows), year, pufa_month=pufa_month):
        found.setdefault(occ.key, []).append(occ)
    return found


def span(occ) -> tuple[date, date]:  # type: ignore[no-untyped-def]
    return occ.start, occ.end


def test_every_rule_kind_for_2026() -> None:
    occ = {k: v[-1] for k, v in by_key(2026).items()}
    assert span(occ["constitution-day"]) == (date(2026, 12, 4), date(2026, 12, 4))
    assert span(occ["constitution-week"]) == (date(2026, 12, 1), date(2026, 12, 7))
    assert span(occ["civil-code-month"]) == (date(2026, 5, 1), date(2026, 5, 31))
    assert span(occ["illegal-fundraising-month"]) == (date(2026, 6, 1), date(2026, 6, 30))
    assert span(occ["pufa-month"]) == (date(2026, 11, 1), date(2026, 11, 30))
    assert span(occ["cybersecurity-week"]) == (date(2026, 9, 21), date(2026, 9, 27))  # third Monday's week
    assert occ["defense-education-day"].start == date(2026, 9, 19)  # third Saturday of September
    assert occ["school-safety-day"].start == date(2026, 3, 30)  # last Monday of March
    assert occ["disability-day"].start == date(2026, 5, 17)  # third Sunday of May
    assert occ["seniors-day"].start == date(2026, 10, 18)  # lunar 9/9
    assert occ["harvest-festival"].start == date(2026, 9, 23)  # 秋分
    for key, occs in by_key(2026).items():
        assert occs[0].laws and occs[0].tags, key


def test_the_configured_pufa_month() -> None:
    assert span(by_key(2026, pufa_month=3)["pufa-month"][0]) == (date(2026, 3, 1), date(2026, 3, 31))


@pytest.mark.parametrize(
    ("year", "chongyang", "spring_festival", "qiufen"),
    [
        (2024, date(2024, 10, 11), date(2024, 2, 10), date(2024, 9, 22)),
        (2025, date(2025, 10, 29), date(2025, 1, 29), date(2025, 9, 23)),
        (2026, date(2026, 10, 18), date(2026, 2, 17), date(2026, 9, 23)),
        (2027, date(2027, 10, 8), date(2027, 2, 6), date(2027, 9, 23)),
        (2028, date(2028, 10, 26), date(2028, 1, 26), date(2028, 9, 22)),
    ],
)
def test_lunar_dates_and_solar_terms_for_several_years(
    year: int, chongyang: date, spring_festival: date, qiufen: date
) -> None:
    found = by_key(year)
    assert found["seniors-day"][0].start == chongyang
    assert found["harvest-festival"][0].start == qiufen
    wage = next(o for o in found["wage-arrears-campaign"] if o.year == year)
    assert wage.end == date.fromordinal(spring_festival.toordinal() - 1)  # the weeks before 春节
    assert wage.days == 28


def test_year_boundary_an_occurrence_of_next_year_that_starts_in_december() -> None:
    """春节 2028 is on 26 January: its 根治欠薪 campaign starts on 29 December 2027 and is listed in both years."""
    in_2027 = [o for o in by_key(2027)["wage-arrears-campaign"]]
    assert [(o.year, o.start) for o in in_2027] == [(2027, date(2027, 1, 9)), (2028, date(2027, 12, 29))]
    in_2028 = by_key(2028)["wage-arrears-campaign"]
    assert (in_2028[0].year, in_2028[0].start, in_2028[0].end) == (2028, date(2027, 12, 29), date(2028, 1, 25))


def test_per_year_override_moves_only_that_year(db: Database) -> None:
    with db.sessions.begin() as session:
        set_override(session, REGISTRY, "constitution-week", 2027, "12-02", "12-08", NOW)
        rows = custom_rows(session)
    moved = by_key(2027, rows)["constitution-week"][0]
    assert span(moved) == (date(2027, 12, 2), date(2027, 12, 8)) and moved.overridden
    assert span(by_key(2028, rows)["constitution-week"][0]) == (date(2028, 12, 1), date(2028, 12, 7))
    with db.sessions.begin() as session:  # overriding again replaces, never duplicates
        set_override(session, REGISTRY, "constitution-week", 2027, "2027-12-03", "2027-12-09", NOW)
        assert len(custom_rows(session)) == 1
    with pytest.raises(UserError), db.sessions.begin() as session:
        set_override(session, REGISTRY, "no-such-date", 2027, "12-02", "12-08", NOW)


def test_staff_dates_recurring_and_one_off(db: Database) -> None:
    with db.sessions.begin() as session:
        add_custom_date(session, REGISTRY, key="village-fair", name="村规民约宣传日", start="08-18", laws=["村民委员会组织法"],
                        tags=["宪法法治"], now=NOW)
        add_custom_date(session, REGISTRY, key="flood-talk", name="防汛普法", start="2027-07-01", end="2027-07-03",
                        laws=[], tags=[], now=NOW)
        with pytest.raises(UserError):
            add_custom_date(session, REGISTRY, key="constitution-day", name="x", start="12-04", laws=[], tags=[], now=NOW)
        rows = custom_rows(session)
    assert by_key(2026, rows)["village-fair"][0].start == date(2026, 8, 18)
    assert by_key(2030, rows)["village-fair"][0].custom
    assert span(by_key(2027, rows)["flood-talk"][0]) == (date(2027, 7, 1), date(2027, 7, 3))
    assert "flood-talk" not in by_key(2026, rows)
