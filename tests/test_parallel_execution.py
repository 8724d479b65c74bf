"""The book build's executor: a cell's printed pieces are cached as the text it printed."""
import nbformat

from tools.parallel_execution import join_stream_pieces


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
