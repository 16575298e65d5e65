import { DEMO_USER } from '@tokenfetch/mock-upstream';
import type { Credentials } from '../contenders/contender.js';

/** The mock upstream's demo user, as every contender logs in. */
export const credentials: Credentials = {
  email: DEMO_USER.email,
  password: DEMO_USER.password,
  orgId: 1,
};
