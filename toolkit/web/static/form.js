/* 申报工具箱 · the form page.
 *
 * window.Shenbao.mountForm(element, view, data, options) draws a form from its view (toolkit/web/form_view.py) and
 * answers {collect(), fill(data), showFindings(findings)}. Numbers keep the digits as typed: they are held as
 * Shenbao.Decimal and written into the JSON text as they are (Shenbao.stringify), never through a float.
 * On the form page (#form-app) it also wires the live check, downloads, drafts, import and submission to the API.
 * Every value is put on the page as text (textContent, attributes), never as HTML.
 */
(() => {
  "use strict";

  // --- exact numbers ---------------------------------------------------------------------------------------

  /** A number as typed ("1008.20"): written into JSON as these digits. */
  class Decimal {
    constructor(text) { this.text = String(text); }
    toJSON() { return Number(this.text); }
    toString() { return this.text; }
  }

  const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
  const WIDE = { "０": "0", "１": "1", "２": "2", "３": "3", "４": "4", "５": "5", "６": "6", "７": "7", "８": "8",
    "９": "9", "．": ".", "－": "-", "—": "-", "，": ",", "＋": "+", "。": "." };

  /** The JSON digits of what was typed ("１,008.20" → "1008.20"), or null when it is not a number. */
  function normalNumber(typed) {
    let text = String(typed).trim().replace(/[０-９．－—，＋。]/g, (c) => WIDE[c]).replace(/[\s,\u00a0]/g, "");
    if (text.startsWith("+")) text = text.slice(1);
    text = text.replace(/^(-?)0+(?=\d)/, "$1");       // 007 → 7
    text = text.replace(/^(-?)\./, "$10.");            // .5 → 0.5
    text = text.replace(/\.(?=$|[eE])/, "");           // 5. → 5
    return NUMBER.test(text) ? text : null;
  }

  /** JSON text of a value whose numbers may be Decimal (their digits written as they are). */
  function stringify(value, indent = "", step = "") {
    if (value instanceof Decimal) return value.text;
    if (value === null || value === undefined) return "null";
    if (Array.isArray(value)) {
      if (!value.length) return "[]";
      const inner = indent + step;
      const items = value.map((v) => stringify(v, inner, step));
      return step ? `[\n${inner}${items.join(`,\n${inner}`)}\n${indent}]` : `[${items.join(",")}]`;
    }
    if (typeof value === "object") {
      const keys = Object.keys(value).filter((k) => value[k] !== undefined);
      if (!keys.length) return "{}";
      const inner = indent + step;
      const items = keys.map((k) => `${JSON.stringify(k)}:${step ? " " : ""}${stringify(value[k], inner, step)}`);
      return step ? `{\n${inner}${items.join(`,\n${inner}`)}\n${indent}}` : `{${items.join(",")}}`;
    }
    return JSON.stringify(value);
  }

  /** JSON text parsed with its numbers as Decimal where the browser tells their source text. */
  function parseExact(text) {
    return JSON.parse(text, function revive(key, value, context) {
      if (typeof value === "number" && context && typeof context.source === "string") return new Decimal(context.source);
      return value;
    });
  }

  // --- building the page -----------------------------------------------------------------------------------

  let serial = 0;
  const nextId = (stem) => `${stem}-${++serial}`;

  /** An element with attributes and children (strings become text, never HTML). */
  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const SEVERITY = { error: "错误", warning: "提醒" };

  function clauseChip(clause) {
    return clause ? el("span", { class: "clause", text: `依据 ${clause}` }) : null;
  }

  function requiredMark(node) {
    return node.required ? el("abbr", { class: "required", title: "必填", "aria-hidden": "true", text: "*" }) : null;
  }

  function blank(value) {
    return value === undefined || value === null || (typeof value === "string" && value.trim() === "");
  }

  /** What every part of the form shares: a place for the findings about it. */
  class Part {
    constructor(node) {
      this.node = node;
      this.findingBox = null;
      this.invalidTargets = [];
    }
    locate() { return this; }
    /** Where findings about this part go (created when the first one comes). */
    findingsList() {
      if (!this.findingBox) {
        this.findingBox = el("ul", { class: "findings", id: nextId("findings") });
        this.anchor().after(this.findingBox);
        for (const target of this.invalidTargets) {
          const described = (target.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
          target.setAttribute("aria-describedby", [...described, this.findingBox.id].join(" "));
        }
      }
      return this.findingBox;
    }
    addFinding(finding, exact) {
      const list = this.findingsList();
      const item = el("li", { class: finding.severity === "error" ? "error" : "warning" },
        el("span", { class: "severity", text: SEVERITY[finding.severity] || "提醒" }),
        exact ? null : el("span", { class: "where", text: `${finding.title}：` }),
        el("span", { class: "text", text: finding.message }),
        finding.clause ? el("span", { class: "clause", text: `（${finding.clause}）` }) : null);
      list.append(item);
      list.hidden = false;
      if (finding.severity === "error") for (const target of this.invalidTargets) target.setAttribute("aria-invalid", "true");
      this.element.classList.add(finding.severity === "error" ? "has-error" : "has-warning");
    }
    clearFindings() {
      if (this.findingBox) {
        this.findingBox.replaceChildren();
        this.findingBox.hidden = true;
      }
      for (const target of this.invalidTargets) target.removeAttribute("aria-invalid");
      this.element.classList.remove("has-error", "has-warning");
    }
    focus() {
      const target = this.invalidTargets[0] || this.element.querySelector("input, select, textarea, button");
      this.element.scrollIntoView({ block: "center", behavior: "smooth" });
      if (target) target.focus({ preventScroll: true });
    }
    isBlank() { return blank(this.get()); }
  }

  /** A value typed or chosen in one control: text, long text, date, number, money, enum. */
  class Leaf extends Part {
    constructor(node, label, context) {
      super(node);
      const id = nextId("field");
      const helpId = node.help ? nextId("help") : null;
      this.input = this.control(node, id);
      if (helpId) this.input.setAttribute("aria-describedby", helpId);
      if (node.required) this.input.setAttribute("aria-required", "true");
      this.invalidTargets = [this.input];
      this.labelText = el("span", { class: "label-text", text: label });
      const unit = node.unit && ["number", "integer", "money"].includes(node.kind) ? node.unit : "";
      const box = unit ? el("div", { class: "with-unit" }, this.input, el("span", { class: "unit", "aria-hidden": "true", text: unit })) : this.input;
      this.help = helpId ? el("p", { class: "help", id: helpId, text: node.help }) : null;
      this.element = el("div", { class: `field kind-${node.kind}` },
        el("div", { class: "field-label" },
          el("label", { for: id }, this.labelText, requiredMark(node)),
          node.clause !== context.clause ? clauseChip(node.clause) : null),
        el("div", { class: "field-input" }, box, this.help));
      if (node.const !== undefined) {
        this.input.value = node.const;
        this.input.readOnly = true;
      }
    }
    anchor() { return this.help || this.input.closest(".with-unit") || this.input; }
    control(node, id) {
      switch (node.kind) {
        case "long-text":
          return el("textarea", { id, name: id, rows: 5, spellcheck: "true" });
        case "date":
          return el("input", { id, name: id, type: "date", min: "1900-01-01", max: "2100-12-31" });
        case "number": case "integer": case "money":
          return el("input", { id, name: id, type: "text", inputmode: node.kind === "integer" ? "numeric" : "decimal",
            autocomplete: "off", class: "number", onblur: () => this.tidy() });
        case "enum": {
          const select = el("select", { id, name: id }, el("option", { value: "", text: "请选择…" }));
          for (const option of node.options || []) select.append(el("option", { value: option, text: option }));
          return select;
        }
        default: {
          const phone = node.format === "cn-phone";
          return el("input", { id, name: id, type: phone ? "tel" : "text", inputmode: phone ? "tel" : undefined,
            autocomplete: "off", spellcheck: node.format === "uscc" ? "false" : undefined,
            class: node.format === "uscc" ? "code" : undefined });
        }
      }
    }
    /** A number as typed, tidied when it is one: full-width digits and thousands separators go. */
    tidy() {
      const normal = normalNumber(this.input.value);
      if (normal !== null && normal !== this.input.value) this.input.value = normal;
    }
    get() {
      if (this.node.const !== undefined) return this.node.const;
      const value = this.input.value;
      if (value.trim() === "") return undefined;
      if (["number", "integer", "money"].includes(this.node.kind)) {
        const normal = normalNumber(value);
        return normal === null ? value.trim() : new Decimal(normal);  // not a number: the check says so
      }
      return this.node.kind === "long-text" ? value : value.trim();
    }
    set(value) {
      if (this.node.const !== undefined) return;
      if (this.node.kind === "date" && this.input.type === "text" && (blank(value) || /^\d{4}-\d{2}-\d{2}$/.test(value))) {
        this.input.type = "date";
      }
      if (this.node.kind === "date" && !blank(value) && !/^\d{4}-\d{2}-\d{2}$/.test(String(value))) {
        this.input.type = "text";  // not a date the picker takes: shown as it is, and the check says why
      }
      if (this.node.kind === "enum") {
        const text = blank(value) ? "" : String(value);
        if (text && ![...this.input.options].some((o) => o.value === text)) {
          this.input.append(el("option", { value: text, text: `${text}（不在可选项中）` }));
        }
        this.input.value = text;
        return;
      }
      this.input.value = blank(value) ? "" : (typeof value === "object" && !(value instanceof Decimal) ? stringify(value) : String(value));
    }
    isBlank() { return this.node.const !== undefined || this.input.value.trim() === ""; }
  }

  /** 是 / 否. */
  class Choice extends Part {
    constructor(node, label, context) {
      super(node);
      const name = nextId("yesno");
      const helpId = node.help ? nextId("help") : null;
      this.yes = el("input", { type: "radio", name, value: "true", id: `${name}-yes` });
      this.no = el("input", { type: "radio", name, value: "false", id: `${name}-no` });
      this.invalidTargets = [this.yes, this.no];
      this.help = helpId ? el("p", { class: "help", id: helpId, text: node.help }) : null;
      const labelId = nextId("label");
      this.labelText = el("span", { class: "label-text", text: label });
      this.group = el("div", { class: "options yes-no", role: "radiogroup", "aria-labelledby": labelId,
        "aria-describedby": helpId, "aria-required": node.required ? "true" : undefined },
        el("label", { class: "option", for: this.yes.id }, this.yes, " 是"),
        el("label", { class: "option", for: this.no.id }, this.no, " 否"));
      this.element = el("div", { class: "field kind-boolean" },
        el("div", { class: "field-label", id: labelId }, this.labelText, requiredMark(node),
          node.clause !== context.clause ? clauseChip(node.clause) : null),
        el("div", { class: "field-input" }, this.group, this.help));
    }
    anchor() { return this.help || this.group; }
    get() { return this.yes.checked ? true : this.no.checked ? false : undefined; }
    set(value) {
      this.yes.checked = value === true || value === "是" || value === "true";
      this.no.checked = value === false || value === "否" || value === "false";
    }
  }

  /** ☑ several of a list of options (an array of an enum). */
  class Choices extends Part {
    constructor(node, label, context) {
      super(node);
      const helpId = node.help ? nextId("help") : null;
      this.boxes = [];
      this.picked = [];
      this.group = el("div", { class: "options choices" });
      for (const option of node.options || []) this.addBox(option, option);
      this.help = helpId ? el("p", { class: "help", id: helpId, text: node.help }) : null;
      const labelId = nextId("label");
      this.group.setAttribute("role", "group");
      this.group.setAttribute("aria-labelledby", labelId);
      if (helpId) this.group.setAttribute("aria-describedby", helpId);
      this.labelText = el("span", { class: "label-text", text: label });
      this.element = el("div", { class: "field kind-choices" },
        el("div", { class: "field-label", id: labelId }, this.labelText, requiredMark(node),
          el("span", { class: "muted hint", text: "（可多选）" }),
          node.clause !== context.clause ? clauseChip(node.clause) : null),
        el("div", { class: "field-input" }, this.group, this.help));
    }
    addBox(value, text) {
      const id = nextId("choice");
      const box = el("input", { type: "checkbox", id, value, onchange: () => {
        this.picked = this.picked.filter((v) => v !== value);
        if (box.checked) this.picked.push(value);  // in the order chosen (a loaded draft keeps its own)
      } });
      this.boxes.push(box);
      this.invalidTargets = this.boxes;
      this.group.append(el("label", { class: "option", for: id }, box, ` ${text}`));
    }
    anchor() { return this.help || this.group; }
    get() {
      const checked = new Set(this.boxes.filter((b) => b.checked).map((b) => b.value));
      const chosen = [...this.picked.filter((v) => checked.has(v)),
        ...[...checked].filter((v) => !this.picked.includes(v))];
      return chosen.length ? chosen : undefined;
    }
    set(value) {
      const wanted = Array.isArray(value) ? value.map(String) : [];
      for (const text of wanted) {
        if (!this.boxes.some((b) => b.value === text)) this.addBox(text, `${text}（不在可选项中）`);
      }
      for (const box of this.boxes) box.checked = wanted.includes(box.value);
      this.picked = [...new Set(wanted)];
    }
  }

  /** A section or a group of fields: a fieldset with its legend, help and the parts inside. */
  class Group extends Part {
    constructor(node, label, context, depth, tag = "fieldset") {
      super(node);
      this.depth = depth;
      this.parts = new Map();
      const heading = el(depth <= 1 ? "h2" : "h3", { class: "legend-text" }, label, requiredMark(node));
      this.legend = el("legend", {}, heading,
        (depth <= 1 || node.clause !== context.clause) ? clauseChip(node.clause) : null,
        depth <= 1 && !node.required && !node.loose && node.kind === "object" ? el("span", { class: "muted hint", text: "（选填）" }) : null);
      this.help = node.help ? el("p", { class: "help section-help", text: node.help }) : null;
      this.body = el("div", { class: "fields" });
      this.element = el(tag, { class: depth <= 1 ? "card section" : "group" }, this.legend, this.help, this.body);
      for (const child of node.children || []) this.add(child, { clause: node.clause }, depth + 1);
    }
    add(child, context, depth) {
      const part = build(child, child.title, context, depth);
      this.parts.set(child.key, part);
      this.body.append(part.element);
      return part;
    }
    anchor() { return this.help || this.legend; }
    locate(steps) {
      if (!steps.length) return this;
      const part = this.parts.get(steps[0]);
      return part ? part.locate(steps.slice(1)) : this;
    }
    get() {
      const result = {};
      let filled = false;
      for (const [key, part] of this.parts) {
        if (part.node.const !== undefined) continue;
        const value = part.get();
        if (value !== undefined) { result[key] = value; filled = true; }
      }
      if (!filled) return undefined;
      for (const [key, part] of this.parts) if (part.node.const !== undefined) result[key] = part.node.const;
      return result;
    }
    set(value) {
      const given = value && typeof value === "object" && !Array.isArray(value) ? value : {};
      for (const [key, part] of this.parts) part.set(given[key]);
    }
    focus() {
      this.element.scrollIntoView({ block: "start", behavior: "smooth" });
      const target = this.element.querySelector("input, select, textarea");
      if (target) target.focus({ preventScroll: true });
    }
  }

  /** Repeatable rows: a list of objects, of texts or of numbers; numbered 第1项, 第2项 … */
  class List extends Part {
    constructor(node, label, context, depth) {
      super(node);
      this.depth = depth;
      this.context = { clause: node.clause };
      this.rows = [];
      this.isObjects = node.item.kind === "object";
      const heading = el(depth <= 1 ? "h2" : "h3", { class: "legend-text" }, label, requiredMark(node));
      const limits = [];
      if (node.min_items) limits.push(`至少 ${node.min_items} 项`);
      if (node.max_items) limits.push(`至多 ${node.max_items} 项`);
      this.legend = el("legend", {}, heading,
        (depth <= 1 || node.clause !== context.clause) ? clauseChip(node.clause) : null,
        limits.length ? el("span", { class: "muted hint", text: `（${limits.join("，")}）` }) : null,
        !node.required && !node.min_items ? el("span", { class: "muted hint", text: "（没有的可不填）" }) : null);
      this.help = node.help ? el("p", { class: "help section-help", text: node.help }) : null;
      this.list = el("ol", { class: this.isObjects ? "rows" : "rows simple" });
      this.addButton = el("button", { type: "button", class: "add", onclick: () => { this.addRow().focus(); this.changed(); } },
        "＋ 添加一项");
      this.addButton.setAttribute("aria-label", `添加一项：${label}`);
      this.element = el("fieldset", { class: depth <= 1 ? "card section list" : "group list" },
        this.legend, this.help, this.list, el("div", { class: "row-actions" }, this.addButton));
      this.reset();
    }
    anchor() { return this.help || this.legend; }
    reset() {
      for (const row of this.rows) row.element.remove();
      this.rows = [];
      if (this.node.required || this.node.min_items) this.addRow();
      this.renumber();
    }
    addRow(value) {
      const number = this.rows.length + 1;
      const item = this.node.item;
      let part;
      let remove;
      const row = { element: null, part: null };
      const removeRow = () => { this.removeRow(row); this.changed(); };
      if (this.isObjects) {
        part = new Group(item, `第${number}项`, this.context, this.depth + 1, "fieldset");
        part.element.classList.add("row");
        remove = el("button", { type: "button", class: "link remove", onclick: removeRow, text: "删除此项" });
        part.legend.append(remove);
      } else {
        part = build({ ...item, help: "" }, `第${number}项`, this.context, this.depth + 1);  // the list says what
        part.element.classList.add("row");
        remove = el("button", { type: "button", class: "link remove", onclick: removeRow, text: "删除" });
        part.element.querySelector(".field-input").append(remove);
      }
      row.part = part;
      row.remove = remove;
      row.element = el("li", {}, part.element);
      this.rows.push(row);
      this.list.append(row.element);
      if (value !== undefined) part.set(value);
      this.renumber();
      return part;
    }
    removeRow(row) {
      const at = this.rows.indexOf(row);
      row.element.remove();
      this.rows.splice(at, 1);
      this.renumber();
      const next = this.rows[Math.min(at, this.rows.length - 1)];
      (next ? next.remove : this.addButton).focus();
    }
    renumber() {
      this.rows.forEach((row, i) => {
        const text = `第${i + 1}项`;
        const heading = row.part.legend ? row.part.legend.querySelector(".legend-text") : row.part.labelText;
        if (heading) heading.firstChild.textContent = text;
        row.remove.setAttribute("aria-label", `删除第${i + 1}项`);
      });
      this.addButton.disabled = Boolean(this.node.max_items && this.rows.length >= this.node.max_items);
    }
    changed() { this.element.dispatchEvent(new Event("input", { bubbles: true })); }
    locate(steps) {
      if (!steps.length) return this;
      const row = /^\d+$/.test(steps[0]) ? this.rows[Number(steps[0])] : undefined;
      return row ? row.part.locate(steps.slice(1)) : this;
    }
    get() {
      const values = this.rows.map((r) => r.part.get()).filter((v) => v !== undefined);
      return values.length ? values : undefined;
    }
    set(value) {
      if (!Array.isArray(value) || !value.length) { this.reset(); return; }
      for (const row of this.rows) row.element.remove();
      this.rows = [];
      for (const item of value) this.addRow(item);
    }
    focus() {
      this.element.scrollIntoView({ block: "start", behavior: "smooth" });
      const target = this.element.querySelector("input, select, textarea, button");
      if (target) target.focus({ preventScroll: true });
    }
  }

  function build(node, label, context, depth) {
    switch (node.kind) {
      case "object": return new Group(node, label, context, depth);
      case "list": case "texts": return new List(node, label, context, depth);
      case "boolean": return new Choice(node, label, context);
      case "choices": return new Choices(node, label, context);
      default: return new Leaf(node, label, context);
    }
  }

  /** The top of the form: its sections; the short fields between sections gathered in one card each. */
  class Form {
    constructor(element, view) {
      this.view = view;
      this.parts = new Map();
      this.sections = [];
      this.element = element;
      const context = { clause: view.clause };
      let loose = null;
      for (const node of view.children) {
        const sectionLike = ["object", "list", "texts"].includes(node.kind) || node.kind === "long-text";
        if (sectionLike) {
          loose = null;
          const part = node.kind === "long-text" ? this.card(node.title, node.clause, [node], context) : build(node, node.title, context, 1);
          if (node.kind === "long-text") this.parts.set(node.key, part.parts.get(node.key));
          else this.parts.set(node.key, part);
          this.sections.push({ title: node.title, part, keys: [node.key] });
          element.append(part.element);
        } else {
          if (!loose) {
            const title = view.part === "office" ? "审核事项" : this.sections.length ? "其他事项" : "基本信息";
            loose = this.card(title, "", [], context);
            this.sections.push({ title: loose.title, part: loose, keys: [] });
            element.append(loose.element);
          }
          const part = loose.add(node, context, 2);
          this.parts.set(node.key, part);
          this.sections[this.sections.length - 1].keys.push(node.key);
        }
      }
      this.sections.forEach((s, i) => { s.part.element.id = s.part.element.id || `section-${i + 1}`; });
    }
    /** A card of its own for loose fields (or one long text of an outline: 一、领域和方向). */
    card(title, clause, nodes, context) {
      const group = new Group({ kind: "object", title, clause, loose: true, children: [] }, title, context, 1);
      group.title = title;
      if (!clause) group.legend.querySelector(".clause")?.remove();
      for (const node of nodes) group.add(node, { clause: node.clause }, 2);
      if (nodes.length === 1) {  // the section's title is the field's: the field's own label goes
        const only = group.parts.get(nodes[0].key);
        only.element.classList.add("alone");
        only.element.querySelector(".field-label label").classList.add("visually-hidden");
      }
      return group;
    }
    locate(pointer) {
      const steps = pointer.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
      if (!steps.length) return null;
      const part = this.parts.get(steps[0]);
      return part ? part.locate(steps.slice(1)) : null;
    }
    get() {
      const result = {};
      for (const [key, part] of this.parts) {
        const value = part.get();
        if (value !== undefined) result[key] = value;
      }
      return result;
    }
    set(data) {
      const given = data && typeof data === "object" ? data : {};
      for (const [key, part] of this.parts) part.set(given[key]);
    }
  }

  /**
   * Draw `view` in `element`, filled with `data`. Answers collect() (the data, blanks left out), fill(data), and
   * showFindings(findings) (each beside the field its pointer names, or its nearest shown ancestor; answers the
   * findings with where each was put).
   */
  function mountForm(element, view, data = {}, options = {}) {
    element.replaceChildren();
    if (element.tagName === "FORM") element.addEventListener("submit", (event) => event.preventDefault());
    const form = new Form(element, view);
    let shown = [];
    if (data) form.set(data);
    if (options.onInput) {
      element.addEventListener("input", options.onInput);
      element.addEventListener("change", options.onInput);
    }
    return {
      view,
      sections: form.sections,
      collect: () => form.get(),
      fill: (value) => form.set(value),
      unknownKeys(value) {
        return Object.keys(value || {}).filter((k) => !form.parts.has(k));
      },
      showFindings(findings, hideBlank = false) {
        for (const part of shown) part.clearFindings();
        shown = [];
        const placed = [];
        for (const finding of findings || []) {
          const part = form.locate(finding.path || "");
          if (hideBlank && part && part.isBlank()) { placed.push({ finding, part, deferred: true }); continue; }
          if (part) {
            part.addFinding(finding, part.node.pointer === undefined || samePlace(part, finding.path));
            if (!shown.includes(part)) shown.push(part);
          }
          placed.push({ finding, part, deferred: false });
        }
        return placed;
      },
    };
  }

  function samePlace(part, path) {
    const shape = String(path).replace(/\/\d+(?=\/|$)/g, "/-");
    return part.node.pointer === shape;
  }

  // --- the form page ---------------------------------------------------------------------------------------

  function filenameOf(response, fallback) {
    const header = response.headers.get("content-disposition") || "";
    const utf8 = /filename\*=UTF-8''([^;]+)/i.exec(header);
    if (utf8) { try { return decodeURIComponent(utf8[1]); } catch (e) { /* the plain name below */ } }
    const plain = /filename="([^"]+)"/i.exec(header);
    return plain ? plain[1] : fallback;
  }

  function save(blob, name) {
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  async function answerOf(response) {
    const text = await response.text();
    try { return parseExact(text); } catch (e) { return { detail: text.slice(0, 300) || `服务器返回 ${response.status}` }; }
  }

  function page(app) {
    const view = parseExact(document.getElementById("form-view").textContent);
    const formId = view.form;
    const api = `/api/forms/${encodeURIComponent(formId)}`;
    const $ = (id) => document.getElementById(id);
    const status = $("form-status");
    const summary = $("form-summary");
    const receipt = $("form-receipt");
    const counter = $("form-count");
    const toc = $("form-toc");
    const fileInput = $("form-file");
    const buttons = [...app.querySelectorAll(".toolbar button")];
    let stage = "draft";
    let timer = null;
    let sequence = 0;
    let inFlight = null;
    let dirty = false;
    let submitted = false;

    const form = mountForm($("form-fields"), view, {}, { onInput: () => { dirty = true; schedule(); } });
    const tocLinks = form.sections.map((section) => {
      const count = el("span", { class: "count", hidden: true });
      const link = el("a", { href: `#${section.part.element.id}` }, el("span", { text: section.title }), count);
      toc.append(el("li", {}, link));
      return { section, count };
    });

    function say(text, kind = "info", extra = []) {
      status.replaceChildren(el("p", { class: `message ${kind}`, text }), ...extra);
      status.hidden = false;
    }

    function busy(on, text) {
      for (const b of buttons) b.disabled = on || (b.dataset.action === "submit" && submitted);
      app.classList.toggle("busy", on);
      if (on && text) say(text, "info");
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(() => check(stage), 600);
    }

    async function check(which, quiet = true) {
      clearTimeout(timer);
      const mine = ++sequence;
      if (inFlight) inFlight.abort();
      inFlight = new AbortController();
      let response;
      try {
        response = await fetch(`${api}/validate?stage=${which}`, { method: "POST", signal: inFlight.signal,
          headers: { "Content-Type": "application/json", Accept: "application/json" }, body: stringify(form.collect()) });
      } catch (e) {
        if (e.name !== "AbortError" && !quiet) say("无法连接服务器，请检查网络后重试。", "bad");
        return null;
      }
      const answer = await answerOf(response);
      if (mine !== sequence) return null;  // a later check is on its way
      if (!response.ok) { say(answer.detail || `检查失败（${response.status}）`, "bad"); return null; }
      show(answer.findings || [], which);
      return answer;
    }

    function show(findings, which) {
      const placed = form.showFindings(findings, which === "draft");
      const visible = placed.filter((p) => !p.deferred);
      const deferred = placed.length - visible.length;
      const errors = visible.filter((p) => p.finding.severity === "error").length;
      const warnings = visible.length - errors;
      summary.replaceChildren();
      for (const { section, count } of tocLinks) {
        const n = visible.filter((p) => p.part && section.part.element.contains(p.part.element)).length;
        count.textContent = n ? String(n) : "";
        count.hidden = !n;
        count.className = visible.some((p) => p.finding.severity === "error" && p.part && section.part.element.contains(p.part.element))
          ? "count bad" : "count warn";
      }
      counter.replaceChildren();
      if (!visible.length) {
        summary.hidden = which === "draft" && !deferred;
        if (which === "application") {
          summary.className = "summary ok";
          summary.append(el("h2", { text: "检查通过" }), el("p", { text: "未发现不符合政策的地方。可以下载 Word／PDF 或在线提交。" }));
          counter.append(el("span", { class: "badge ok", text: "检查通过" }));
        } else if (deferred) {
          summary.className = "summary";
          summary.append(el("p", { class: "muted", text: `已填写的内容暂未发现问题；另有 ${deferred} 项尚未填写，点「检查」可查看全部问题。` }));
        }
        return;
      }
      summary.hidden = false;
      summary.className = errors ? "summary bad" : "summary warn";
      const heading = [errors ? `${errors} 处错误` : "", warnings ? `${warnings} 处提醒` : ""].filter(Boolean).join("，");
      summary.append(el("h2", { text: `发现 ${heading}` }),
        el("p", { class: "muted", text: errors ? "错误须改正后才能提交；提醒请核对。点击问题可跳到对应的填写处。" : "提醒不影响提交，请核对。" }));
      const list = el("ul", { class: "findings" });
      for (const { finding, part } of visible) {
        const item = el("li", { class: finding.severity === "error" ? "error" : "warning" },
          el("span", { class: "severity", text: SEVERITY[finding.severity] || "提醒" }),
          el("a", { href: "#", class: "where", text: finding.title || "申请", onclick: (event) => { event.preventDefault(); if (part) part.focus(); } }),
          el("span", { text: `：${finding.message}` }),
          finding.clause ? el("span", { class: "clause", text: `（${finding.clause}）` }) : null);
        list.append(item);
      }
      summary.append(list);
      if (deferred) summary.append(el("p", { class: "muted", text: `另有 ${deferred} 项尚未填写，点「检查」可查看。` }));
      if (errors) counter.append(el("a", { class: "badge bad", href: "#form-summary", text: `${errors} 处错误` }));
      if (warnings) counter.append(el("a", { class: "badge warn", href: "#form-summary", text: `${warnings} 处提醒` }));
    }

    async function fullCheck() {
      stage = "application";
      busy(true, "正在按政策检查…");
      const answer = await check("application", false);
      busy(false);
      if (!answer) return null;
      const errors = (answer.findings || []).filter((f) => f.severity === "error").length;
      if (answer.ok) say("检查通过，未发现错误。", "ok");
      else say(`发现 ${errors} 处错误，请按提示改正。`, "bad");
      if (!answer.ok) summary.scrollIntoView({ behavior: "smooth", block: "start" });
      return answer;
    }

    async function download(format, draft = false) {
      busy(true, format === "pdf" ? "正在生成 PDF，可能需要半分钟，请稍候…" : "正在生成 Word 文档…");
      let response;
      try {
        response = await fetch(`${api}/render?format=${format}${draft ? "&draft=true" : ""}`, { method: "POST",
          headers: { "Content-Type": "application/json" }, body: stringify(form.collect()) });
      } catch (e) {
        busy(false);
        say("无法连接服务器，请检查网络后重试。", "bad");
        return;
      }
      busy(false);
      const label = format === "pdf" ? "PDF" : "Word";
      if (response.ok) {
        const name = filenameOf(response, `${view.title}.${format}`);
        save(await response.blob(), name);
        say(`已生成${draft ? "草稿版" : ""} ${label}：${name}`, "ok");
        return;
      }
      const answer = await answerOf(response);
      if (response.status === 422 && !draft) {
        stage = "application";
        await check("application");
        say(`申请尚有错误，不能生成正式的 ${label} 文档。请按提示改正；也可以先下载标有“草稿”的版本。`, "bad",
          [el("button", { type: "button", onclick: () => download(format, true), text: `下载草稿版 ${label}` })]);
        return;
      }
      say(answer.detail || `生成失败（${response.status}）`, "bad");
    }

    function saveDraft() {
      const data = form.collect();
      save(new Blob([stringify(data, "", "  ") + "\n"], { type: "application/json" }), `${view.title}（草稿）.json`);
      dirty = false;
      say("草稿已保存到您的电脑（.json 文件）。以后点「载入草稿或已填文件」选择它，即可接着填写。", "ok");
    }

    async function load(file) {
      const body = new FormData();
      body.append("file", file, file.name);
      busy(true, `正在读取「${file.name}」…`);
      let response;
      try {
        response = await fetch(`${api}/import`, { method: "POST", body, headers: { Accept: "application/json" } });
      } catch (e) {
        busy(false);
        say("无法连接服务器，请检查网络后重试。", "bad");
        return;
      }
      busy(false);
      const answer = await answerOf(response);
      if (!response.ok) { say(answer.detail || `无法读取此文件（${response.status}）`, "bad"); return; }
      const data = answer.data || {};
      form.fill(data);
      dirty = true;
      const notes = [...(answer.notes || [])];
      const unknown = form.unknownKeys(data);
      const office = (view.left_out || []).filter((s) => unknown.includes(s.key));
      if (office.length) notes.push(`${office.map((s) => `「${s.title}」`).join("")}由受理机关填写，已略去`);
      const other = unknown.filter((k) => !office.some((s) => s.key === k));
      if (other.length) notes.push(`文件中有本表没有的内容，已略去：${other.join("、")}`);
      say(`已从「${answer.file || file.name}」载入，请逐项核对后继续填写。`, "ok",
        notes.length ? [el("ul", { class: "notes" }, notes.map((n) => el("li", { text: n })))] : []);
      await check(stage);
    }

    async function submit() {
      const answer = await fullCheck();
      if (!answer || !answer.ok) {
        if (answer) say("申请尚有错误，改正后才能提交。", "bad");
        return;
      }
      const confirm = el("button", { type: "button", class: "primary", text: "确认提交" });
      const cancel = el("button", { type: "button", text: "暂不提交" });
      receipt.className = "card receipt-box";
      receipt.replaceChildren(el("h2", { text: "确认提交" }),
        el("p", { text: "检查通过。提交后，申请将进入受理机关的台账等待审查，提交的内容不能再修改；如需更正，可修改后重新提交。" }),
        el("div", { class: "actions" }, confirm, cancel));
      receipt.hidden = false;
      receipt.scrollIntoView({ behavior: "smooth", block: "center" });
      confirm.focus();
      cancel.addEventListener("click", () => { receipt.hidden = true; });
      confirm.addEventListener("click", () => send(confirm, cancel));
    }

    async function send(confirm, cancel) {
      confirm.disabled = cancel.disabled = true;
      busy(true, "正在提交…");
      let response;
      try {
        response = await fetch(`${api}/submissions`, { method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json" }, body: stringify(form.collect()) });
      } catch (e) {
        busy(false);
        confirm.disabled = cancel.disabled = false;
        say("无法连接服务器，申请未提交，请稍后重试。", "bad");
        return;
      }
      const answer = await answerOf(response);
      if (response.status === 201) {
        submitted = true;
        dirty = false;
        busy(false);
        showReceipt(answer);
        return;
      }
      busy(false);
      receipt.hidden = true;
      say(answer.detail || `提交失败（${response.status}）`, "bad");
      if (response.status === 422) await check("application");
    }

    function showReceipt(answer) {
      const url = String(answer.url || "");
      const safe = /^https?:\/\//.test(url) || url.startsWith("/");
      const link = el("a", { href: safe ? url : undefined, class: "receipt-link", id: "receipt-link", text: url });
      const copy = el("button", { type: "button", text: "复制链接", onclick: async () => {
        try { await navigator.clipboard.writeText(url); copy.textContent = "已复制"; } catch (e) { copy.textContent = "请手动复制"; }
      } });
      receipt.className = "card receipt-box done";
      receipt.replaceChildren(
        el("h2", { text: "已提交" }),
        el("dl", { class: "facts" },
          el("dt", { text: "受理编号" }), el("dd", { class: "number", text: String(answer.submission) }),
          el("dt", { text: "办理状态" }), el("dd", {}, el("span", { class: "badge warn", text: answer.status })),
          el("dt", { text: "查询链接" }), el("dd", {}, link, " ", copy)),
        el("p", { class: "important", text: "请保存或收藏此链接：凭它随时查看办理进度和审查结果。链接只显示一次，丢失后无法找回。" }));
      receipt.hidden = false;
      summary.hidden = true;
      say(`已提交，受理编号 ${answer.submission}。请保存下面的查询链接。`, "ok");
      receipt.scrollIntoView({ behavior: "smooth", block: "center" });
      link.focus();
    }

    app.querySelector(".toolbar").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button) return;
      const action = button.dataset.action;
      if (action === "check") fullCheck();
      else if (action === "docx" || action === "pdf") download(action);
      else if (action === "save") saveDraft();
      else if (action === "load") fileInput.click();
      else if (action === "submit") submit();
    });
    fileInput.addEventListener("change", () => {
      const file = fileInput.files && fileInput.files[0];
      if (file) load(file);
      fileInput.value = "";
    });
    window.addEventListener("beforeunload", (event) => {
      if (dirty && !submitted) { event.preventDefault(); event.returnValue = ""; }
    });
    app.classList.add("ready");
    return form;
  }

  window.Shenbao = { mountForm, stringify, parseExact, normalNumber, Decimal };

  function start() {
    const app = document.getElementById("form-app");
    if (app) window.Shenbao.page = page(app);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
