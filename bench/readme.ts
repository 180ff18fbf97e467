// npm run bench:readme: paste bench/results/latest.md (the last bench run's tables) into README.md's Performance
// section, between its two markers, so the published numbers are always a real run's, verbatim.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BEGIN = '<!-- bench:begin (npm run bench:readme pastes bench/results/latest.md here) -->';
export const END = '<!-- bench:end -->';

/** README text with the part between the markers replaced by `table`; an error when the markers are not there once. */
export function pasteBench(readme: string, table: string): string {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin || readme.indexOf(BEGIN, begin + 1) >= 0)
    throw new Error(`README.md needs the two markers once each, in order: ${BEGIN} ... ${END}`);
  return `${readme.slice(0, begin + BEGIN.length)}\n\n${table.trim()}\n\n${readme.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const from = path.join(root, 'bench', 'results', 'latest.md');
  const readmeFile = path.join(root, 'README.md');
  if (!fs.existsSync(from)) {
    process.stderr.write(`bench:readme: ${from} is missing: run npm run bench first\n`);
    process.exit(2);
  }
  fs.writeFileSync(readmeFile, pasteBench(fs.readFileSync(readmeFile, 'utf8'), fs.readFileSync(from, 'utf8')));
  process.stdout.write(`bench:readme: README.md now shows ${from}\n`);
}
