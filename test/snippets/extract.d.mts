// Types of extract.mjs, for its tests.

export interface Snippet {
  /** The README's path, as given. */
  file: string;
  /** The line of the block's first line of code (1-based). */
  line: number;
  extension: '.ts' | '.tsx' | '.js' | '.mjs' | '.jsx';
  code: string;
  /** Hidden lines put before the code, from `<!-- snippet: prelude … -->`. */
  prelude: string[];
  /** The README line of the prelude's first line (0 without one). */
  preludeLine: number;
  /** `<!-- snippet: file NAME PATH -->`: repository files copied beside the snippet. */
  files: { name: string; path: string }[];
  run: { kind: 'run' } | { kind: 'serve'; path: string } | undefined;
}

export function extractSnippets(
  markdown: string,
  file: string,
): {
  snippets: Snippet[];
  skipped: { file: string; line: number; reason: string }[];
  /** `file:line: message` for each block or directive that is neither compiled nor marked. */
  problems: string[];
};

export function installedPackages(markdown: string): Set<string>;

export function importedPackages(code: string): Set<string>;

export function packageName(specifier: string): string;
