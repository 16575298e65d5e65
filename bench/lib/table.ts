/** One result table: a title, a header row, rows, and notes printed under it. */
export interface Table {
  title: string;
  header: string[];
  rows: string[][];
  notes?: string[];
}

/** A Markdown table with padded columns, readable in a terminal and rendered on GitHub. */
export function markdownTable(table: Table): string {
  const widths = table.header.map((cell, i) =>
    Math.max(cell.length, ...table.rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  const lines = [
    `### ${table.title}`,
    '',
    line(table.header),
    `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`,
    ...table.rows.map((row) => line(row)),
  ];
  if (table.notes !== undefined && table.notes.length > 0) {
    lines.push('', ...table.notes.map((note) => `- ${note}`));
  }
  return lines.join('\n');
}
