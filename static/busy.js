// A button marked data-busy-label says that its work has started (the monthly report takes seconds).
document.addEventListener("submit", function (event) {
  var button = event.target.querySelector("button[data-busy-label]");
  if (!button) { return; }
  var idle = button.textContent;
  button.textContent = button.getAttribute("data-busy-label");
  button.setAttribute("aria-busy", "true");
  // the PDF downloads without leaving the page: give the button back after a while
  window.setTimeout(function () { button.textContent = idle; button.removeAttribute("aria-busy"); }, 15000);
});
