// Deal board: native HTML5 drag and drop of cards between stage columns.
// A drop POSTs to the move endpoint (CSRF header from <body hx-headers>); on success the column totals are
// replaced with the server's, on failure the card snaps back to where it was and the reason is shown.
(function () {
  const board = document.getElementById("board");
  if (!board) return;
  const moveUrl = board.dataset.moveUrl;
  let dragged = null;
  let origin = null;
  let originNext = null;

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  }

  function flash(text, kind) {
    const box = document.createElement("div");
    box.className = "flash" + (kind === "error" ? " error" : "");
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    box.dataset.testid = "board-message";
    box.textContent = text;
    document.querySelector("main.content")?.prepend(box);
    setTimeout(() => box.remove(), 6000);
  }

  function snapBack(card) {
    if (originNext && originNext.parentNode === origin) origin.insertBefore(card, originNext);
    else origin.appendChild(card);
  }

  board.addEventListener("dragstart", (event) => {
    const card = event.target.closest(".deal-card");
    if (!card) return;
    dragged = card;
    origin = card.parentNode;
    originNext = card.nextElementSibling;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.dealId);
    card.classList.add("dragging");
  });
  board.addEventListener("dragend", () => {
    dragged?.classList.remove("dragging");
    board.querySelectorAll(".drop-target").forEach((el) => el.classList.remove("drop-target"));
  });
  board.addEventListener("dragover", (event) => {
    const column = event.target.closest(".board-column");
    if (!column || !dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    board.querySelectorAll(".drop-target").forEach((el) => el !== column && el.classList.remove("drop-target"));
    column.classList.add("drop-target");
  });
  board.addEventListener("drop", (event) => {
    const column = event.target.closest(".board-column");
    if (!column || !dragged) return;
    event.preventDefault();
    column.classList.remove("drop-target");
    const card = dragged;
    dragged = null;
    if (column.querySelector("[data-dropzone]") === origin) return;
    let lostReason = "";
    if (column.dataset.lost === "1") {
      lostReason = window.prompt("Why was this deal lost?") || "";
      if (!lostReason.trim()) { flash("A lost deal needs a reason; the card was not moved.", "error"); return; }
    }
    column.querySelector("[data-dropzone]").prepend(card);
    move(card, column, lostReason);
  });

  async function move(card, column, lostReason) {
    const body = new URLSearchParams({ deal: card.dataset.dealId, stage: column.dataset.stageId, lost_reason: lostReason });
    const filters = document.getElementById("board-filters");
    if (filters) new FormData(filters).forEach((value, key) => { if (key !== "pipeline") body.append(key, value); });
    card.classList.add("saving");
    let response, data = {};
    try {
      response = await fetch(moveUrl, {
        method: "POST", body, credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" },
      });
      data = await response.json().catch(() => ({}));
    } catch (e) {
      response = { ok: false, status: 0 };
    }
    card.classList.remove("saving");
    if (!response.ok) {
      snapBack(card);
      const reason = data.detail || (response.status === 403 ? "You may not move this deal." : "The move failed.");
      flash(reason, "error");
      return;
    }
    for (const [stageId, html] of Object.entries(data.columns || {})) {
      const target = board.querySelector(`[data-totals-for="${stageId}"]`);
      if (target) target.innerHTML = html;
    }
    card.dataset.stageId = data.stage;
    flash("Deal moved.", "ok");
  }
})();
