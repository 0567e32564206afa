// Support pages: insert a canned response into the reply box, select-all checkboxes, auto-submitting filters.
document.addEventListener("change", (event) => {
  const target = event.target;
  if (target.matches("select[data-canned-target]")) {
    const option = target.selectedOptions[0];
    const box = document.getElementById(target.dataset.cannedTarget);
    if (option && option.dataset.text && box) {
      box.value = box.value ? `${box.value}\n\n${option.dataset.text}` : option.dataset.text;
      box.focus();
    }
    target.value = "";
  } else if (target.matches("input[data-check-all]")) {
    const form = target.closest("form");
    form.querySelectorAll(`input[name="${target.dataset.checkAll}"]`).forEach((box) => { box.checked = target.checked; });
  } else if (target.matches("select[data-autosubmit]")) {
    target.form.requestSubmit();
  }
});
