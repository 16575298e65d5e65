import { axiosAuthRefresh } from './axios.js';
import { tokenfetchBaseline } from './baseline.js';
import { badgateway } from './badgateway.js';
import type { Contender, ContenderName } from './contender.js';
import { floor } from './floor.js';
import { handWritten } from './hand-written.js';
import { tokenfetch } from './tokenfetch.js';
import { undiciLimit } from './undici-limit.js';

export type {
  Contender,
  ContenderClient,
  ContenderName,
  Credentials,
  Outcome,
} from './contender.js';
export { baselineDir, loadBaseline } from './baseline.js';
export { failed } from './contender.js';

export const contenders: Record<ContenderName, Contender> = {
  tokenfetch,
  'tokenfetch-baseline': tokenfetchBaseline,
  floor,
  axios: axiosAuthRefresh,
  badgateway,
  'hand-written': handWritten,
  'undici-limit': undiciLimit,
};

/** The contenders that manage a token (the floor has a constant one). */
export const managing: ContenderName[] = ['tokenfetch', 'axios', 'badgateway', 'hand-written'];
