// Text from a run directory is hostile (a host chose its output, its name, its error text):
// these are the only two ways it enters the report's HTML. Pure.

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for an HTML element body or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML[c]!);
}

/**
 * JSON for the body of a `<script type="application/json">`: `<`, `>` and `&` as \u escapes so no
 * `</script>` or `<!--` in a value can end or change the element; U+2028/9 too, for older parsers.
 * JSON.parse gives back the same value.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
