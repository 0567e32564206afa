// Project-wide behaviour. Keep it small: pages are server-rendered and use htmx.
document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  const box = document.createElement("div");
  box.className = "flash error";
  box.setAttribute("role", "alert");
  box.textContent = status === 403 ? "You may not do that." : `The request failed (${status}).`;
  document.querySelector("main.content")?.prepend(box);
  setTimeout(() => box.remove(), 6000);
});

// Confirmation before a destructive submit: <form data-confirm="Delete this contact?">, or on one submit button
// of a form: <button data-confirm="...">. The text is an HTML attribute (escaped by the template engine) read as
// data, never evaluated: no inline handlers anywhere.
document.addEventListener("submit", (event) => {
  const text = event.submitter?.dataset.confirm || event.target.closest("form[data-confirm]")?.dataset.confirm;
  if (text && !window.confirm(text)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

// <select data-sets-form-kind>: the form shows the fields of the chosen kind (CSS keys on form[data-kind]).
// <select data-submit-on-change>: submits its form when changed.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (!(field instanceof HTMLElement) || !field.form) return;
  if (field.hasAttribute("data-sets-form-kind")) field.form.dataset.kind = field.value;
  if (field.hasAttribute("data-submit-on-change")) field.form.requestSubmit();
});
