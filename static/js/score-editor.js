// The score model editor: one row per scoring condition (a label, its points and a condition edited with the
// segment rule builder), kept in step with the "conditions" field (JSON, also editable under "Advanced"), and the
// server's errors shown at the row, the points or the condition node they name.
(function () {
  "use strict";
  const host = document.getElementById("score-rows");
  const configEl = document.getElementById("score-editor-config");
  if (!host || !configEl || !window.RuleBuilder) return;
  const config = JSON.parse(configEl.textContent);
  const field = document.getElementById("id_conditions");
  const form = document.getElementById("score-form");
  let rows = [];
  let uid = 0;

  const el = window.RuleBuilder.el;

  // A row edits its condition as a group: a lone condition is shown inside an "All of" group, and saved alone
  // again. `prefix` maps the server's paths under "condition" to the builder's paths.
  function toRow(item) {
    const c = item && typeof item === "object" ? item.condition : null;
    const isAll = c && c.type === "all";
    return {
      label: (item && item.label) || "", points: item && item.points !== undefined ? String(item.points) : "",
      tree: isAll ? c : { type: "all", conditions: c && c.type ? [c] : [] }, prefix: isAll ? "" : "conditions[0]",
    };
  }

  function toItem(row) {
    const t = row.tree;
    const condition = t.type === "all" && t.conditions.length === 1 ? t.conditions[0] : t;
    const points = row.points.trim() === "" || isNaN(Number(row.points)) ? row.points : Number(row.points);
    return { label: row.label, points: points, condition: condition };
  }

  function sync() { field.value = JSON.stringify(rows.map(toItem), null, 2); }

  function fieldError(text) { return el("span", { class: "field-error", role: "alert", text: text, "data-testid": "row-error" }); }

  function renderRow(row, i) {
    const box = el("section", { class: "score-row", "data-testid": "score-row", "aria-label": "Scoring condition " + (i + 1) });
    const head = el("div", { class: "score-row-head" });
    const labelId = "sr-label-" + (++uid);
    const label = el("input", { id: labelId, value: row.label, maxlength: 120, placeholder: "e.g. Viewed pricing", "data-testid": "row-label" });
    label.addEventListener("input", () => { row.label = label.value; sync(); });
    const pointsId = "sr-points-" + (++uid);
    const points = el("input", { id: pointsId, value: row.points, type: "number", step: "0.01", required: true, class: "points", "data-testid": "row-points" });
    points.addEventListener("input", () => { row.points = points.value; sync(); });
    head.appendChild(el("span", { class: "score-row-number", text: "#" + (i + 1) }));
    head.appendChild(el("label", { for: labelId, text: "Label" }));
    head.appendChild(label);
    head.appendChild(el("label", { for: pointsId, text: "Points" }));
    head.appendChild(points);
    const remove = el("button", { type: "button", class: "linkbutton", text: "Remove row", "data-testid": "remove-row" });
    remove.addEventListener("click", () => { rows.splice(i, 1); render([]); });
    head.appendChild(remove);
    box.appendChild(head);
    row.errorsAt = { label: head, points: head, row: box };
    const builderRoot = el("div", { class: "score-row-rule" });
    box.appendChild(builderRoot);
    row.builder = window.RuleBuilder(builderRoot, {
      catalog: config.catalog, suggestUrl: config.suggest_url, tree: row.tree,
      onChange: (tree) => { row.tree = tree; sync(); },
    });
    return box;
  }

  // errors: [{path: "conditions[2].points" | "conditions[0].condition.where[0].op" | ..., message}]
  function showErrors(errors) {
    const byRow = {};
    (errors || []).forEach((err) => {
      const m = /^conditions\[(\d+)\](?:\.(label|points|condition))?(.*)$/.exec(err.path || "");
      if (!m || !rows[Number(m[1])]) return;
      (byRow[m[1]] = byRow[m[1]] || []).push({ part: m[2] || "row", rest: m[3] || "", message: err.message });
    });
    rows.forEach((row, i) => {
      const mine = byRow[i] || [];
      row.builder.showErrors(mine.filter((e) => e.part === "condition").map((e) => {
        const rest = e.rest.replace(/^\./, "");
        return { path: row.prefix && rest ? row.prefix + "." + rest : row.prefix || rest, message: e.message };
      }));
      mine.filter((e) => e.part !== "condition").forEach((e) => {
        const where = row.errorsAt[e.part];
        where.appendChild(fieldError((e.part === "row" ? "" : (e.part === "points" ? "Points: " : "Label: ")) + e.message));
      });
    });
  }

  function render(errors, keepField) {
    host.replaceChildren();
    rows.forEach((row, i) => host.appendChild(renderRow(row, i)));
    if (!rows.length) host.appendChild(el("p", { class: "muted", text: "No scoring condition yet: add one." }));
    if (!keepField) sync();
    showErrors(errors);
  }

  document.getElementById("add-score-row").addEventListener("click", () => {
    rows.push(toRow({ label: "", points: 10, condition: {
      type: "event", event: "", count: { op: "at_least", value: 1 }, window: { kind: "last_days", days: 30 }, where: [] } }));
    render([]);
    const labels = host.querySelectorAll("[data-testid=row-label]");
    labels[labels.length - 1].focus();
  });

  // The advanced JSON: a valid list typed or pasted there replaces the rows.
  field.addEventListener("change", () => {
    try {
      const parsed = JSON.parse(field.value);
      if (Array.isArray(parsed)) { rows = parsed.map(toRow); render([]); }
    } catch (e) { /* left as typed: the server names the JSON error */ }
  });
  form.addEventListener("submit", sync);

  rows = (Array.isArray(config.conditions) ? config.conditions : []).map(toRow);
  // Conditions that were not valid JSON stay as typed (under "Advanced", opened by the page) until edited.
  render(config.errors || [], config.invalid_json);
})();
