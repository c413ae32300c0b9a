"""The condolence CLI's progress bar (stderr, stdlib only) and its argument checks."""

from __future__ import annotations

import io

import pytest

from services.dossiers.cli import ProgressBar, main


def test_progress_bar_draws_on_one_line_and_ends_with_a_newline():
    stream = io.StringIO()
    bar = ProgressBar(stream)
    bar(0, 10_000)
    bar(10_000, 10_000)
    text = stream.getvalue()
    assert text.startswith("\r慰问发放 [") and "0/10000" in text
    assert text.endswith("10000/10000 户 100%\n")


def test_an_empty_batch_still_draws_a_full_bar():
    stream = io.StringIO()
    ProgressBar(stream)(0, 0)
    assert "0/0 户 100%" in stream.getvalue()


def test_a_malformed_festival_is_refused_before_anything_runs(capsys):
    with pytest.raises(SystemExit) as refused:
        main(["condolence-batch", "--festival", "spring", "--fund", "F1"])
    assert refused.value.code == 2
    assert "--festival" in capsys.readouterr().err


@pytest.mark.parametrize("org", ["LY-ZZ", "XX"])
def test_a_scope_outside_the_org_tree_is_refused_before_anything_runs(capsys, org):
    with pytest.raises(SystemExit) as refused:
        main(["condolence-batch", "--festival", "2019-spring", "--fund", "F1", "--org", org])
    assert refused.value.code == 2
    assert "--org" in capsys.readouterr().err
