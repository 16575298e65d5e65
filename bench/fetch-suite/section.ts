/**
 * The markers of the fetch-suite's section in bench/RESULTS.md: `pnpm bench` rewrites the
 * file and keeps what stands between them; fetch-suite/run.ts replaces it.
 */
export const sectionStart = '<!-- fetch-suite: start -->';
export const sectionEnd = '<!-- fetch-suite: end -->';
