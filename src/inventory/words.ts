// One inventory line split into words as a POSIX shell (and Ansible's shlex) does: quotes group, a
// backslash escapes outside single quotes, `#` outside quotes starts a comment. Each word keeps the
// column it starts at, so errors can point at it. Pure.

export interface Word {
  text: string;
  /** 0-based offset of the word's first character in the line. */
  offset: number;
}

export class WordError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export function splitWords(line: string): Word[] {
  const words: Word[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length || line[i] === '#') break;
    const start = i;
    let text = '';
    while (i < line.length && !/\s/.test(line[i]!)) {
      const c = line[i]!;
      if (c === '#') break;
      if (c === "'" || c === '"') {
        const close = findClose(line, i + 1, c);
        if (close < 0) throw new WordError(`unterminated ${c} quote`, i);
        const body = line.slice(i + 1, close);
        text += c === '"' ? body.replace(/\\(["\\$`])/g, '$1') : body;
        i = close + 1;
      } else if (c === '\\' && i + 1 < line.length) {
        text += line[i + 1];
        i += 2;
      } else {
        text += c;
        i++;
      }
    }
    words.push({ text, offset: start });
    if (line[i] === '#') break;
  }
  return words;
}

function findClose(line: string, from: number, quote: string): number {
  for (let i = from; i < line.length; i++) {
    if (quote === '"' && line[i] === '\\') i++;
    else if (line[i] === quote) return i;
  }
  return -1;
}

/** `key=value` with a variable name as key, else null. */
export function splitAssignment(word: string): { key: string; value: string } | null {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(word);
  return m ? { key: m[1]!, value: m[2]! } : null;
}
