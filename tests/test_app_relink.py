"""Issue 10, row 1, in the review app: a moved video is found again from a folder the reviewer types,
and a replaced one is refused (nothing is played, cut or blurred from it)."""

from __future__ import annotations

import shutil

from tests.media import astronaut_video, synthetic_video
from tests.test_app import analysed, click, home, player_data, start  # noqa: F401,F811 (home is a fixture)


def test_a_moved_video_is_relinked_from_a_folder_and_a_replaced_one_refused(home, tmp_path):
    video = astronaut_video(tmp_path / "party.mp4", seconds=2.0)
    analysed(home, video)
    moved = tmp_path / "external disk" / "party.mp4"
    moved.parent.mkdir()
    shutil.move(video, moved)

    at = start()
    assert any("party.mp4 is no longer there" in e.value and "laughvid relink" in e.value for e in at.error)
    assert "no longer there" in player_data(at)["video"]["problem"], "nothing is played from a missing file"
    at.text_input(key="relink_folder").input(str(tmp_path / "no such folder")).run()
    click(at, "Find it there")
    assert any("no such file or folder" in e.value for e in at.error)
    at.text_input(key="relink_folder").input(str(moved.parent)).run()
    click(at, "Find it there")
    assert any(f"party.mp4 found at {moved}" in t.value for t in at.toast)
    assert not any("no longer there" in e.value for e in at.error)
    assert player_data(at)["video"]["problem"] is None, "found: it plays again"

    synthetic_video(moved, seconds=2.0)  # replaced by another video of the same name
    at.run()
    assert any("is not the video that was analysed" in e.value for e in at.error)
    assert "is not the video that was analysed" in player_data(at)["video"]["problem"], "a replaced file is not played"
