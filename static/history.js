// 「更早的记录」: load the earlier lines (list items or table rows) in place of the link (without script the link opens a page of them).
// The request carries HX-Request, as htmx sends it, so the server answers with the lines alone.
document.addEventListener("click", async (event) => {
  const link = event.target.closest("a[data-earlier]");
  if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
  event.preventDefault();
  const item = link.closest(".earlier");
  link.setAttribute("aria-busy", "true");
  let response;
  try {
    response = await fetch(link.href, {headers: {"HX-Request": "true"}, credentials: "same-origin"});
  } catch (err) {
    response = null;
  }
  if (!response || !response.ok) {
    window.location.assign(link.href);  // the page of the lines shows the reason
    return;
  }
  const lines = document.createElement("template");
  lines.innerHTML = await response.text();
  const last = lines.content.lastElementChild;
  item.replaceWith(lines.content);
  if (last) {  // keep the reader's place: the line just above the ones already shown
    last.setAttribute("tabindex", "-1");
    last.focus({preventScroll: true});
  }
});
