"""The local demo at a real site's size: `run-local --cameras aizkraukle=90`."""

from __future__ import annotations

import pytest

from local.demo import EVERY_CAMERA_HEARD_WITHIN_S, demo_cameras, demo_plan, simulator_interval


def test_a_site_gets_its_named_cameras_then_numbered_ones_up_to_the_count():
    plan = demo_plan()
    cameras = demo_cameras(plan, {"aizkraukle": 90})
    ids = [camera["camera_id"] for camera in cameras["aizkraukle"]]
    assert len(ids) == len(set(ids)) == 90
    assert cameras["aizkraukle"][:3] == plan["cameras"]["aizkraukle"]
    assert ids[3] == "aizkraukle-camera-004" and ids[-1] == "aizkraukle-camera-090"
    assert cameras["birzai"] == plan["cameras"]["birzai"]  # a site not named keeps the demo's cameras


def test_a_count_below_the_named_cameras_keeps_them_all():
    assert len(demo_cameras(demo_plan(), {"birzai": 1})["birzai"]) == 3


def test_a_site_that_is_not_in_the_demo_is_refused_by_name():
    with pytest.raises(ValueError, match="no demo site riga"):
        demo_cameras(demo_plan(), {"riga": 5})


def test_with_many_cameras_the_simulator_hears_each_before_it_would_look_silent():
    assert simulator_interval(6, preferred_s=5.0) == 5.0
    every = simulator_interval(93, preferred_s=5.0)
    assert every * 93 <= EVERY_CAMERA_HEARD_WITHIN_S < 5.0 * 93
