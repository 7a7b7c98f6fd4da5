"""The offline plots template counts as made only when it is whole; anything less is made again."""

from tests.helpers import PROJECT
from tools import offline_plots


def test_the_template_is_up_to_date_only_when_whole(tmp_path, monkeypatch):
    made = PROJECT / offline_plots.TEMPLATE
    assert made.is_file(), "no offline template: `make setup` writes it"
    page = made.read_text()
    monkeypatch.setattr(offline_plots, "TEMPLATE", tmp_path / "plots.html")
    assert not offline_plots.up_to_date()  # not there
    pages = {
        "whole": page,
        "cut short": page[: len(page) // 2],
        "a library altered": page.replace("function", "functio", 1),
        "without DVC's placeholder": page.replace("{plot_divs}", ""),
    }
    for name, text in pages.items():
        offline_plots.TEMPLATE.write_text(text)
        assert offline_plots.up_to_date() == (name == "whole"), name
