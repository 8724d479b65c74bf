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
