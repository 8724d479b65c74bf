"""The chapter "Choosing an upsampling method": every claim its prose makes about the experiment's
numbers (stopping, ranking, seeds' spread, sizes, checkerboard energies), read from the strictly
built HTML (fixture ``built_book``)."""
from __future__ import annotations

import re

import numpy as np
import pytest

from tests.book.book_helpers import line_starting, numbers_in, table_with

pytestmark = pytest.mark.book

CHOOSING = "choosing-a-method"
METHODS = ["nearest + conv", "bilinear + conv", "transposed conv", "pixel shuffle",
           "max unpooling + conv"]
RESIZE = ["nearest + conv", "bilinear + conv"]
UNPOOLING = "max unpooling + conv"


def error_table(built_book) -> dict[str, dict[str, float]]:
    """The results table: method -> weights, seed errors, mean and spread."""
    table = table_with(built_book, CHOOSING, "transposed conv")
    assert [row[0] for row in table] == METHODS
    columns = ["weights", "seed 0", "seed 1", "seed 2", "mean", "spread"]
    return {row[0]: dict(zip(columns, (float(v.replace(",", "")) for v in row[1:]), strict=True))
            for row in table}


def checkerboard_table(built_book) -> dict[str, tuple[float, float]]:
    table = next(t for t in built_book.tables(CHOOSING) if len(t[0]) == 3)
    assert [row[0] for row in table] == METHODS
    return {row[0]: (float(row[1]), float(row[2])) for row in table}


def test_objectives_plots_summary_and_folded_answers(built_book):
    article = built_book.article(CHOOSING)
    first = article.select_one("div.admonition")
    assert first is not None and "Learning objectives" in first.get_text()
    images = built_book.images(CHOOSING)
    assert len(images) == 2, "learning curves and sample outputs"
    for image in images:
        assert len(image.get("alt", "")) >= 30, f"{image['src']} lacks alt text"
    headings = [h.get_text(" ", strip=True) for h in article.select("h2")]
    assert "Summary" in headings[-2] and "Practice questions" in headings[-1], headings
    dropdowns = article.select("details.sd-dropdown")
    assert dropdowns and "Answers" in dropdowns[-1].get_text() and "open" not in dropdowns[-1].attrs


def test_data_split(built_book):
    assert line_starting(built_book, CHOOSING, "train (1197, 8, 8, 1)") == (
        "train (1197, 8, 8, 1)  validation (300, 8, 8, 1)  test (300, 8, 8, 1)"
    )
    per_digit = numbers_in(line_starting(built_book, CHOOSING, "test images per digit"))[2:]
    assert len(per_digit) == 10 and min(per_digit) > 0 and sum(per_digit) == 300


def test_sizes(built_book):
    weights = {method: numbers_in(line_starting(built_book, CHOOSING, method).replace(",", ""))[-1]
               for method in METHODS}
    assert weights["pixel shuffle"] == 5_409
    assert {w for m, w in weights.items() if m != "pixel shuffle"} == {1_905}
    # "almost three times the weights of the others"
    assert 2.5 < weights["pixel shuffle"] / weights["nearest + conv"] < 3
    assert {m: r["weights"] for m, r in error_table(built_book).items()} == weights


def test_training_stopped_at_the_budget_with_the_models_still_improving(built_book):
    line = line_starting(built_book, CHOOSING, "stopped after")
    match = re.fullmatch(r"stopped after (\d+) epochs of (\d+) at most; took \d+ s \(\d+ s of CPU time\)",
                         line)
    assert match, line
    epochs, cap = int(match[1]), int(match[2])
    assert epochs == cap == 60  # "stopped training at the 60-epoch budget, not by its 1% criterion"
    first, last = numbers_in(line_starting(built_book, CHOOSING, "last quarter: epochs"))
    assert (first, last) == (epochs - epochs // 4, epochs)
    gain = numbers_in(line_starting(built_book, CHOOSING, "largest validation gain in it:"))[0]
    assert gain == 2.93  # "still fell by 2.9% over the last quarter"


def test_results_table_is_consistent(built_book):
    for method, row in error_table(built_book).items():
        seeds = [row["seed 0"], row["seed 1"], row["seed 2"]]
        assert row["mean"] == pytest.approx(np.mean(seeds), abs=1e-4), method
        assert row["spread"] == pytest.approx(max(seeds) - min(seeds), abs=2e-4), method


RANKING = [UNPOOLING, "pixel shuffle", "transposed conv", "nearest + conv", "bilinear + conv"]


def test_ranking_is_settled_in_the_last_quarter_and_across_seeds(built_book):
    for seed in (0, 1, 2):
        assert line_starting(built_book, CHOOSING, f"seed {seed}:").endswith(
            "1 ranking(s) in the last quarter"
        )
    lines = built_book.output_lines(CHOOSING)
    assert lines.count(" < ".join(RANKING)) == 3, "the same ranking for every seed"
    for better, worse in zip(RANKING, RANKING[1:], strict=False):
        assert f"{better} < {worse}: settled" in lines


def test_reading_of_the_errors(built_book):
    rows = error_table(built_book)
    mean = {m: r["mean"] for m, r in rows.items()}
    worst = {m: max(r["seed 0"], r["seed 1"], r["seed 2"]) for m, r in rows.items()}
    best = {m: min(r["seed 0"], r["seed 1"], r["seed 2"]) for m, r in rows.items()}
    # "Unpooling wins by far": about half of pixel shuffle's mean, its worst seed beats every
    # other method's best seed.
    assert 0.45 < mean[UNPOOLING] / mean["pixel shuffle"] < 0.6
    assert all(worst[UNPOOLING] < best[m] for m in METHODS if m != UNPOOLING)
    # "Transposed convolution beats nearest + conv for every seed, but by little: ranges touch"
    for seed in ("seed 0", "seed 1", "seed 2"):
        assert rows["transposed conv"][seed] < rows["nearest + conv"][seed]
    assert (best["transposed conv"], worst["transposed conv"]) == (0.0185, 0.0232)
    assert (best["nearest + conv"], worst["nearest + conv"]) == (0.0231, 0.0302)
    # "Bilinear + conv comes last for every seed."
    for seed in ("seed 0", "seed 1", "seed 2"):
        assert max(METHODS, key=lambda m: rows[m][seed]) == "bilinear + conv"


def test_reading_of_the_checkerboards(built_book):
    energies = checkerboard_table(built_book)
    data_energy = numbers_in(line_starting(built_book, CHOOSING, "checkerboard energy of the test digits"))[-1]
    untrained = {m: e[0] for m, e in energies.items()}
    trained = {m: e[1] for m, e in energies.items()}
    # Untrained, transposed conv and pixel shuffle paint the strongest checkerboards ("about a
    # third"), more than five times those of the resize-first decoders; unpooling in between.
    ranked = sorted(untrained, key=untrained.get, reverse=True)
    assert ranked == ["pixel shuffle", "transposed conv", UNPOOLING, *sorted(RESIZE, key=untrained.get,
                                                                                reverse=True)]
    for method in ("transposed conv", "pixel shuffle"):
        assert 0.28 < untrained[method] < 0.4
        assert untrained[method] > 5 * max(untrained[m] for m in RESIZE)
    # Trained, every decoder is far below its start and below the digits' own value (0.032).
    assert data_energy == 0.032
    for method in METHODS:
        assert trained[method] < untrained[method] / 2, method
        assert trained[method] < data_energy, method


def test_guide_states_the_checkerboard_cause_correctly(built_book):
    text = built_book.chapter_text(CHOOSING)
    guide = text[text.index("A decision guide"):text.index("Summary")]
    # The false claim of earlier versions: a divisible kernel size alone prevents the pattern.
    assert "not the same sum of weights" in guide
    assert "equal sub-kernel sums" in guide
    assert "ICNR" in guide and "bilinear" in guide
