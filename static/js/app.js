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
