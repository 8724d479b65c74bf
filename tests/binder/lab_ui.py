"""Driving JupyterLab's UI with Playwright: open a document, run cells, type into a cell.

The actions go through the UI (menus, clicks, keys) the way a learner works; what they
produced is read back from the notebook model behind the UI (``window.jupyterapp``, exposed
by ``--LabApp.expose_app_in_browser``), which is exact where the rendered page is not.
"""
from __future__ import annotations

import time

#: The document in the main area: its kind, path, kernel and every cell with its outputs.
CURRENT_DOCUMENT = """() => {
  const widget = window.jupyterapp.shell.currentWidget;
  const model = widget?.content?.model;
  const isNotebook = !!widget && widget.node.classList.contains('jp-NotebookPanel');
  const cells = [];
  if (isNotebook) {
    for (let i = 0; i < model.cells.length; i++) {
      const cell = model.cells.get(i);
      cells.push({
        type: cell.type, source: cell.sharedModel.getSource(),
        nbgrader: cell.getMetadata('nbgrader') ?? null,
        count: cell.type === 'code' ? cell.executionCount : null,
        outputs: cell.type === 'code' ? cell.outputs.toJSON() : [],
      });
    }
  }
  return {
    isNotebook, path: widget?.context?.path ?? null,
    kernelStatus: widget?.sessionContext?.kernelDisplayStatus ?? null,
    kernelName: widget?.sessionContext?.session?.kernel?.name ?? null,
    cells,
  };
}"""

#: True once ``path`` is the current document, fully loaded, with its kernel idle.
DOCUMENT_READY = """(path) => {
  const widget = window.jupyterapp?.shell.currentWidget;
  return !!widget && widget.context?.path === path && widget.context.isReady
    && widget.sessionContext?.kernelDisplayStatus === 'idle';
}"""

#: True once every code cell has run (or the cells given by index) and the kernel is idle.
CELLS_DONE = """(indices) => {
  const widget = window.jupyterapp.shell.currentWidget;
  const cells = widget.content.model.cells;
  const wanted = indices ?? Array.from({length: cells.length}, (_, i) => i);
  for (const i of wanted) {
    const cell = cells.get(i);
    if (cell.type === 'code' && !cell.executionCount) return false;
  }
  return widget.sessionContext.kernelDisplayStatus === 'idle';
}"""

CLEAR_COUNTS = """(indices) => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
  for (const i of indices) cells.get(i).executionCount = null;
}"""


def open_document(page, url: str, path: str) -> dict:
    """Open a JupyterLab URL (e.g. ``lab/tree/<path>``); wait until ``path`` is loaded, kernel idle."""
    page.goto(url)
    page.wait_for_function(DOCUMENT_READY, arg=path, polling=250)
    return document(page)


def document(page) -> dict:
    return page.evaluate(CURRENT_DOCUMENT)


def menu(page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel").get_by_text(top, exact=True).click()
    page.locator(".lm-Menu-itemLabel").get_by_text(item, exact=True).click()


def run_all_cells(page, timeout_s: float = 600) -> float:
    """Run > Run All Cells; return the seconds until every code cell has run."""
    started = time.perf_counter()
    menu(page, "Run", "Run All Cells")
    page.wait_for_function(CELLS_DONE, arg=None, timeout=timeout_s * 1000, polling=250)
    return time.perf_counter() - started


def cell(page, index: int):
    locator = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)
    locator.scroll_into_view_if_needed()
    return locator


def run_cells(page, indices: list[int]) -> None:
    """Select each cell in turn by clicking it and run it with Shift+Enter, as a learner would."""
    page.evaluate(CLEAR_COUNTS, indices)
    for index in indices:
        cell(page, index).locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
    page.wait_for_function(CELLS_DONE, arg=indices, polling=250)


def replace_cell_source(page, index: int, source: str) -> None:
    """Click into a cell's editor, select everything and type ``source`` in its place."""
    cell(page, index).locator(".jp-InputArea-editor .cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    # insert_text types the text as one input event: no auto-indent or bracket closing.
    page.keyboard.insert_text(source)
    page.keyboard.press("Escape")


def output_text(page, index: int) -> str:
    """What the learner sees under a cell."""
    return cell(page, index).locator(".jp-OutputArea").inner_text()


def cell_index(doc: dict, grade_id: str) -> int:
    for index, entry in enumerate(doc["cells"]):
        if (entry["nbgrader"] or {}).get("grade_id") == grade_id:
            return index
    raise KeyError(f"{doc['path']}: no cell with grade_id {grade_id!r}")


def problem_outputs(cells: list[dict]) -> list[str]:
    """Error outputs and stderr streams of the cells, one line each."""
    found = []
    for index, entry in enumerate(cells):
        for output in entry["outputs"]:
            if output["output_type"] == "error":
                found.append(f"cell {index}: {output['ename']}: {output['evalue']}")
            elif output["output_type"] == "stream" and output["name"] == "stderr":
                found.append(f"cell {index} stderr: {''.join(output['text'])[:300]}")
    return found
