// Live status of a submission: the server pushes its state (Server-Sent Events); when it
// changes, the result section is fetched again and swapped in, so no reload is needed.
(function () {
  "use strict";
  const box = document.getElementById("result");
  if (!box || !window.EventSource) { return; }
  let state = box.dataset.state;
  if (state === "graded") { return; }
  const source = new EventSource(box.dataset.events);
  source.onmessage = async function (event) {
    const data = JSON.parse(event.data);
    if (data.state === state && data.state !== "graded") { return; }
    state = data.state;
    const response = await fetch(box.dataset.fragment, {credentials: "same-origin"});
    if (response.ok) {
      box.innerHTML = await response.text();
      box.dataset.state = state;
    }
    if (state === "graded") { source.close(); }
  };
  source.onerror = function () {
    if (state === "graded") { source.close(); }
  };
})();
