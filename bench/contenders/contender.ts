/** What every contender offers the scenarios: one authenticated GET, and close. */
export interface Credentials {
  email: string;
  password: string;
  orgId: number;
}

/** An upstream answer as the caller saw it. A thrown error is a failed call too. */
export interface Outcome {
  status: number;
  body: string;
}

export interface ContenderClient {
  /** GET `path` (under the base URL) with credentials; resolves with the final answer. */
  fetch(path: string): Promise<Outcome>;
  close(): Promise<void>;
}

export interface Contender {
  name: ContenderName;
  create(baseUrl: string, credentials: Credentials): Promise<ContenderClient>;
}

export type ContenderName =
  | 'tokenfetch'
  | 'tokenfetch-baseline'
  | 'floor'
  | 'axios'
  | 'badgateway'
  | 'hand-written'
  | 'undici-limit';

/** A call failed if it threw or did not end in a 2xx answer. */
export function failed(outcome: Outcome | undefined): boolean {
  return outcome === undefined || outcome.status < 200 || outcome.status > 299;
}
