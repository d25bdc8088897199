/**
 * Building the page from data without ever parsing HTML: elements get text (as text nodes) and
 * attributes, so nothing a user or the API sends can become markup.
 */

type Child = Node | string | null | undefined | false;
type Props = { class?: string; attrs?: Record<string, string> };

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.class) element.className = props.class;
  for (const [name, value] of Object.entries(props.attrs ?? {})) element.setAttribute(name, value);
  for (const child of children) if (child) element.append(child);
  return element;
}

/** The element with this id, checked to be of the expected kind (the markup is in index.html). */
export function byId<T extends HTMLElement>(id: string, kind: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof kind)) throw new Error(`#${id} is missing from index.html or is not a ${kind.name}`);
  return element;
}

let ids = 0;
/** A document-unique id, for label `for` and `aria-describedby`. */
export const uniqueId = (prefix: string) => `${prefix}-${++ids}`;

/** "3 messages", "1 message". */
export const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/** A timestamp in the reader's locale: the time today, the date and time otherwise. */
export function shortTime(iso: string): string {
  const date = new Date(iso);
  const today = date.toDateString() === new Date().toDateString();
  return today ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : date.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
}
