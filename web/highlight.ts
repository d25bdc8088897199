/**
 * A search hit's `highlight` as DOM nodes. The API sends the body HTML-escaped with the matched parts
 * in `<em>…</em>`; the page shows them in `<mark>`. The string is never given to the HTML parser:
 * it is split on the two tags (which cannot occur otherwise: the body's own `<` is escaped), and each
 * run is unescaped into plain text.
 */

export type HighlightRun = { text: string; marked: boolean };

export function highlightRuns(highlight: string): HighlightRun[] {
  const runs: HighlightRun[] = [];
  let marked = false;
  for (const part of highlight.split(/(<\/?em>)/)) {
    if (part === "<em>" || part === "</em>") {
      marked = part === "<em>";
      continue;
    }
    if (part) runs.push({ text: unescapeHtml(part), marked });
  }
  return runs;
}

const named: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Undoes HTML escaping: the five named entities and numeric references; anything else stays as it is. */
export function unescapeHtml(text: string): string {
  return text.replace(/&(?:#(\d{1,7})|#x([0-9a-f]{1,6})|(amp|lt|gt|quot|apos));/gi, (whole, dec?: string, hex?: string, name?: string) => {
    if (name) return named[name.toLowerCase()] ?? whole;
    const code = dec ? Number(dec) : Number.parseInt(hex!, 16);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

export function highlightNodes(highlight: string): Node[] {
  return highlightRuns(highlight).map(({ text, marked }) => {
    if (!marked) return document.createTextNode(text);
    const mark = document.createElement("mark");
    mark.textContent = text;
    return mark;
  });
}
