/* Filling a screen's template on the handheld: the server's templates (web/templates/floor/*.html,
   rendered for offline use by /offline/screens/NAME) mark what the handheld fills: data-slot (text),
   data-part (shown or hidden), data-step (done or not), data-rows with a <template data-row> (one copy
   per row; a data-row "NAME-empty" when there is none). Text only: nothing from the snapshot or a
   scan is ever parsed as markup. */

const each = (root, attr, name) => root.querySelectorAll(`[${attr}="${name}"]`);

// Text of every data-slot named in `texts`.
export function put(root, texts) {
  for (const [name, text] of Object.entries(texts)) for (const el of each(root, "data-slot", name)) el.textContent = String(text ?? "");
}

// Each data-part named in `parts` shown (true) or hidden.
export function show(root, parts) {
  for (const [name, on] of Object.entries(parts)) for (const el of each(root, "data-part", name)) el.hidden = !on;
}

// Each data-step named in `steps` marked done (its class) or not.
export function markDone(root, steps) {
  for (const [name, on] of Object.entries(steps)) for (const el of each(root, "data-step", name)) el.classList.toggle("done", Boolean(on));
}

// The value of each field of `form` named in `fields`.
export function setValues(form, fields) {
  for (const [name, value] of Object.entries(fields)) {
    const el = form.querySelector(`[name="${name}"]`);
    if (el) el.value = String(value ?? "");
  }
}

// The rows of data-rows NAME: one copy of <template data-row NAME> per item, filled by fillRow(copy, item).
export function rows(root, name, items, fillRow) {
  const list = root.querySelector(`[data-rows="${name}"]`), row = root.querySelector(`template[data-row="${name}"]`);
  if (!list || !row) return;
  const made = items.map((item) => { const copy = row.content.cloneNode(true); fillRow(copy, item); return copy; });
  const empty = root.querySelector(`template[data-row="${name}-empty"]`);
  if (!made.length && empty) made.push(empty.content.cloneNode(true));
  list.replaceChildren(...made);
}
