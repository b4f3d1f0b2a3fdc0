"""CONTRACT.md §4 rule by rule, on the pure engine, with figures worked out by hand.

The rules used here are those of tests/conftest.py: quality 25 (Q1 15, Q2 10, bonus cap 3), safety 25
(S1 15, S2 10, cap 3), schedule 20 (P1, cap 2), environment 15 (E1, cap 2), management 15 (M1, cap 2);
tie_break safety, quality, schedule, environment, management.
"""
from dataclasses import replace
from decimal import Decimal as D  # noqa: N817 - figures read better short

from scoring.standings.engine import (
    CriterionRule,
    ItemRule,
    Row,
    Rules,
    Subject,
    Tally,
    flag_holder,
    movement,
    overrun,
    score,
    standings,
    year_board,
)

RULES = Rules(
    criteria=(
        CriterionRule("quality", D("3"), (ItemRule("Q1", D("15")), ItemRule("Q2", D("10")))),
        CriterionRule("safety", D("3"), (ItemRule("S1", D("15")), ItemRule("S2", D("10")))),
        CriterionRule("schedule", D("2"), (ItemRule("P1", D("20")),)),
        CriterionRule("environment", D("2"), (ItemRule("E1", D("15")),)),
        CriterionRule("management", D("2"), (ItemRule("M1", D("15")),)),
    ),
    tie_break=("safety", "quality", "schedule", "environment", "management"),
)
SUBJECTS = [Subject(code, code) for code in ("LJ-01", "LJ-02", "LJ-03", "LJ-04")]
FULL = {"quality": D("25"), "safety": D("25"), "schedule": D("20"), "environment": D("15"), "management": D("15")}


def tally(*entries) -> Tally:
    """entries: (criterion, item, kind, points)."""
    t = Tally()
    for criterion, item, kind, points in entries:
        t.add(criterion, item, kind, D(str(points)))
    return t


def by_code(rows):
    return {row.code: row for row in rows}


# -- one subject's score --------------------------------------------------------------------------

def test_no_deduction_is_full_marks():
    s = score(RULES, tally(("safety", "S1", "deduction", 0)))
    assert s.total == D("100") and s.criteria == FULL and s.deductions == 0 and s.bonus == 0


def test_exact_decimals_point_one_plus_point_two():
    s = score(RULES, tally(("safety", "S1", "deduction", "0.1"), ("safety", "S1", "deduction", "0.2")))
    assert s.criteria["safety"] == D("24.7")
    assert s.deductions == D("0.3")
    assert s.total == D("99.7")
    assert str(s.total) == "99.70"  # exact, not 99.69999…


def test_item_floored_at_zero_and_only_that_item():
    # S2 (max 10) loses 7 + 8 = 15 but stops at 0; S1 loses 2. Safety: 13 + 0 = 13.
    s = score(RULES, tally(("safety", "S2", "deduction", 7), ("safety", "S2", "deduction", 8),
                           ("safety", "S1", "deduction", 2)))
    assert s.criteria["safety"] == D("13")
    assert s.deductions == D("12")  # points actually lost: 10 + 2, not 17
    assert s.total == D("88")


def test_bonus_capped_per_criterion():
    # quality cap 3: 2 + 2.5 = 4.5 -> 3; environment cap 2: 1.25 stays.
    s = score(RULES, tally(("quality", None, "bonus", 2), ("quality", "Q1", "bonus", "2.5"),
                           ("environment", None, "bonus", "1.25")))
    assert s.criteria["quality"] == D("28")
    assert s.criteria["environment"] == D("16.25")
    assert s.bonus == D("4.25")
    assert s.total == D("104.25")


def test_bonus_does_not_refill_a_floored_item():
    # Q2 goes to 0 (−12 on max 10); the bonus 3 is added to the criterion, not to the item's deficit.
    s = score(RULES, tally(("quality", "Q2", "deduction", 12), ("quality", None, "bonus", 3)))
    assert s.criteria["quality"] == D("18")  # 15 + 0 + 3


def test_general_bonus_capped_on_top_of_the_five():
    # 上级表彰 1 + 2 = 3, general cap 2: the total gets 2 on top of the criteria, the row's bonus includes it.
    rules = replace(RULES, general_bonus_cap=D("2"))
    s = score(rules, tally((None, None, "bonus", 1), (None, None, "bonus", 2), ("quality", None, "bonus", 1),
                           ("safety", "S1", "deduction", 1)))
    assert s.criteria == {**FULL, "quality": D("26"), "safety": D("24")}
    assert s.general == D("2") and s.bonus == D("3") and s.total == D("102")
    # without a cap a general bonus counts nothing (the API refuses it then)
    assert score(RULES, tally((None, None, "bonus", 1))).total == D("100")
    (row,) = standings(rules, SUBJECTS[:1], {"LJ-01": tally((None, None, "bonus", "0.5"))})
    assert row.total == D("100.5") and row.bonus == D("0.5") and row.criteria == FULL and row.rank == 1


def test_overrun_measures_an_entry_against_what_is_left():
    assert not overrun("deduction", D("4"), D("6"), D("10"))  # exactly used up
    assert overrun("deduction", D("4"), D("6.01"), D("10"))
    assert overrun("deduction", D("12"), D("1"), D("10"))  # nothing left
    assert not overrun("deduction", D("12"), D("0"), D("10"))  # an inspection that found nothing
    assert overrun("bonus", D("1"), D("2"), D("2")) and not overrun("bonus", D("0"), D("2"), D("2"))


# -- one board ----------------------------------------------------------------------------------------

def test_subject_without_entries_is_not_assessed_and_unranked():
    rows = by_code(standings(RULES, SUBJECTS[:2], {"LJ-01": tally(("safety", "S1", "deduction", 1))}))
    assert rows["LJ-02"].assessed is False
    assert rows["LJ-02"].rank is None and rows["LJ-02"].total is None
    assert rows["LJ-01"].assessed is True and rows["LJ-01"].rank == 1


def test_a_deduction_of_zero_makes_a_subject_assessed():
    rows = by_code(standings(RULES, SUBJECTS[:1], {"LJ-01": tally(("safety", "S1", "deduction", 0))}))
    assert rows["LJ-01"].assessed is True
    assert rows["LJ-01"].rank == 1 and rows["LJ-01"].total == D("100")


def test_veto_shows_criteria_total_zero_no_rank_and_reason():
    tallies = {"LJ-01": tally(("quality", "Q1", "deduction", 1)), "LJ-02": tally(("safety", "S1", "deduction", 4))}
    rows = by_code(standings(RULES, SUBJECTS[:2], tallies, vetoes={"LJ-01": "重大质量事故"}))
    vetoed = rows["LJ-01"]
    assert vetoed.vetoed is True and vetoed.veto_reason == "重大质量事故"
    assert vetoed.total == 0 and vetoed.rank is None
    assert vetoed.criteria["quality"] == D("24")  # the criterion scores stay on show
    assert vetoed.deductions == D("1")
    assert rows["LJ-02"].rank == 1  # the other moves up to rank 1 despite fewer points


def test_tie_broken_by_the_tie_break_chain():
    # Both 97: LJ-01 loses 3 on quality, LJ-02 loses 3 on safety. Safety comes first in the chain.
    tallies = {"LJ-01": tally(("quality", "Q1", "deduction", 3)), "LJ-02": tally(("safety", "S1", "deduction", 3))}
    rows = standings(RULES, SUBJECTS[:2], tallies)
    assert [(r.code, r.rank, r.total) for r in rows] == [("LJ-01", 1, D("97")), ("LJ-02", 2, D("97"))]
    # With quality first in the chain the order turns round.
    rules = Rules(RULES.criteria, tie_break=("quality", "safety", "schedule", "environment", "management"))
    rows = standings(rules, SUBJECTS[:2], tallies)
    assert [(r.code, r.rank) for r in rows] == [("LJ-02", 1), ("LJ-01", 2)]


def test_tie_broken_further_down_the_chain():
    # Equal total and equal safety; quality decides.
    tallies = {"LJ-01": tally(("safety", "S1", "deduction", 1), ("quality", "Q1", "deduction", 1)),
               "LJ-02": tally(("safety", "S1", "deduction", 1), ("schedule", "P1", "deduction", 1))}
    rows = standings(RULES, SUBJECTS[:2], tallies)
    assert [(r.code, r.rank) for r in rows] == [("LJ-02", 1), ("LJ-01", 2)]


def test_full_tie_shares_the_rank_and_the_next_skips():
    tallies = {"LJ-01": tally(("safety", "S1", "deduction", 1)),
               "LJ-02": tally(("safety", "S1", "deduction", 2)),
               "LJ-03": tally(("safety", "S2", "deduction", 2)),  # same criteria as LJ-02
               "LJ-04": tally(("safety", "S1", "deduction", 5))}
    rows = standings(RULES, SUBJECTS, tallies)
    assert [(r.code, r.rank) for r in rows] == [("LJ-01", 1), ("LJ-02", 2), ("LJ-03", 2), ("LJ-04", 4)]


def test_row_order_ranked_then_vetoed_then_not_assessed_by_code():
    subjects = [Subject(c, c) for c in ("A", "B", "C", "D", "E", "F")]
    tallies = {"F": tally(("safety", "S1", "deduction", 1)), "B": tally(("safety", "S1", "deduction", 2)),
               "E": tally(("safety", "S1", "deduction", 0)), "C": tally(("safety", "S1", "deduction", 0))}
    rows = standings(RULES, subjects, tallies, vetoes={"E": "x", "D": "y"})
    assert [r.code for r in rows] == ["C", "F", "B", "D", "E", "A"]
    assert [r.rank for r in rows] == [1, 2, 3, None, None, None]
    assert [r.vetoed for r in rows] == [False, False, False, True, True, False]


def test_movement_against_last_month():
    tallies = {"LJ-01": tally(("safety", "S1", "deduction", 1)), "LJ-02": tally(("safety", "S1", "deduction", 2)),
               "LJ-03": tally(("safety", "S1", "deduction", 3))}
    rows = by_code(standings(RULES, SUBJECTS, tallies,
                             previous_ranks={"LJ-01": 3, "LJ-02": 1, "LJ-03": None, "LJ-04": 2}))
    assert rows["LJ-01"].movement == 2  # 3rd -> 1st: up two
    assert rows["LJ-02"].movement == -1  # 1st -> 2nd: down one
    assert rows["LJ-03"].movement is None  # no rank last month
    assert rows["LJ-04"].movement is None  # no rank this month
    assert movement(None, 1) is None and movement(2, None) is None and movement(4, 4) == 0


def test_flag_to_the_sole_rank_one_and_none_when_shared():
    sole = standings(RULES, SUBJECTS[:2], {"LJ-01": tally(("safety", "S1", "deduction", 2)),
                                          "LJ-02": tally(("safety", "S1", "deduction", 1))})
    assert flag_holder(sole) == "LJ-02"
    shared = standings(RULES, SUBJECTS[:3], {"LJ-01": tally(("safety", "S1", "deduction", 1)),
                                            "LJ-02": tally(("safety", "S2", "deduction", 1)),
                                            "LJ-03": tally(("safety", "S1", "deduction", 3))})
    assert [r.rank for r in shared] == [1, 1, 3]
    assert flag_holder(shared) is None
    assert flag_holder(standings(RULES, SUBJECTS[:2], {})) is None  # nobody assessed


def test_vetoed_best_section_does_not_get_the_flag():
    rows = standings(RULES, SUBJECTS[:2], {"LJ-01": tally(("safety", "S1", "deduction", 0)),
                                          "LJ-02": tally(("safety", "S1", "deduction", 5))},
                     vetoes={"LJ-01": "安全事故"})
    assert flag_holder(rows) == "LJ-02"


def test_flags_counted_over_the_competition_on_each_row():
    rows = by_code(standings(RULES, SUBJECTS[:3], {"LJ-01": tally(("safety", "S1", "deduction", 1))},
                             flags={"LJ-01": 2, "LJ-03": 1}))
    assert (rows["LJ-01"].flags, rows["LJ-02"].flags, rows["LJ-03"].flags) == (2, 0, 1)
    team_rows = standings(RULES, SUBJECTS[:1], {})
    assert team_rows[0].flags is None  # a team board has no flags


# -- the year board -----------------------------------------------------------------------------------

def test_year_means_vetoed_month_counts_zero_unassessed_month_skipped():
    jan = standings(RULES, SUBJECTS[:3], {"LJ-01": tally(("safety", "S1", "deduction", 2)),
                                         "LJ-02": tally(("safety", "S1", "deduction", 1))})
    feb = standings(RULES, SUBJECTS[:3], {"LJ-01": tally(("safety", "S1", "deduction", 4)),
                                         "LJ-02": tally(("safety", "S1", "deduction", 0))},
                    vetoes={"LJ-02": "环保事故"})
    mar = standings(RULES, SUBJECTS[:3], {"LJ-02": tally(("quality", "Q1", "deduction", "0.5"))})
    rows = by_code(year_board(RULES, SUBJECTS[:3], [jan, feb, mar]))
    # LJ-01: Jan 98, Feb 96, Mar not assessed (skipped) -> 97.
    assert rows["LJ-01"].total == D("97")
    # LJ-02: Jan 99, Feb vetoed (0), Mar 99.5 -> 198.5 / 3 = 66.17 (half up).
    assert rows["LJ-02"].total == D("66.17")
    assert rows["LJ-01"].rank == 1 and rows["LJ-02"].rank == 2
    assert rows["LJ-03"].assessed is False and rows["LJ-03"].rank is None and rows["LJ-03"].total is None


def test_year_board_shares_ranks_like_a_month():
    jan = standings(RULES, SUBJECTS[:3], {"LJ-01": tally(("safety", "S1", "deduction", 1)),
                                         "LJ-02": tally(("safety", "S1", "deduction", 1)),
                                         "LJ-03": tally(("safety", "S1", "deduction", 2))})
    rows = year_board(RULES, SUBJECTS[:3], [jan])
    assert [(r.code, r.rank) for r in rows] == [("LJ-01", 1), ("LJ-02", 1), ("LJ-03", 3)]


def test_row_round_trips_through_a_snapshot():
    rows = standings(RULES, SUBJECTS[:3], {"LJ-01": tally(("safety", "S1", "deduction", "0.35"))},
                     vetoes={"LJ-02": "r"}, previous_ranks={"LJ-01": 2}, flags={"LJ-01": 1})
    from scoring.standings.operations import rows_json

    assert [Row.from_dict(d) for d in rows_json(rows)] == rows
