"""What the linkage engine does with UK household records (one shared run).

The world (tests/link/world.py) plants one person per behaviour; each test reads its
own person's outcome from the same linkage of ~3,800 records.
"""

from __future__ import annotations

from tests.link.world import score


def test_twins_with_the_same_dob_are_not_linked_to_each_other(world, links_by_left):
    assert links_by_left.get(world.scenarios["twin"]) is None


def test_a_junior_is_not_linked_to_his_father(world, links_by_left):
    assert links_by_left.get(world.scenarios["junior"]) is None


def test_a_nickname_still_links(world, links_by_left):
    assert links_by_left.get(world.scenarios["nickname"]) == "Rnick"


def test_a_day_month_swap_in_the_date_of_birth_still_links(world, links_by_left):
    assert links_by_left.get(world.scenarios["dob_swap"]) == "Rswap"


def test_forename_and_surname_swapped_still_links(world, links_by_left):
    assert links_by_left.get(world.scenarios["name_swap"]) == "Rnswap"


def test_kaur_recorded_as_the_surname_still_links_to_the_family_name(world, links_by_left):
    assert links_by_left.get(world.scenarios["kaur"]) == "Rkaur"


def test_one_part_of_a_hyphenated_surname_with_accents_still_links(world, links_by_left):
    assert links_by_left.get(world.scenarios["hyphen"]) == "Rhyph"


def test_an_optional_first_given_name_left_out_still_links(world, links_by_left):
    assert links_by_left.get(world.scenarios["mohammed"]) == "Rmoh"


def test_a_given_name_written_in_the_surname_field_still_links(world, links_by_left):
    # Kang Harpreet at the council, Harpreet Kaur at the department.
    assert links_by_left.get(world.scenarios["name_order"]) == "Rorder"


def test_singh_written_first_in_the_forename_field_still_links(world, links_by_left):
    # Singh Balvinder at the council, Balvinder Sandhu at the department.
    assert links_by_left.get(world.scenarios["singh_first"]) == "Rsinghfirst"


def test_mohammed_alone_on_one_side_still_links_to_the_name_he_uses(world, links_by_left):
    assert links_by_left.get(world.scenarios["mohammed_only"]) == "Rmohonly"


def test_an_invalid_nino_shared_by_two_people_does_not_link_them(world, links_by_left):
    assert links_by_left.get(world.scenarios["invalid_nino"]) is None


def test_each_record_appears_in_at_most_one_link(linked):
    assert linked.links["left_id"].is_unique().all()
    assert linked.links["right_id"].is_unique().all()


def test_the_household_world_links_at_the_required_precision(world, linked):
    figures = score(linked.links, world.truth)
    assert figures["precision"] >= 0.995
    assert figures["f1"] >= 0.985


def test_the_estimated_precision_meets_the_requested_minimum(linked):
    assert linked.threshold.estimated_precision >= 0.995
