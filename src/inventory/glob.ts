// Shell-style globs for host patterns: `*` any run of characters, `?` one character. Pure.

/** Compile once: a --limit glob is tried against every host of the inventory. */
export function compileGlob(pattern: string): (text: string) => boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return (text) => pattern === text;
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  const re = new RegExp(`^${source}$`);
  return (text) => re.test(text);
}

export function globMatches(pattern: string, text: string): boolean {
  return compileGlob(pattern)(text);
}
