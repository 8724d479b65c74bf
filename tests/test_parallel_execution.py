"""The book build's executor: a cell's printed pieces are cached as the text it printed."""
import nbformat

import pytest
from jupyter_cache.executors.basic import ProcessData

from tools import parallel_execution
from tools.parallel_execution import ChapterWorker, join_stream_pieces


def test_pieces_of_one_stream_are_joined_as_printed():
    cell = nbformat.v4.new_code_cell("print('output shape:', shape)")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="output shape:"),
        nbformat.v4.new_output("stream", name="stdout", text=" (None, 4, 4, 1)\n"),
        nbformat.v4.new_output("display_data", data={"text/plain": "<Figure>"}),
        nbformat.v4.new_output("stream", name="stdout", text="after\n"),
        nbformat.v4.new_output("stream", name="stderr", text="warning\n"),
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("text"), cell])
    join_stream_pieces(notebook)
    assert [(o.output_type, o.get("text")) for o in cell.outputs] == [
        ("stream", "output shape: (None, 4, 4, 1)\n"),
        ("display_data", None),
        ("stream", "after\n"),
        ("stream", "warning\n"),
    ]
    nbformat.validate(notebook)


class _Chapter:
    uri = "/book/chapters/x.md"

    def __init__(self):
        self.nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])


def _starts(monkeypatch, failures: list[Exception]) -> list[int]:
    """Replace the notebook execution by one that raises ``failures`` in turn, then succeeds."""
    calls = []

    def execute(nb, **kwargs):
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "executed"

    monkeypatch.setattr(parallel_execution, "single_nb_execution", execute)
    return calls


def test_a_kernel_that_dies_at_start_is_started_again(monkeypatch):
    died = RuntimeError("Kernel died before replying to kernel_info")
    calls = _starts(monkeypatch, [died, died])
    data = ProcessData(1, _Chapter.uri, None, 30, False)
    assert ChapterWorker().execute(_Chapter(), data) == "executed"
    assert len(calls) == 3


def test_a_chapter_fails_after_the_last_start_or_on_any_other_error(monkeypatch):
    died = RuntimeError("Kernel died before replying to kernel_info")
    _starts(monkeypatch, [died] * parallel_execution.KERNEL_STARTS)
    data = ProcessData(1, _Chapter.uri, None, 30, False)
    with pytest.raises(RuntimeError, match="Kernel died"):
        ChapterWorker().execute(_Chapter(), data)
    calls = _starts(monkeypatch, [RuntimeError("something else")])
    with pytest.raises(RuntimeError, match="something else"):
        ChapterWorker().execute(_Chapter(), data)
    assert len(calls) == 1
