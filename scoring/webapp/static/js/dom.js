// Building the page without innerHTML: text goes in as text nodes, so a name or a note typed by someone can
// never turn into markup; and no style attributes (the CSP allows none): looks come from classes in app.css.

const PROPERTIES = new Set(["value", "checked", "disabled", "hidden", "selected", "multiple", "readOnly",
  "required", "open"]);

/** h("button", {class: "primary", onclick: f, "data-test": "submit"}, "提交") */
export function h(tag, props, ...children) {
  const node = document.createElement(tag);
  const later = [];
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (PROPERTIES.has(key)) later.push([key, value]);  // after the children: a select's value needs its options
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  for (const [key, value] of later) node[key] = value;
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function option(value, label, selected = false) {
  return h("option", { value, selected }, label);
}

/** Replace a select's options, keeping the chosen value when it is still offered. */
export function setOptions(select, options) {
  const before = select.value;
  select.replaceChildren(...options);
  if ([...select.options].some((o) => o.value === before)) select.value = before;
}

let toastTimer = null;

/** A short message at the bottom of the screen, read out by screen readers too. */
export function toast(message, kind = "info") {
  let box = document.getElementById("toast");
  if (!box) {
    box = h("div", { id: "toast", role: "status", "aria-live": "polite" });
    document.body.append(box);
  }
  box.className = `toast ${kind}`;
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, kind === "error" ? 8000 : 4000);
}

/** A modal question with a required text answer (a void's reason …); resolves to the text or null. */
export function ask({ title, label, confirm, danger = false }) {
  return new Promise((resolve) => {
    const input = h("textarea", { rows: 3, class: "answer", "aria-label": label });
    const error = h("p", { class: "field-error", hidden: true });
    const close = (value) => { dialog.close(); dialog.remove(); resolve(value); };
    const dialog = h("dialog", { class: "ask" },
      h("h2", null, title),
      h("label", null, label, input),
      error,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: () => close(null) }, "取消"),
        h("button", {
          type: "button", class: danger ? "danger" : "primary", onclick: () => {
            const text = input.value.trim();
            if (!text) {
              error.textContent = `请填写${label}`;
              error.hidden = false;
              return;
            }
            close(text);
          },
        }, confirm)));
    dialog.addEventListener("cancel", () => { dialog.remove(); resolve(null); });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

/** A yes/no question in a modal; resolves to true or false. */
export function confirmDialog({ title, text, confirm, danger = false }) {
  return new Promise((resolve) => {
    const close = (value) => { dialog.close(); dialog.remove(); resolve(value); };
    const dialog = h("dialog", { class: "ask" },
      h("h2", null, title),
      text ? h("p", null, text) : null,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: () => close(false) }, "取消"),
        h("button", { type: "button", class: danger ? "danger" : "primary", onclick: () => close(true) }, confirm)));
    dialog.addEventListener("cancel", () => { dialog.remove(); resolve(false); });
    document.body.append(dialog);
    dialog.showModal();
  });
}
