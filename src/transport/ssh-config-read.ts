// ssh_config read the way OpenSSH 9.2's client reads it (readconf.c, match.c, misc.c), so that herd
// lands on the host, port and user `ssh` would. Pure: every file and directory read goes through
// a ConfigSource, and nothing here runs a command or looks a name up.
import path from 'node:path';
import { UsageError } from '../errors.js';

/** What the reader may touch: file text (null when absent) and directory listings (for Include globs). */
export interface ConfigSource {
  readFile(file: string): string | null;
  readDir(dir: string): string[] | null;
  /**
   * Why ssh would refuse to read this file (SSHCONF_CHECKPERM: owned by someone other than root or
   * the user, or writable by group or others), or null. Applies to ~/.ssh/config and every Include.
   */
  permissionProblem?(file: string): string | null;
  home: string;
}

type MatchAttr = 'all' | 'canonical' | 'final' | 'host' | 'originalhost' | 'user' | 'localuser';
interface Criterion {
  negate: boolean;
  attr: MatchAttr;
  arg: string;
}

export type Entry =
  | { kind: 'host'; file: string; line: number; patterns: string[] }
  | { kind: 'match'; file: string; line: number; criteria: Criterion[] }
  | { kind: 'include'; file: string; line: number; files: ParsedFile[] }
  | { kind: 'option'; file: string; line: number; keyword: string; args: string[] };

export interface ParsedFile {
  path: string;
  entries: Entry[];
}

/** The user file (or -F FILE), then the system file, as ssh reads them. */
export interface ParsedConfig {
  files: ParsedFile[];
}

// readconf.c keywords[] of OpenSSH 9.2 (with Debian's GSSAPI additions). Options herd uses are in
// SUPPORTED; options that would change where herd lands or how it trusts a host are in REFUSED;
// the rest change nothing herd does (forwarding, terminal, algorithms, logging...) and are ignored.
export const SUPPORTED = [
  'host',
  'match',
  'include',
  'hostname',
  'user',
  'port',
  'identityfile',
  'certificatefile',
  'identitiesonly',
  'proxyjump',
  'connecttimeout',
  'stricthostkeychecking',
  'userknownhostsfile',
  'globalknownhostsfile',
  'hashknownhosts',
  'ignoreunknown',
  'canonicalizehostname',
  'hostkeyalias',
  'serveraliveinterval',
  'serveralivecountmax',
  'connectionattempts',
] as const;
export const REFUSED = ['proxycommand', 'knownhostscommand', 'revokedhostkeys', 'identityagent'] as const;
export const IGNORED = [
  'protocol',
  'cipher',
  'fallbacktorsh',
  'globalknownhostsfile2',
  'rhostsauthentication',
  'userknownhostsfile2',
  'useroaming',
  'usersh',
  'useprivilegedport',
  'afstokenpassing',
  'kerberosauthentication',
  'kerberostgtpassing',
  'rsaauthentication',
  'rhostsrsaauthentication',
  'compressionlevel',
  'gssapiauthentication',
  'gssapidelegatecredentials',
  'gssapikeyexchange',
  'gssapiclientidentity',
  'gssapiserveridentity',
  'gssapirenewalforcesrekey',
  'gssapitrustdns',
  'gssapikexalgorithms',
  'smartcarddevice',
  'pkcs11provider',
  'forwardagent',
  'forwardx11',
  'forwardx11trusted',
  'forwardx11timeout',
  'exitonforwardfailure',
  'xauthlocation',
  'gatewayports',
  'passwordauthentication',
  'kbdinteractiveauthentication',
  'kbdinteractivedevices',
  'challengeresponseauthentication',
  'skeyauthentication',
  'tisauthentication',
  'pubkeyauthentication',
  'dsaauthentication',
  'hostbasedauthentication',
  'identityfile2',
  'addkeystoagent',
  'ciphers',
  'macs',
  'remoteforward',
  'localforward',
  'permitremoteopen',
  'escapechar',
  'batchmode',
  'checkhostip',
  'compression',
  'tcpkeepalive',
  'keepalive',
  'numberofpasswordprompts',
  'syslogfacility',
  'loglevel',
  'logverbose',
  'dynamicforward',
  'preferredauthentications',
  'hostkeyalgorithms',
  'casignaturealgorithms',
  'bindaddress',
  'bindinterface',
  'clearallforwardings',
  'enablesshkeysign',
  'verifyhostkeydns',
  'nohostauthenticationforlocalhost',
  'rekeylimit',
  'addressfamily',
  'sendenv',
  'setenv',
  'controlpath',
  'controlmaster',
  'controlpersist',
  'tunnel',
  'tunneldevice',
  'localcommand',
  'permitlocalcommand',
  'remotecommand',
  'visualhostkey',
  'kexalgorithms',
  'ipqos',
  'requesttty',
  'sessiontype',
  'stdinnull',
  'forkafterauthentication',
  'proxyusefdpass',
  'canonicaldomains',
  'canonicalizefallbacklocal',
  'canonicalizemaxdots',
  'canonicalizepermittedcnames',
  'streamlocalbindmask',
  'streamlocalbindunlink',
  'fingerprinthash',
  'updatehostkeys',
  'hostbasedacceptedalgorithms',
  'hostbasedkeytypes',
  'pubkeyacceptedalgorithms',
  'pubkeyacceptedkeytypes',
  'securitykeyprovider',
  'requiredrsasize',
  'enableescapecommandline',
] as const;
const KNOWN = new Set<string>([...SUPPORTED, ...REFUSED, ...IGNORED]);

/** OpenSSH nests Include at most this deep (READCONF_MAX_DEPTH); a loop ends here too. */
const MAX_DEPTH = 16;

const fail = (file: string, line: number, what: string): never => {
  throw new UsageError(`${file}:${line}: ${what}`, 'E_SSH_CONFIG');
};

/** misc.c strdelim(): the next word, split on whitespace or one `=`, a word may be in double quotes. */
function strdelim(s: string, pos: number): { word: string; next: number } | null {
  const seps = ' \t\r\n"=';
  let i = pos;
  while (i < s.length && !seps.includes(s[i]!)) i++;
  if (i >= s.length) return { word: s.slice(pos), next: s.length };
  if (s[i] === '"') {
    const close = s.indexOf('"', i + 1);
    if (close < 0) return null;
    const word = s.slice(pos, i) + s.slice(i + 1, close);
    return { word, next: skipWs(s, close + 1) };
  }
  const wasEquals = s[i] === '=';
  const word = s.slice(pos, i);
  let next = skipWs(s, i + 1);
  if (s[next] === '=' && !wasEquals) next = skipWs(s, next + 1);
  return { word, next };
}

const skipWs = (s: string, i: number): number => {
  while (i < s.length && ' \t\r\n'.includes(s[i]!)) i++;
  return i;
};

/** misc.c argv_split(s, terminate_on_comment=1): quotes, backslash escapes, `#` only at a word's start. */
export function argvSplit(s: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === ' ' || s[i] === '\t') {
      i++;
      continue;
    }
    if (s[i] === '#') break;
    let quote = '';
    let arg = '';
    for (; i < s.length; i++) {
      const c = s[i]!;
      const n = s[i + 1];
      if (c === '\\') {
        if (n === "'" || n === '"' || n === '\\' || (quote === '' && n === ' ')) i++;
        arg += s[i];
      } else if (quote === '' && (c === ' ' || c === '\t')) break;
      else if (quote === '' && (c === '"' || c === "'")) quote = c;
      else if (quote !== '' && c === quote) quote = '';
      else arg += c;
    }
    if (quote !== '') return null;
    out.push(arg);
  }
  return out;
}

/** Split one line into its lower-cased keyword and the rest, as process_config_line_depth does. */
function splitLine(raw: string): { keyword: string; rest: string } | null | 'noarg' {
  const line = raw.replace(/[ \t\r\n\f]+$/, '');
  if (line === '') return null;
  let d = strdelim(line, 0);
  if (d === null) return null;
  if (d.word === '') d = strdelim(line, d.next);
  if (d === null || d.word === '' || d.word.startsWith('#')) return null;
  const rest = line.slice(skipWs(line, d.next));
  if (rest === '') return 'noarg';
  return { keyword: d.word.toLowerCase(), rest };
}

const MATCH_ATTRS = new Set(['all', 'canonical', 'final', 'host', 'originalhost', 'user', 'localuser']);

/** readconf.c match_cfg_line(), the syntax half: the criteria, or the error ssh would stop on. */
function parseMatch(rest: string, file: string, line: number): Criterion[] {
  const out: Criterion[] = [];
  let pos = 0;
  let attributes = 0;
  const next = (): string | null => {
    const d = strdelim(rest, pos);
    if (d === null) fail(file, line, 'Match: unterminated quote');
    if (d!.word === '' && d!.next >= rest.length) return null;
    pos = d!.next;
    return d!.word;
  };
  for (let attrib = next(); attrib !== null && attrib !== ''; attrib = next()) {
    if (attrib.startsWith('#')) return finish();
    const negate = attrib.startsWith('!');
    const name = (negate ? attrib.slice(1) : attrib).toLowerCase();
    if (name === 'all') {
      const after = next();
      if (attributes > 1 || (after !== null && after !== '' && !after.startsWith('#'))) {
        fail(file, line, `Match: '${attrib}' cannot be combined with other Match attributes`);
      }
      out.push({ negate, attr: 'all', arg: '' });
      return out;
    }
    attributes++;
    if (name === 'canonical' || name === 'final') {
      out.push({ negate, attr: name, arg: '' });
      continue;
    }
    const arg = next();
    if (arg === null || arg === '' || arg.startsWith('#')) fail(file, line, `Match: missing criteria for ${attrib}`);
    if (name === 'exec')
      fail(file, line, 'Match exec is refused: herd never runs a local command while reading ssh_config');
    if (!MATCH_ATTRS.has(name)) fail(file, line, `Match: unsupported attribute ${attrib}`);
    out.push({ negate, attr: name as Criterion['attr'], arg: arg! });
  }
  return finish();
  function finish(): Criterion[] {
    if (attributes === 0) fail(file, line, 'Match: one or more attributes required');
    return out;
  }
}

/** Include's glob(3) with GLOB_TILDE: sorted, `*`/`?`/`[..]` per path segment, dot files only when named. */
export function globPaths(pattern: string, src: ConfigSource): string[] {
  const expanded = pattern === '~' || pattern.startsWith('~/') ? src.home + pattern.slice(1) : pattern;
  const parts = expanded.split('/').filter((p, i) => p !== '' || i === 0);
  let found = [parts[0] === '' ? '/' : parts[0]!];
  for (const part of parts.slice(1)) {
    const wild = /[*?[]/.test(part);
    const re = wild ? globRegex(part) : null;
    found = found.flatMap((dir) => {
      if (!re) return [path.join(dir, part)];
      const names = src.readDir(dir) ?? [];
      return names
        .filter((n) => re.test(n) && (!n.startsWith('.') || part.startsWith('.')))
        .sort()
        .map((n) => path.join(dir, n));
    });
  }
  return found;
}

function globRegex(part: string): RegExp {
  let re = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = part.indexOf(']', i + 2);
      if (close < 0) re += '\\[';
      else {
        const body = part
          .slice(i + 1, close)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Parse one file and, eagerly, every file it includes. `user` is true for ~/.ssh/config and -F
 * files (relative Include paths live in ~/.ssh, `~` is allowed), false for the system file (/etc/ssh).
 */
export function parseConfigFile(file: string, text: string, src: ConfigSource, user: boolean, depth = 0): ParsedFile {
  const entries: Entry[] = [];
  text.split('\n').forEach((raw, idx) => {
    const line = idx + 1;
    const split = splitLine(raw);
    if (split === null) return;
    if (split === 'noarg') {
      const kw = raw.trim().split(/[ \t=]/)[0];
      return fail(file, line, `no argument after keyword "${kw}"`);
    }
    const { keyword, rest } = split;
    if (keyword === 'match') {
      entries.push({ kind: 'match', file, line, criteria: parseMatch(rest, file, line) });
      return;
    }
    const args = argvSplit(rest);
    if (args === null) return fail(file, line, 'invalid quotes');
    if (keyword === 'host') {
      if (args.some((a) => a === '')) fail(file, line, 'keyword host empty argument');
      entries.push({ kind: 'host', file, line, patterns: args });
    } else if (keyword === 'include') {
      entries.push({ kind: 'include', file, line, files: includeFiles(args, file, line, src, user, depth) });
    } else {
      entries.push({ kind: 'option', file, line, keyword, args });
    }
  });
  return { path: file, entries };
}

function includeFiles(
  args: string[],
  file: string,
  line: number,
  src: ConfigSource,
  user: boolean,
  depth: number,
): ParsedFile[] {
  const out: ParsedFile[] = [];
  for (const arg of args) {
    if (arg === '') fail(file, line, 'keyword include empty argument');
    if (arg.startsWith('~') && !user) fail(file, line, `bad include path ${arg}`);
    if (arg.startsWith('~') && arg !== '~' && !arg.startsWith('~/')) {
      fail(file, line, `Include ${arg}: ~user paths are not supported by herd`);
    }
    const full = arg.startsWith('/') || arg.startsWith('~') ? arg : `${user ? '~/.ssh' : '/etc/ssh'}/${arg}`;
    for (const p of globPaths(full, src)) {
      if (depth + 1 > MAX_DEPTH) fail(file, line, `too many recursive configuration includes (Include ${arg})`);
      const text = src.readFile(p);
      if (text === null) continue;
      const bad = src.permissionProblem?.(p);
      if (bad) fail(file, line, `Include ${arg}: ${bad}`);
      out.push(parseConfigFile(p, text, src, user, depth + 1));
    }
  }
  return out;
}

/** match.c match_pattern(): `*` any run, `?` exactly one character, case-sensitive. */
export function matchPattern(s: string, pattern: string): boolean {
  const memo = new Map<string, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let r: boolean;
    if (j === pattern.length) r = i === s.length;
    else if (pattern[j] === '*') r = go(i, j + 1) || (i < s.length && go(i + 1, j));
    else r = i < s.length && (pattern[j] === '?' || pattern[j] === s[i]) && go(i + 1, j + 1);
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

/** match.c match_pattern_list(): 1 positive, -1 a negated pattern matched, 0 none. */
export function matchPatternList(s: string, list: string, lower: boolean): -1 | 0 | 1 {
  let positive = false;
  for (const raw of list.split(',')) {
    const negated = raw.startsWith('!');
    const sub = negated ? raw.slice(1) : raw;
    if (matchPattern(s, lower ? sub.toLowerCase() : sub)) {
      if (negated) return -1;
      positive = true;
    }
  }
  return positive ? 1 : 0;
}

/** One option's first active value, with where it was written. */
export interface Setting {
  args: string[];
  file: string;
  line: number;
}

export interface ResolveInput {
  /** The destination as given (ssh's host argument, %n). */
  alias: string;
  /** A user already fixed before the file is read (ssh -l): Match user sees it. */
  user?: string;
  localUser: string;
}

export interface Resolved {
  /** First value of every option that applied, by lower-cased keyword; IdentityFile keeps every line. */
  options: Map<string, Setting>;
  identityFiles: Setting[];
  /** Every CertificateFile line that applied, in order, each file once (as IdentityFile). */
  certificateFiles: Setting[];
  /** HostName after %h expansion, lower-cased unless an address (what ssh connects to). */
  hostName: string;
}

const isAddress = (h: string): boolean => /^\d{1,3}(\.\d{1,3}){3}$/.test(h) || h.includes(':');

/** misc.c percent_expand() for HostName: %h and %% only; any other escape stops ssh. */
function expandHostName(value: string, host: string, s: Setting): string {
  return value.replace(/%(.?)/g, (_w, c: string) => {
    if (c === '%') return '%';
    if (c === 'h') return host;
    return fail(s.file, s.line, `HostName ${JSON.stringify(value)}: unknown escape %${c}`);
  });
}

interface PassState {
  host: string;
  final: boolean;
  wantFinal: boolean;
  r: Resolved;
  input: ResolveInput;
}

function evalMatch(criteria: Criterion[], st: PassState): boolean {
  const hostOpt = st.r.options.get('hostname');
  const host = st.final ? st.r.hostName : hostOpt ? expandHostName(hostOpt.args[0]!, st.host, hostOpt) : st.host;
  // A user fixed before reading (ssh -l) wins over the file's User, as options.user is already set.
  const ruser = st.input.user ?? st.r.options.get('user')?.args[0] ?? st.input.localUser;
  let result = true;
  for (const c of criteria) {
    let r: boolean;
    switch (c.attr) {
      case 'all':
        return result ? !c.negate : false;
      case 'canonical':
      case 'final':
        if (c.attr === 'final') st.wantFinal = true;
        r = st.final;
        break;
      case 'host':
        r = matchPatternList(host.toLowerCase(), c.arg, true) === 1;
        break;
      case 'originalhost':
        r = matchPatternList(st.input.alias.toLowerCase(), c.arg, true) === 1;
        break;
      case 'user':
        r = matchPatternList(ruser, c.arg, false) === 1;
        break;
      case 'localuser':
        r = matchPatternList(st.input.localUser, c.arg, false) === 1;
        break;
      default: {
        const never: never = c.attr;
        throw new Error(`unknown Match attribute ${String(never)}`);
      }
    }
    if (r === c.negate) result = false;
  }
  return result;
}

function evalFile(f: ParsedFile, st: PassState, active: { on: boolean }, neverMatch: boolean): void {
  for (const e of f.entries) {
    switch (e.kind) {
      case 'host': {
        active.on = false;
        if (neverMatch) break;
        for (const p of e.patterns) {
          const negated = p.startsWith('!');
          if (matchPattern(st.host, negated ? p.slice(1) : p)) {
            if (negated) {
              active.on = false;
              break;
            }
            active.on = true;
          }
        }
        break;
      }
      case 'match': {
        const v = evalMatch(e.criteria, st);
        active.on = neverMatch ? false : v;
        break;
      }
      case 'include': {
        const outer = active.on;
        for (const inc of e.files) {
          evalFile(inc, st, active, neverMatch || !outer);
          active.on = outer;
        }
        break;
      }
      case 'option':
        applyOption(e, st, active.on);
        break;
      default: {
        const never: never = e;
        throw new Error(`unknown entry ${JSON.stringify(never)}`);
      }
    }
  }
}

function applyOption(e: Extract<Entry, { kind: 'option' }>, st: PassState, active: boolean): void {
  if (!KNOWN.has(e.keyword)) {
    const ignore = st.r.options.get('ignoreunknown')?.args[0];
    if (ignore !== undefined && matchPatternList(e.keyword, ignore, true) === 1) return;
    fail(e.file, e.line, `Bad configuration option: ${e.keyword} (ssh refuses this file too)`);
  }
  if ((SUPPORTED as readonly string[]).includes(e.keyword)) checkArity(e);
  if (!active) return;
  const s: Setting = { args: e.args, file: e.file, line: e.line };
  if (e.keyword === 'identityfile' || e.keyword === 'certificatefile') {
    const list = e.keyword === 'identityfile' ? st.r.identityFiles : st.r.certificateFiles;
    if (!list.some((x) => x.args[0] === e.args[0])) list.push(s);
    return;
  }
  // ProxyJump and ProxyCommand share one slot: whichever applies first wins, the other is ignored.
  const proxySet = st.r.options.has('proxyjump') || st.r.options.has('proxycommand');
  if ((e.keyword === 'proxyjump' || e.keyword === 'proxycommand') && proxySet) return;
  if (!st.r.options.has(e.keyword)) st.r.options.set(e.keyword, s);
}

const MULTI = new Set(['userknownhostsfile', 'globalknownhostsfile']);
function checkArity(e: Extract<Entry, { kind: 'option' }>): void {
  if (e.args.length === 0 || e.args[0] === '') fail(e.file, e.line, `keyword ${e.keyword}: missing argument`);
  if (e.args.length > 1 && !MULTI.has(e.keyword))
    fail(e.file, e.line, `keyword ${e.keyword} extra arguments at end of line`);
}

/**
 * Resolve one destination as ssh.c does: a first pass over every file, HostName expanded and
 * lower-cased, then, when a `Match final` (or canonical) asked for it, a second pass matching
 * Host against that name. First value wins across both passes.
 */
export function resolveHost(config: ParsedConfig, input: ResolveInput): Resolved {
  const r: Resolved = { options: new Map(), identityFiles: [], certificateFiles: [], hostName: input.alias };
  const st: PassState = { host: input.alias, final: false, wantFinal: false, r, input };
  for (const f of config.files) evalFile(f, st, { on: true }, false);
  const hn = r.options.get('hostname');
  let host = hn ? expandHostName(hn.args[0]!, input.alias, hn) : input.alias;
  if (!isAddress(host)) host = host.toLowerCase();
  r.hostName = host;
  if (st.wantFinal) {
    // ssh.c sets options.hostname to the final name before the second pass: a later HostName no longer applies.
    if (!hn) r.options.set('hostname', { args: [host], file: '', line: 0 });
    const second: PassState = { host, final: true, wantFinal: false, r, input };
    for (const f of config.files) evalFile(f, second, { on: true }, false);
  }
  return r;
}

/** Every IdentityFile line in any file, active or not (a run may then log in without -k). */
export function anyIdentityFile(config: ParsedConfig): boolean {
  const walk = (f: ParsedFile): boolean =>
    f.entries.some((e) =>
      e.kind === 'include'
        ? e.files.some(walk)
        : e.kind === 'option' && e.keyword === 'identityfile' && e.args[0]?.toLowerCase() !== 'none',
    );
  return config.files.some(walk);
}
