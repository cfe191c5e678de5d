"""`laughvid models`, `laughvid consent`, `laughvid review-next`: thin commands, clear errors, exit codes."""

from __future__ import annotations

import pytest
from loop_helpers import write_set

from laughvid.cli import EXIT_OK, EXIT_USAGE, main
from laughvid.lifecycle import registry
from laughvid.store import open_store


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("LAUGHVID_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LAUGHVID_STORE", raising=False)
    monkeypatch.delenv(registry.MODEL_ENV, raising=False)
    return tmp_path / "home"


def test_models_activate_and_rollback(capsys):
    conn = open_store()
    for v in ("smile-a", "smile-b"):
        registry.register(conn, registry.ModelRecord(v, f"/m/{v}", metrics={"val": {"f1": 0.8, "roc_auc": 0.9}}))
    assert main(["models", "activate", "smile-a"]) == EXIT_OK
    assert main(["models", "activate", "smile-b"]) == EXIT_OK
    assert main(["models", "rollback"]) == EXIT_OK
    assert registry.active_version(conn) == "smile-a"
    assert main(["models", "list"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "* smile-a" in out and "rolled back" in out
    assert main(["models", "activate", "smile-z"]) == EXIT_USAGE
    assert "no model version 'smile-z'" in capsys.readouterr().err


def test_consent_add_delete_needs_confirmation(home, tmp_path, capsys):
    ft = write_set(home / "finetune_set", {"p01": (1, 1), "p02": (1, 1)})
    assert main(["consent", "add", "p01", "--name", "Kim", "--scope", "finetune", "--date", "2026-01-01"]) == EXIT_OK
    assert main(["consent", "add", "p01", "--name", "Kim", "--scope", "finetune"]) == EXIT_USAGE
    assert main(["consent", "export", "p01", "--out", str(tmp_path / "out")]) == EXIT_OK
    assert (tmp_path / "out" / "p01.json").exists()
    assert main(["consent", "delete", "p01"]) == EXIT_USAGE  # no --yes: nothing deleted
    assert len(list(ft.rglob("*.png"))) == 4
    assert main(["consent", "delete", "p01", "--yes"]) == EXIT_OK  # default set: the UI's fine-tune set
    assert len(list(ft.rglob("*.png"))) == 2
    assert "deleted p01: 2 crops" in capsys.readouterr().out


def test_review_next_on_an_empty_store(capsys):
    assert main(["review-next", "-k", "5"]) == EXIT_OK
    assert "nothing to review" in capsys.readouterr().out


def test_finetune_without_replay_data_is_refused(tmp_path, capsys):
    write_set(tmp_path / "set", {"p01": (1, 1), "p02": (1, 1)})
    assert main(["finetune", str(tmp_path / "set"), "--out", str(tmp_path / "m")]) == EXIT_USAGE
    assert "--no-replay" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
