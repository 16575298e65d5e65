import type { Table } from './table.js';

/** A measured figure with its target, for the summary. */
export interface Verdict {
  scenario: number;
  figure: string;
  value: string;
  target: string;
  met: boolean | undefined;
}

export interface ScenarioContext {
  quick: boolean;
  log(message: string): void;
  verdict(verdict: Verdict): void;
}

export interface Scenario {
  id: number;
  title: string;
  run(context: ScenarioContext): Promise<Table[]>;
}
