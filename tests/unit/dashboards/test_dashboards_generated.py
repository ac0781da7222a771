"""The committed dashboard JSON is exactly what the generator writes."""
import pytest

from dashboards import detail, fleet, generate


@pytest.mark.parametrize("module", generate.DASHBOARDS, ids=lambda m: m.UID)
def test_committed_json_matches_generator(module):
    path = generate.OUTPUT_DIR / f"{module.UID}.json"
    assert path.exists(), f"{path} is missing: run `python -m dashboards.generate`"
    assert path.read_text() == generate.dumps(generate.render(module)), (
        f"{path.name} differs from the generator output: run `python -m dashboards.generate` and commit")


def test_check_mode_reports_no_drift(capsys):
    assert generate.main(["--check"]) == 0, capsys.readouterr().err


def test_check_mode_fails_on_a_stale_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(generate, "OUTPUT_DIR", tmp_path)
    (tmp_path / f"{fleet.UID}.json").write_text("{}\n")
    (tmp_path / f"{detail.UID}.json").write_text(generate.dumps(generate.render(detail)))
    assert generate.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert f"{fleet.UID}.json" in err and f"{detail.UID}.json" not in err


def test_generation_is_deterministic():
    assert generate.dumps(generate.render(fleet)) == generate.dumps(generate.render(fleet))


def test_only_the_generated_dashboards_are_shipped():
    shipped = sorted(path.name for path in generate.OUTPUT_DIR.glob("*.json"))
    assert shipped == sorted(f"{module.UID}.json" for module in generate.DASHBOARDS)


def test_panel_ids_are_unique_and_stable(committed):
    for uid, dashboard in committed.items():
        ids = [panel["id"] for panel in dashboard["panels"]]
        ids += [inner["id"] for panel in dashboard["panels"] for inner in panel.get("panels", [])]
        assert sorted(ids) == list(range(1, len(ids) + 1)), uid
