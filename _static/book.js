/* Jupyter Book adds every .js file in _static/ to each page.

   On narrow screens the table of contents (and the page's own contents) open from the
   buttons in the article header of sphinx-book-theme. pydata-sphinx-theme binds its
   open-the-sidebar handler only to the FIRST ".primary-toggle" / ".secondary-toggle" of the
   page, which is its own header button, hidden in this layout; the visible buttons did
   nothing on a phone. They now press the bound ones. */
document.addEventListener("DOMContentLoaded", () => {
  for (const selector of [".primary-toggle", ".secondary-toggle"]) {
    const [bound, ...others] = document.querySelectorAll(selector);
    for (const button of others) {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        bound.click();
      });
    }
  }
});

/* A table wider than the text column (a phone, say) would hide columns behind a sideways
   scroll. It gets the class "stacked" instead (book.css shows it row by row, each cell after
   its column's header, from data-label); measured again when the window changes size. The
   explorer's pixel grids are tables too: they scroll in their own box, and are never stacked. */
function stackWideTables() {
  for (const table of document.querySelectorAll(".bd-article table")) {
    if (table.closest(".upsampling-explorer")) continue;
    table.classList.remove("stacked");
    const column = table.parentElement.getBoundingClientRect().width;
    if (table.getBoundingClientRect().width <= column + 1) continue;
    const headers = Array.from(table.querySelectorAll("thead th"), (th) => th.textContent.trim());
    for (const row of table.querySelectorAll("tbody tr")) {
      Array.from(row.children).forEach((cell, index) => {
        cell.dataset.label = headers[index] ?? "";
      });
    }
    table.classList.add("stacked");
  }
}
let stackPending = false;
function stackWideTablesSoon() {
  if (stackPending) return;
  stackPending = true;
  requestAnimationFrame(() => { stackPending = false; stackWideTables(); });
}
document.addEventListener("DOMContentLoaded", stackWideTables);
window.addEventListener("load", stackWideTablesSoon);
window.addEventListener("resize", stackWideTablesSoon);
