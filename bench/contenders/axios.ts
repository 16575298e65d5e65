import axios, { isAxiosError } from 'axios';
import { createAuthRefresh } from 'axios-auth-refresh';
import type { Contender } from './contender.js';

/**
 * axios with axios-auth-refresh 5 as its README sets it up: a request interceptor adds
 * the current token, the refresh logic logs in and patches the failed request. Library
 * defaults throughout except `statusCodes`: the upstream answers an unauthenticated call
 * with 403, and the default `[401]` would never log in at all.
 */
export const axiosAuthRefresh: Contender = {
  name: 'axios',
  create(baseUrl, credentials) {
    let token: string | undefined;
    const instance = axios.create({ baseURL: baseUrl, responseType: 'text' });
    instance.interceptors.request.use((config) => {
      if (token !== undefined) config.headers.set('authorization', `Bearer ${token}`);
      return config;
    });
    createAuthRefresh(
      // axios ships separate CommonJS and ESM typings; axios-auth-refresh names the former.
      instance as unknown as Parameters<typeof createAuthRefresh>[0],
      async (failedRequest: { response: { config: { headers: Record<string, string> } } }) => {
        const answer = await axios.post<{ token: string }>(`${baseUrl}/user/authenticate`, {
          email: credentials.email,
          password: credentials.password,
          selectedOrg: credentials.orgId,
        });
        token = answer.data.token;
        failedRequest.response.config.headers.authorization = `Bearer ${token}`;
      },
      { statusCodes: [401, 403] },
    );
    return Promise.resolve({
      async fetch(path) {
        try {
          const response = await instance.get<string>(path);
          return { status: response.status, body: response.data };
        } catch (error) {
          if (isAxiosError(error) && error.response !== undefined) {
            return { status: error.response.status, body: String(error.response.data) };
          }
          throw error;
        }
      },
      close: () => Promise.resolve(),
    });
  },
};
