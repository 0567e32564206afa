// The rule builder: edits a rule tree (nested groups of conditions) and shows validation errors at their node.
// window.RuleBuilder(root, options) mounts one builder (the segment page has one, the score model editor one per
// scoring condition); below it, the segment page keeps its hidden "definition" field in step and asks the server
// for a live count and sample (debounced).
(function () {
  "use strict";
  let uid = 0; // unique element ids across every builder of the page

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === "text") node.textContent = v;
      else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
    });
    (children || []).forEach((c) => c && node.appendChild(c));
    return node;
  }

  // options: catalog (operators, CRM values), suggestUrl, tree (a group), onChange(tree) after every edit.
  function RuleBuilder(root, options) {
    const cat = options.catalog;
    const config = { suggest_url: options.suggestUrl };
    let tree = options.tree && options.tree.type ? options.tree : { type: "all", conditions: [] };

    const KINDS = {
      trait: "Profile trait", event: "Performed event", deal: "Has a deal", contact: "CRM contact",
      company: "Company", tickets: "Tickets", segment: "In segment", sequence: "Sequence (A then B)",
      event_time: "First/last time of an event",
    };
    const DEFAULTS = {
      trait: () => ({ type: "trait", source: "profile", key: "", value_type: "string", op: "equals", value: "" }),
      event: () => ({ type: "event", event: "", count: { op: "at_least", value: 1 }, window: { kind: "last_days", days: 30 }, where: [] }),
      deal: () => ({ type: "deal", has: true, where: [{ field: "status", op: "equals", value: "open" }] }),
      contact: () => ({ type: "contact", field: "lifecycle_stage", op: "equals", value: (cat.lifecycle[0] || [""])[0] }),
      company: () => ({ type: "company", where: [{ field: "industry", op: "equals", value: "" }] }),
      tickets: () => ({ type: "tickets", status: "open", priority: ["urgent"], count: { op: "exactly", value: 0 } }),
      segment: () => ({ type: "segment", segment: (cat.segments[0] || { id: 0 }).id, member: true }),
      sequence: () => ({ type: "sequence", first: { event: "Cart Viewed" }, then: { event: "Order Completed" }, within_days: 1, then_performed: false }),
      event_time: () => ({ type: "event_time", event: "", which: "last", op: "within_last_days", value: 30 }),
    };

    function labelled(text, control) {
      const id = "rb-" + (++uid);
      control.id = id;
      return el("span", { class: "rb-field" }, [el("label", { for: id, class: "visually-hidden", text: text }), control]);
    }

    function select(options, value, onChange, name) {
      const s = el("select", { "data-rb": name || "" });
      options.forEach(([v, l]) => {
        const o = el("option", { value: v, text: l });
        if (String(v) === String(value)) o.selected = true;
        s.appendChild(o);
      });
      // An onChange returning false only records a choice (the kind of condition to add): no re-render, which
      // would put the select back to its first option.
      s.addEventListener("change", () => { if (onChange(s.value) !== false) changed(true); });
      return s;
    }

    function input(value, onChange, attrs) {
      const i = el("input", Object.assign({ value: value === undefined || value === null ? "" : value }, attrs || {}));
      i.addEventListener("input", () => { onChange(i.value); changed(false); });
      return i;
    }

    function suggestList(kind, extra) {
      const id = "rb-list-" + (++uid);
      const list = el("datalist", { id: id });
      const params = new URLSearchParams(Object.assign({ kind: kind }, extra || {}));
      fetch(config.suggest_url + "?" + params.toString(), { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : { values: [] }))
        .then((data) => (data.values || []).forEach((v) => list.appendChild(el("option", { value: v }))))
        .catch(() => {});
      return list;
    }

    function operatorOptions(type) {
      return Object.entries(cat.operators[type] || {});
    }

    function valueEditor(node, type, host) {
      // node has op/value; renders the value control(s) the operator needs.
      const op = node.op;
      if (["is_set", "not_set", "is_true", "is_false"].includes(op)) { delete node.value; return; }
      if (op === "within_last_days" || op === "within_next_days") {
        if (typeof node.value !== "number") node.value = 30;
        host.appendChild(labelled("Days", input(node.value, (v) => { node.value = parseInt(v, 10) || 0; }, { type: "number", min: 1, "data-rb": "days" })));
        host.appendChild(el("span", { text: "days" }));
        return;
      }
      if (op === "between") {
        if (!Array.isArray(node.value)) node.value = ["", ""];
        const t = type === "number" ? "number" : "date";
        host.appendChild(labelled("From", input(node.value[0], (v) => { node.value[0] = t === "number" ? Number(v) : v; }, { type: t })));
        host.appendChild(el("span", { text: "and" }));
        host.appendChild(labelled("To", input(node.value[1], (v) => { node.value[1] = t === "number" ? Number(v) : v; }, { type: t })));
        return;
      }
      if (op === "in" || op === "not_in") {
        if (!Array.isArray(node.value)) node.value = node.value ? [String(node.value)] : [];
        host.appendChild(labelled("Values (comma separated)", input(node.value.join(", "), (v) => {
          node.value = v.split(",").map((x) => x.trim()).filter((x) => x !== "");
        }, { placeholder: "a, b, c", "data-rb": "value" })));
        return;
      }
      const attrs = { "data-rb": "value" };
      if (type === "number") attrs.type = "number";
      if (type === "date") attrs.type = "date";
      host.appendChild(labelled("Value", input(node.value, (v) => { node.value = type === "number" && v !== "" ? Number(v) : v; }, attrs)));
    }

    function typedRow(node, host, keyLabel) {
      const type = node.value_type || "string";
      host.appendChild(labelled(keyLabel + " type", select([["string", "text"], ["number", "number"], ["date", "date"], ["boolean", "yes/no"]], type, (v) => {
        node.value_type = v; node.op = Object.keys(cat.operators[v])[0]; delete node.value;
      }, "value-type")));
      host.appendChild(labelled("Operator", select(operatorOptions(type), node.op, (v) => { node.op = v; }, "op")));
      valueEditor(node, type, host);
    }

    function renderCondition(node, path, parent, index) {
      const box = el("div", { class: "rb-cond", "data-path": path, "data-testid": "condition" });
      box.appendChild(el("strong", { text: KINDS[node.type] || node.type }));
      if (node.type === "trait") {
        box.appendChild(labelled("Trait source", select([["profile", "trait"], ["computed", "computed trait"], ["account", "account trait"]], node.source || "profile", (v) => { node.source = v; }, "source")));
        const list = suggestList(node.source === "profile" || !node.source ? "trait" : node.source);
        box.appendChild(list);
        box.appendChild(labelled("Trait key", input(node.key, (v) => { node.key = v; }, { list: list.id, placeholder: "trait key", "data-rb": "key" })));
        typedRow(node, box, "Trait");
      } else if (node.type === "event" || node.type === "event_time") {
        const list = suggestList("event");
        box.appendChild(list);
        box.appendChild(labelled("Event name", input(node.event, (v) => { node.event = v; }, { list: list.id, placeholder: "event name", "data-rb": "event" })));
        if (node.type === "event") {
          node.count = node.count || { op: "at_least", value: 1 };
          box.appendChild(labelled("How often", select(Object.entries(cat.count_ops), node.count.op, (v) => { node.count.op = v; }, "count-op")));
          box.appendChild(labelled("Times", input(node.count.value, (v) => { node.count.value = parseInt(v, 10) || 0; }, { type: "number", min: 0, "data-rb": "count" })));
          box.appendChild(el("span", { text: "times" }));
          node.window = node.window || { kind: "ever" };
          box.appendChild(labelled("When", select([["last_days", "in the last N days"], ["ever"], ["between", "between dates"]].map((o) => [o[0], o[1] || "ever"]), node.window.kind, (v) => {
            node.window = v === "last_days" ? { kind: v, days: 30 } : v === "between" ? { kind: v, from: "", to: "" } : { kind: "ever" };
          }, "window")));
          if (node.window.kind === "last_days") {
            box.appendChild(labelled("Days", input(node.window.days, (v) => { node.window.days = parseInt(v, 10) || 0; }, { type: "number", min: 1, "data-rb": "window-days" })));
          } else if (node.window.kind === "between") {
            box.appendChild(labelled("From", input(node.window.from, (v) => { node.window.from = v; }, { type: "date" })));
            box.appendChild(labelled("To", input(node.window.to, (v) => { node.window.to = v; }, { type: "date" })));
          }
        } else {
          box.appendChild(labelled("First or last", select([["first", "first time"], ["last", "last time"]], node.which, (v) => { node.which = v; })));
          box.appendChild(labelled("Operator", select(operatorOptions("date").filter(([k]) => !["is_set", "not_set"].includes(k)), node.op, (v) => { node.op = v; })));
          valueEditor(node, "date", box);
        }
        node.where = node.where || [];
        node.where.forEach((f, i) => {
          const row = el("span", { class: "rb-filter", "data-path": path + ".where[" + i + "]" });
          const plist = suggestList("property", { event: node.event || "" });
          row.appendChild(el("span", { text: "where" }));
          row.appendChild(plist);
          row.appendChild(labelled("Property", input(f.property, (v) => { f.property = v; }, { list: plist.id, placeholder: "property", "data-rb": "property" })));
          typedRow(f, row, "Property");
          const rm = el("button", { type: "button", class: "linkbutton", text: "remove filter" });
          rm.addEventListener("click", () => { node.where.splice(i, 1); changed(true); });
          row.appendChild(rm);
          box.appendChild(row);
        });
        const addFilter = el("button", { type: "button", class: "linkbutton", text: "+ property filter" });
        addFilter.addEventListener("click", () => { node.where.push({ property: "", value_type: "string", op: "equals", value: "" }); changed(true); });
        box.appendChild(addFilter);
      } else if (node.type === "deal") {
        box.appendChild(labelled("Has or has not", select([["true", "has a deal"], ["false", "has no deal"]], String(node.has !== false), (v) => { node.has = v === "true"; }, "deal-has")));
        node.where = node.where || [];
        const stageOptions = [];
        cat.pipelines.forEach((p) => p.stages.forEach((s) => stageOptions.push([String(s.id), p.name + " › " + s.name])));
        node.where.forEach((f, i) => {
          const row = el("span", { class: "rb-filter", "data-path": path + ".where[" + i + "]" });
          row.appendChild(labelled("Deal field", select([["stage", "stage"], ["pipeline", "pipeline"], ["status", "status"], ["amount", "amount"], ["close_date", "close date"]], f.field, (v) => {
            f.field = v; f.op = v === "amount" ? "gte" : v === "close_date" ? "within_next_days" : "equals";
            f.value = v === "stage" ? (stageOptions[0] || [""])[0] : v === "pipeline" ? String((cat.pipelines[0] || {}).id || "") : v === "status" ? "open" : v === "amount" ? 0 : 30;
          }, "deal-field")));
          if (f.field === "stage" || f.field === "pipeline" || f.field === "status") {
            row.appendChild(labelled("Is", select([["equals", "is"], ["not_equals", "is not"]], f.op, (v) => { f.op = v; })));
            const opts = f.field === "stage" ? stageOptions : f.field === "pipeline" ? cat.pipelines.map((p) => [String(p.id), p.name]) : cat.deal_statuses;
            row.appendChild(labelled("Deal " + f.field, select(opts, f.value, (v) => { f.value = v; }, "deal-value")));
          } else {
            const type = f.field === "amount" ? "number" : "date";
            f.value_type = type;
            row.appendChild(labelled("Operator", select(operatorOptions(type), f.op, (v) => { f.op = v; })));
            valueEditor(f, type, row);
          }
          const rm = el("button", { type: "button", class: "linkbutton", text: "remove" });
          rm.addEventListener("click", () => { node.where.splice(i, 1); changed(true); });
          row.appendChild(rm);
          box.appendChild(row);
        });
        const add = el("button", { type: "button", class: "linkbutton", text: "+ deal filter", "data-testid": "add-deal-filter" });
        add.addEventListener("click", () => { node.where.push({ field: "stage", op: "equals", value: (stageOptions[0] || [""])[0] }); changed(true); });
        box.appendChild(add);
      } else if (node.type === "contact") {
        box.appendChild(labelled("Contact field", select([["lifecycle_stage", "lifecycle stage"], ["owner", "owner"], ["tags", "tags"], ["custom", "custom field"]], node.field, (v) => {
          node.field = v; node.op = v === "tags" ? "contains" : "equals"; node.value = v === "lifecycle_stage" ? cat.lifecycle[0][0] : v === "owner" ? String((cat.owners[0] || [""])[0]) : "";
          if (v === "custom") { node.key = (cat.contact_custom[0] || {}).key || ""; node.value_type = "string"; }
        }, "contact-field")));
        if (node.field === "lifecycle_stage") {
          box.appendChild(labelled("Is", select([["equals", "is"], ["not_equals", "is not"]], node.op, (v) => { node.op = v; })));
          box.appendChild(labelled("Stage", select(cat.lifecycle, node.value, (v) => { node.value = v; })));
        } else if (node.field === "owner") {
          box.appendChild(labelled("Is", select([["equals", "is"], ["not_equals", "is not"], ["is_set", "is set"], ["not_set", "is not set"]], node.op, (v) => { node.op = v; })));
          if (node.op === "equals" || node.op === "not_equals") box.appendChild(labelled("Owner", select(cat.owners.map(([i, n]) => [String(i), n]), node.value, (v) => { node.value = v; })));
          else delete node.value;
        } else if (node.field === "tags") {
          const list = suggestList("tag");
          box.appendChild(list);
          box.appendChild(labelled("Operator", select([["contains", "include"], ["not_contains", "do not include"], ["is_set", "are not empty"], ["not_set", "are empty"]], node.op, (v) => { node.op = v; })));
          if (node.op === "contains" || node.op === "not_contains") box.appendChild(labelled("Tag", input(node.value, (v) => { node.value = v; }, { list: list.id })));
          else delete node.value;
        } else {
          box.appendChild(labelled("Custom field key", input(node.key, (v) => { node.key = v; }, { placeholder: "key" })));
          typedRow(node, box, "Field");
        }
      } else if (node.type === "tickets") {
        node.count = node.count || { op: "exactly", value: 0 };
        box.appendChild(labelled("How many", select(Object.entries(cat.count_ops), node.count.op, (v) => { node.count.op = v; })));
        box.appendChild(labelled("Number", input(node.count.value, (v) => { node.count.value = parseInt(v, 10) || 0; }, { type: "number", min: 0 })));
        box.appendChild(labelled("Status", select([["open", "open"], ["any", "any status"], ["solved", "solved"], ["closed", "closed"]], node.status || "open", (v) => { node.status = v; })));
        box.appendChild(labelled("Priority", select([["", "any priority"]].concat(cat.ticket_priorities.map((p) => [p, p])), (node.priority || [])[0] || "", (v) => { node.priority = v ? [v] : []; })));
      } else if (node.type === "segment") {
        box.appendChild(labelled("Member or not", select([["true", "is in"], ["false", "is not in"]], String(node.member !== false), (v) => { node.member = v === "true"; })));
        box.appendChild(labelled("Segment", select(cat.segments.map((s) => [String(s.id), s.name]), node.segment, (v) => { node.segment = parseInt(v, 10); })));
      } else {
        const area = el("textarea", { rows: 4, cols: 50, "data-rb": "json" });
        area.value = JSON.stringify(node, null, 1);
        area.addEventListener("input", () => {
          try { parent.conditions[index] = JSON.parse(area.value); changed(false); } catch (e) { /* keep typing */ }
        });
        box.appendChild(labelled("Condition (JSON)", area));
      }
      const remove = el("button", { type: "button", class: "linkbutton", text: "Remove", "data-testid": "remove-condition" });
      remove.addEventListener("click", () => { parent.conditions.splice(index, 1); changed(true); });
      box.appendChild(remove);
      return box;
    }

    function renderGroup(node, path, parent, index) {
      const box = el("div", { class: "rb-group rb-" + node.type, "data-path": path, "data-testid": "group" });
      const head = el("div", { class: "rb-toolbar" });
      head.appendChild(labelled("Match", select([["all", "All of"], ["any", "Any of"], ["none", "None of"]], node.type, (v) => { node.type = v; }, "group-type")));
      if (parent) {
        const rm = el("button", { type: "button", class: "linkbutton", text: "Remove group" });
        rm.addEventListener("click", () => { parent.conditions.splice(index, 1); changed(true); });
        head.appendChild(rm);
      }
      box.appendChild(head);
      node.conditions = node.conditions || [];
      node.conditions.forEach((child, i) => {
        const childPath = (path ? path + "." : "") + "conditions[" + i + "]";
        box.appendChild(["all", "any", "none"].includes(child && child.type)
          ? renderGroup(child, childPath, node, i) : renderCondition(child || {}, childPath, node, i));
      });
      const bar = el("div", { class: "rb-toolbar" });
      const kind = select(Object.entries(KINDS), "trait", () => false, "new-kind");
      bar.appendChild(labelled("Condition kind", kind));
      const add = el("button", { type: "button", class: "button", text: "Add condition", "data-testid": "add-condition" });
      add.addEventListener("click", () => { node.conditions.push(DEFAULTS[kind.value]()); changed(true); });
      bar.appendChild(add);
      const addGroup = el("button", { type: "button", class: "button", text: "Add group" });
      addGroup.addEventListener("click", () => { node.conditions.push({ type: "any", conditions: [] }); changed(true); });
      bar.appendChild(addGroup);
      box.appendChild(bar);
      return box;
    }

    function render() {
      root.replaceChildren(renderGroup(tree, "", null, 0));
    }

    function showErrors(errors) {
      root.querySelectorAll(".rb-error").forEach((e) => e.remove());
      root.querySelectorAll(".rb-invalid").forEach((e) => e.classList.remove("rb-invalid"));
      (errors || []).forEach((err) => {
        const path = (err.path || "").replace(/^definition\.?/, "");
        let best = root.querySelector('[data-path=""]');
        root.querySelectorAll("[data-path]").forEach((n) => {
          const p = n.getAttribute("data-path");
          if (p && (path === p || path.startsWith(p + ".")) && p.length >= (best.getAttribute("data-path") || "").length) best = n;
        });
        best.classList.add("rb-invalid");
        best.appendChild(el("span", { class: "rb-error", role: "alert", text: err.message, "data-testid": "node-error" }));
      });
    }

    function changed(rerender) {
      if (rerender) render();
      options.onChange(tree);
    }

    render();
    return { render: render, showErrors: showErrors, tree: () => tree };
  }
  RuleBuilder.el = el; // the element helper, for the pages that mount builders
  window.RuleBuilder = RuleBuilder;

  // --- the segment page ---
  const root = document.getElementById("rule-builder");
  const configEl = document.getElementById("builder-config");
  if (!root || !configEl) return;
  const config = JSON.parse(configEl.textContent);
  const field = document.getElementById("definition");
  const form = document.getElementById("segment-form");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  let builder = null;
  let timer = null;
  let seq = 0;
  function preview() {
    const mine = ++seq;
    const status = document.getElementById("preview-status");
    status.textContent = "Counting…";
    fetch(config.preview_url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ definition: builder.tree() }),
    }).then((r) => r.json().then((data) => ({ ok: r.ok, data: data }))).then(({ ok, data }) => {
      if (mine !== seq) return; // a newer rule was sent meanwhile
      const sample = document.getElementById("preview-sample");
      sample.replaceChildren();
      if (!ok) {
        document.getElementById("preview-count").textContent = "–";
        status.textContent = data.error === "invalid_rule" ? "Fix the highlighted conditions." : data.detail || "Cannot count.";
        builder.showErrors(data.errors || []);
        return;
      }
      builder.showErrors([]);
      status.textContent = "";
      document.getElementById("preview-count").textContent = data.count.toLocaleString();
      data.sample.forEach((p) => sample.appendChild(el("li", {}, [el("a", { href: p.url, text: p.name })])));
    }).catch(() => { if (mine === seq) status.textContent = "Preview unavailable."; });
  }

  function changed(tree) {
    field.value = JSON.stringify(tree);
    clearTimeout(timer);
    timer = setTimeout(preview, 400);
  }

  builder = RuleBuilder(root, { catalog: config.catalog, suggestUrl: config.suggest_url, tree: config.definition, onChange: changed });
  field.value = JSON.stringify(builder.tree());
  form.addEventListener("submit", () => { field.value = JSON.stringify(builder.tree()); });
  builder.showErrors(config.errors || []);
  preview();
})();
