/**
 * The one layout of the pages a browser sees at the end of a SAML exchange (sign-in errors,
 * signed out): views/page.html, a fixed file with `{{title}}` and a content marker. Values go
 * in through `{{name}}` slots and are always HTML-escaped, so no template engine (and no way
 * for a value to become markup) is needed; content is markup this code builds from escaped values.
 */
import { readFileSync } from 'node:fs';

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** Fills `{{name}}` slots with escaped values; an unknown slot is a bug, not a blank. */
export function fillTemplate(source: string, values: Readonly<Record<string, string>>): string {
  return source.replace(/\{\{([A-Za-z]+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`template slot {{${name}}} has no value`);
    return escapeHtml(value);
  });
}

const views = new Map<string, string>();

/** A file of views/, read once. */
export function view(name: string): string {
  let source = views.get(name);
  if (source === undefined) {
    source = readFileSync(new URL(`../../views/${name}`, import.meta.url), 'utf8');
    views.set(name, source);
  }
  return source;
}

const CONTENT = '<!--content-->';

/** The layout with its title filled in and `content` (markup built from escaped values) in its main part. */
export function renderPage(title: string, content: string): string {
  const [head, tail] = fillTemplate(view('page.html'), { title }).split(CONTENT);
  if (tail === undefined) throw new Error(`views/page.html has no ${CONTENT} marker`);
  return `${head}${content}${tail}`;
}
