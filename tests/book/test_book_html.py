"""The built book: strict build, every page present, clean outputs, and the chapters' values.

One strict build per session (fixture ``built_book``); every test reads its HTML.
"""
from __future__ import annotations

import inspect
import re

import pytest

from tools.build_book import BOOK_ROOT, notebook_files, toc_files
from upsampling_course.reference import (
    conv_transpose,
    conv_transpose_output_length,
    convolution_matrix,
    upsample_bilinear,
    upsample_nearest,
)

pytestmark = pytest.mark.book

PAGES = [path.relative_to(BOOK_ROOT).with_suffix("").as_posix() for path in toc_files()]
NOTEBOOKS = [path.relative_to(BOOK_ROOT).with_suffix("").as_posix() for path in notebook_files()]

# Lines that must never reach the HTML: TensorFlow/absl start-up logs, Python warnings,
# and Keras progress bars.
NOISE = [
    re.compile(pattern)
    for pattern in (
        r"^[IWEF]\d{4} \d\d:\d\d:\d\d",        # absl log line: I0000 00:00:...
        r"oneDNN custom operations",
        r"cpu_feature_guard|This TensorFlow binary is optimized",
        r"Unable to register cu(DNN|FFT|BLAS)",
        r"absl::InitializeLog",
        r"\w+Warning: ",                       # warnings.warn output
        r"\d+/\d+ [━=>.\s]+\S* ?\d*m?s/step",  # Keras progress bar
        r"\bETA: ",
    )
]


# Each chapter's plots: at least this many images produced by its cells.
PLOTS = {"why-upsample": 3, "upsampling2d": 6, "conv2d-transpose": 5, "inside-conv2d-transpose": 4}


def test_strict_build_is_clean_and_reuses_the_parallel_cache(built_book):
    result = built_book.result
    assert result.returncode == 0
    assert result.warnings == []
    assert "build succeeded" in built_book.log
    # A fresh build: the pre-execution ran every notebook, Sphinx none of them.
    assert sorted(result.preexecuted) == sorted(str(path) for path in notebook_files())
    assert result.sphinx_executed == 0
    assert built_book.log.count("Using cached notebook") == len(NOTEBOOKS)


@pytest.mark.parametrize("name", PAGES)
def test_every_page_of_the_toc_is_built(built_book, name):
    assert built_book.page_path(name).is_file()
    assert built_book.chapter_text(name)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_error_output_except_deliberate_ones(built_book, name):
    article = built_book.article(name)
    for output in article.select("div.output.traceback, div.output.error"):
        cell = output.find_parent("div", class_="cell")
        assert cell is not None and "tag_raises-exception" in cell["class"], (
            f"{name}: unexpected error output:\n{output.get_text()[:2000]}"
        )
    # A cell tagged raises-exception must really raise (else the tag hides nothing).
    for cell in built_book.cells(name, "raises-exception"):
        assert cell.select("div.output.traceback"), f"{name}: a raises-exception cell did not raise"
    assert "Traceback (most recent call last)" not in "".join(
        output.get_text() for output in article.select("div.cell_output")
        if not output.find_parent("div", class_="tag_raises-exception")
    )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_chapters_refer_to_each_other_by_link_not_by_number(built_book, name):
    # Numbers shift whenever a chapter is added; a {doc} link follows the chapter.
    mentions = re.findall(r"\b[Cc]hapters? \d+", built_book.chapter_text(name))
    assert not mentions, f"{name}: {mentions}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_stderr_start_up_lines_or_progress_bars(built_book, name):
    article = built_book.article(name)
    assert not article.select("div.output.stderr"), f"{name}: a stderr output reached the HTML"
    for line in built_book.output_lines(name):
        for pattern in NOISE:
            assert not pattern.search(line), f"{name}: noise in an output: {line!r}"


@pytest.mark.parametrize("name", list(PLOTS))
def test_each_chapter_has_its_plots_with_alt_text(built_book, name):
    images = built_book.images(name)
    assert len(images) >= PLOTS[name], f"{name}: {len(images)} plots, expected {PLOTS[name]}"
    page_dir = built_book.page_path(name).parent
    for image in images:
        assert (page_dir / image["src"]).resolve().is_file(), f"{name}: missing {image['src']}"
        alt = image.get("alt", "")
        assert len(alt) >= 30 and not alt.lower().endswith((".png", "image")), (
            f"{name}: image {image['src']} has no meaningful alt text: {alt!r}"
        )


@pytest.mark.parametrize("name", list(PLOTS))
def test_each_chapter_ends_with_summary_and_hidden_answers(built_book, name):
    headings = [h.get_text(" ", strip=True) for h in built_book.article(name).select("h2")]
    assert any("Summary" in h for h in headings[-2:]), headings
    assert any("Practice questions" in h for h in headings[-2:]), headings
    dropdowns = built_book.article(name).select("details.sd-dropdown")
    assert any("Answers" in d.get_text() for d in dropdowns), f"{name}: no answers dropdown"
    assert "open" not in dropdowns[-1].attrs, "answers must start folded"


@pytest.mark.parametrize("name", list(PLOTS))
def test_citations_link_to_the_bibliography(built_book, name):
    bibliography = built_book.page("bibliography")
    targets = {tag["id"] for tag in bibliography.select("[id]")}
    links = [a for a in built_book.article(name).select("a[href*='bibliography.html#']")]
    assert links, f"{name} cites nothing"
    for link in links:
        assert link["href"].split("#", 1)[1] in targets, f"{name}: broken citation {link['href']}"


def test_two_shi_et_al_2016_papers_are_told_apart(built_book):
    # ESPCN (sub-pixel convolution) and "Is the deconvolution layer the same as a
    # convolutional layer?" share first author and year: cited as 2016a and 2016b.
    text = built_book.chapter_text("checkerboard-artifacts")
    assert "Shi et al., 2016a" in text and "Shi et al., 2016b" in text
    bibliography = built_book.chapter_text("bibliography")
    # The list's labels keep the letter too (tools/bibliography_style.py).
    assert re.search(r"16a\] Wenzhe Shi[^\[]*sub-pixel[^\[]*1874–1883\. 2016a\.", bibliography, re.I)
    assert re.search(r"16b\] Wenzhe Shi[^\[]*same as a convolutional layer\? arXiv preprint "
                     r"arXiv:1609\.07009, 2016b\.", bibliography)


def test_bibliography_lists_the_brief_references(built_book):
    text = built_book.chapter_text("bibliography")
    for title in [
        "A guide to convolution arithmetic for deep learning",
        "Deconvolutional networks",
        "Visualizing and understanding convolutional networks",
        "Fully convolutional networks for semantic segmentation",
        "Is the deconvolution layer the same as a convolutional layer?",
        "Deconvolution and checkerboard artifacts",
        "Learning deconvolution network for semantic segmentation",
        "Unsupervised representation learning with deep convolutional generative adversarial networks",
    ]:
        assert title.lower() in text.lower(), title


@pytest.mark.parametrize("name", list(PLOTS))
def test_launch_buttons_for_binder_and_colab(built_book, name):
    hrefs = [a.get("href", "") for a in built_book.page(name).select("a")]
    assert any("mybinder.org/v2/gh/" in href and f"{name}.md" in href for href in hrefs)
    assert any("colab.research.google.com" in href for href in hrefs)


@pytest.mark.parametrize(
    ("name", "functions"),
    [
        ("upsampling2d", [upsample_nearest, upsample_bilinear]),
        ("conv2d-transpose", [conv_transpose_output_length]),
        ("inside-conv2d-transpose", [conv_transpose, convolution_matrix]),
    ],
)
def test_chapters_show_the_package_code_itself(built_book, name, functions):
    blocks = [" ".join(block.split()) for block in built_book.code_blocks(name)]
    for function in functions:
        source = " ".join(inspect.getsource(function).split())
        assert source in blocks, f"{name} does not show {function.__name__} from the package"


def test_intro_says_who_it_is_for_and_how_to_run_it(built_book):
    text = built_book.chapter_text("intro")
    for phrase in ["Who this course is for", "What you need to know", "Binder", "Locally",
                   "pip install -r requirements.txt", "jupytext --to notebook"]:
        assert phrase in text, phrase


