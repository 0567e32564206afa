// Contact and company lists: "select all" checkbox for bulk actions (works after htmx swaps too).
document.addEventListener("change", (event) => {
  const box = event.target.closest("[data-select-all]");
  if (!box) return;
  const form = box.closest("form");
  form?.querySelectorAll("input[name=ids]").forEach((item) => { item.checked = box.checked; });
});
