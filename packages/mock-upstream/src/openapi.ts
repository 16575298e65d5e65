import { demoUser } from './demo.js';
import { bodyLimitBytes } from './read-body.js';
import { commonMethods } from './routes.js';
import type { CommonMethod, DocumentedRoutes } from './routes.js';
import { widgetColors, widgetLimits } from './widget-store.js';

/** A JSON Schema (2020-12, as OpenAPI 3.1 uses it) or a `$ref` to one. */
type Schema = Readonly<Record<string, unknown>>;

/** An OpenAPI operation object, as much of it as this document uses. */
interface Operation {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly security?: readonly Readonly<Record<string, readonly string[]>>[];
  readonly parameters?: readonly Schema[];
  readonly requestBody?: Schema;
  readonly responses: Readonly<Record<string, Schema>>;
}

/** For every route of `routes.ts`, an operation per documented method: the compiler checks none is missing. */
type Paths = { readonly [P in keyof DocumentedRoutes]: Record<DocumentedRoutes[P], Operation> };

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema, example?: unknown): Schema => ({
  'application/json': example === undefined ? { schema } : { schema, example },
});
const answer = (description: string, schema?: Schema, headers?: Schema): Schema => ({
  description,
  ...(headers && { headers }),
  ...(schema && { content: json(schema) }),
});
const errorAnswer = (description: string) => answer(description, ref('Error'));

const forbidden = { $ref: '#/components/responses/Forbidden' };
const forbiddenHead = answer('No valid credentials (a HEAD answer has no body).');
const tooLarge = { $ref: '#/components/responses/TooLarge' };
const orgId: Schema = {
  type: ['string', 'integer'],
  description: 'An org id, as the user’s `orgs` list it (numbers and strings compare as strings).',
};

const schemas: Readonly<Record<string, Schema>> = {
  Error: {
    type: 'object',
    required: ['error'],
    properties: { error: { type: 'string', description: 'What went wrong; never a secret.' } },
  },
  LoginRequest: {
    type: 'object',
    required: ['email', 'password', 'selectedOrg'],
    properties: {
      email: { type: 'string' },
      password: { type: 'string', format: 'password' },
      selectedOrg: { ...orgId, description: 'The org to act in; one of the user’s orgs.' },
    },
  },
  LoginResponse: {
    type: 'object',
    required: ['token'],
    properties: {
      token: {
        type: 'string',
        pattern: '^[A-Za-z0-9_-]{43}$',
        description: 'Send as `Authorization: Bearer <token>`.',
      },
      expiresIn: {
        type: 'integer',
        minimum: 0,
        description: 'Seconds the token stays valid; only when the mock runs with `announceTtl`.',
      },
    },
  },
  CurrentUser: {
    type: 'object',
    required: ['id', 'email', 'firstName', 'lastName', 'currentOrg'],
    properties: {
      id: { type: 'integer' },
      email: { type: 'string' },
      firstName: { type: 'string' },
      lastName: { type: 'string' },
      currentOrg: {
        type: 'object',
        required: ['id'],
        properties: { id: orgId },
        description: 'The org chosen at login, or the API key’s org.',
      },
    },
  },
  WidgetColor: { type: 'string', enum: widgetColors },
  NewWidget: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: {
      name: { type: 'string', minLength: 1, maxLength: widgetLimits.nameMaxLength },
      color: ref('WidgetColor'),
      // No `default` keyword: openapi-typescript makes a property with one required.
      quantity: {
        type: 'integer',
        minimum: 0,
        maximum: widgetLimits.quantityMax,
        description: '1 when left out.',
      },
    },
  },
  Widget: {
    type: 'object',
    required: ['id', 'orgId', 'name', 'color', 'quantity', 'createdBy', 'createdAt'],
    properties: {
      id: { type: 'integer', minimum: 1 },
      orgId: { ...orgId, description: 'The org of the call that created it.' },
      name: { type: 'string' },
      color: { oneOf: [ref('WidgetColor'), { type: 'null' }] },
      quantity: { type: 'integer', minimum: 0 },
      createdBy: { type: 'integer', description: 'Id of the user the creating call acted as.' },
      createdAt: { type: 'string', format: 'date-time' },
    },
  },
  WidgetList: {
    type: 'object',
    required: ['widgets'],
    properties: { widgets: { type: 'array', items: ref('Widget') } },
  },
  Redirect: {
    type: 'object',
    required: ['redirectTo'],
    properties: { redirectTo: { type: 'string' } },
  },
  Status: {
    type: 'object',
    required: ['status', 'message'],
    properties: { status: { type: 'integer' }, message: { type: 'string' } },
  },
  Echo: {
    type: 'object',
    required: ['method', 'path', 'query', 'headers', 'body'],
    properties: {
      method: { type: 'string' },
      path: { type: 'string', description: 'The full path, prefix included, without the query.' },
      query: { type: 'object', additionalProperties: stringOrList() },
      headers: {
        type: 'object',
        additionalProperties: stringOrList(),
        description: '`authorization` and `x-api-key` read `present`, never their value.',
      },
      body: {
        description:
          'The parsed JSON for a JSON content type, else the raw text; `null` without a body.',
      },
    },
  },
};

const widgetId = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'integer', minimum: 1 },
  example: 1,
};

const paths: Paths = {
  '/user/authenticate': {
    post: {
      operationId: 'login',
      summary: 'Log in: a session token for one org',
      description:
        'Checks, in this order: a malformed body (400), the email and password (401), the ' +
        'user’s membership of `selectedOrg` (404). The token is valid 15 minutes unless the ' +
        'mock runs with another `tokenTtlMs`.',
      tags: ['auth'],
      security: [],
      requestBody: {
        required: true,
        content: json(ref('LoginRequest'), {
          email: demoUser.email,
          password: demoUser.password,
          selectedOrg: demoUser.orgs[0] ?? 1,
        }),
      },
      responses: {
        '200': answer('Logged in.', ref('LoginResponse')),
        '400': errorAnswer('The body is not a JSON object with those fields.'),
        '401': errorAnswer('Wrong email or password.'),
        '404': errorAnswer('The user is not an active member of any org, or not of `selectedOrg`.'),
        '413': tooLarge,
      },
    },
  },
  '/openapi.json': {
    get: {
      operationId: 'getOpenApiDocument',
      summary: 'This document',
      tags: ['meta'],
      security: [],
      responses: {
        '200': answer('The OpenAPI document.', { type: 'object', additionalProperties: true }),
      },
    },
    head: {
      operationId: 'headOpenApiDocument',
      summary: 'This document’s headers',
      tags: ['meta'],
      security: [],
      responses: { '200': answer('The headers of the OpenAPI document.') },
    },
  },
  '/user/users/me': {
    get: {
      operationId: 'getCurrentUser',
      summary: 'The user a call acts as, and its org',
      description:
        'For a session token: its user, in the org chosen at login. For an API key: the user ' +
        'named by `impersonate-user-id` when it names one, else the key’s service user, in ' +
        'the key’s org.',
      tags: ['users'],
      responses: { '200': answer('The current user.', ref('CurrentUser')), '403': forbidden },
    },
    head: {
      operationId: 'headCurrentUser',
      summary: 'The current user’s headers',
      tags: ['users'],
      responses: { '200': answer('Authenticated.'), '403': forbiddenHead },
    },
  },
  '/widgets': {
    get: {
      operationId: 'listWidgets',
      summary: 'The widgets of the call’s org, oldest first',
      tags: ['widgets'],
      responses: { '200': answer('The widgets.', ref('WidgetList')), '403': forbidden },
    },
    post: {
      operationId: 'createWidget',
      summary: 'Create a widget in the call’s org',
      tags: ['widgets'],
      requestBody: {
        required: true,
        content: json(ref('NewWidget'), { name: 'bolt', color: 'red', quantity: 12 }),
      },
      responses: {
        '201': answer('Created.', ref('Widget'), {
          location: { description: 'The path of the new widget.', schema: { type: 'string' } },
        }),
        '400': errorAnswer('The body is not a valid new widget.'),
        '403': forbidden,
        '413': tooLarge,
      },
    },
  },
  '/widgets/{id}': {
    get: {
      operationId: 'getWidget',
      summary: 'One widget of the call’s org',
      tags: ['widgets'],
      parameters: [widgetId],
      responses: {
        '200': answer('The widget.', ref('Widget')),
        '403': forbidden,
        '404': errorAnswer('No widget with that id in this org.'),
      },
    },
  },
  '/redirect': eachMethod((method) => ({
    operationId: `${method}Redirect`,
    summary: 'A redirect to `to`, for any method',
    tags: ['testing'],
    parameters: [
      {
        name: 'to',
        in: 'query',
        required: true,
        schema: { type: 'string', minLength: 1 },
        example: 'https://elsewhere.example/x',
      },
      {
        name: 'status',
        in: 'query',
        schema: { type: 'integer', minimum: 300, maximum: 399, default: 302 },
        example: 307,
      },
    ],
    responses: {
      '3XX': answer('The redirect asked for.', ref('Redirect'), {
        location: { description: 'The `to` parameter.', schema: { type: 'string' } },
      }),
      '400': errorAnswer('`to` is missing or `status` is not from 300 to 399.'),
      '403': forbidden,
    },
  })),
  '/status/{code}': eachMethod((method) => ({
    operationId: `${method}Status`,
    summary: 'An answer with the status asked for, for any method',
    description: 'A code of three digits outside 200–599 answers 400 with `{ error }`.',
    tags: ['testing'],
    parameters: [
      {
        name: 'code',
        in: 'path',
        required: true,
        schema: { type: 'integer', minimum: 200, maximum: 599 },
        example: 200,
      },
    ],
    responses: {
      '403': forbidden,
      default: answer('The status asked for (no body for 204, 205 and 304).', ref('Status')),
    },
  })),
  '/echo': eachMethod((method) => ({
    operationId: `${method}Echo`,
    summary: 'An echo of the request',
    description:
      'Every call no other route serves — any other path under the prefix, or a method a ' +
      'route does not serve — answers this echo; it is documented here under `/echo`.',
    tags: ['testing'],
    ...(method === 'get' || method === 'head'
      ? {}
      : {
          requestBody: {
            content: {
              'application/json': { schema: {}, example: { hello: 'world' } },
              'text/plain': { schema: { type: 'string' } },
              'application/octet-stream': {
                schema: { type: 'string', contentMediaType: 'application/octet-stream' },
              },
            },
          },
        }),
    responses: {
      '200': answer('The echo.', ref('Echo')),
      '403': forbidden,
      ...(method === 'get' || method === 'head' ? {} : { '413': tooLarge }),
    },
  })),
};

/**
 * The OpenAPI 3.1 document of a mock upstream served under `prefix` (`''` for the root),
 * as `GET {prefix}/openapi.json` answers it. The server URL is the prefix, relative to
 * where the document is served, so the document is the same on every port.
 */
export function openApiDocument(prefix: string): Readonly<Record<string, unknown>> {
  return {
    openapi: '3.1.1',
    info: {
      title: 'tokenfetch mock upstream',
      version: '1.0.0',
      description:
        'A mock of Resolver Core’s session-token API (`POST /user/authenticate`, then ' +
        '`Authorization: Bearer <token>`; or `x-api-key`, with `impersonate-user-id` to act ' +
        'as a user of the org), plus routes of its own for tests: widgets, redirects, ' +
        'statuses and an echo. Calls without valid credentials answer 403.',
    },
    servers: [{ url: prefix === '' ? '/' : prefix }],
    security: [{ bearerAuth: [] }, { apiKey: [] }, { apiKey: [], impersonateUserId: [] }],
    tags: [
      { name: 'auth', description: 'Session tokens.' },
      { name: 'users', description: 'Who a call acts as.' },
      { name: 'widgets', description: 'A small org-scoped resource of the mock’s own.' },
      { name: 'testing', description: 'Routes for testing clients: redirects, statuses, echo.' },
      { name: 'meta', description: 'This document.' },
    ],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'A session token from `POST /user/authenticate`.',
        },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        impersonateUserId: {
          type: 'apiKey',
          in: 'header',
          name: 'impersonate-user-id',
          description: 'With `x-api-key`: act as the user with this id.',
        },
      },
      responses: {
        Forbidden: errorAnswer(
          'No valid credentials: no token or key, or one unknown, expired or revoked.',
        ),
        TooLarge: errorAnswer(`The body is over ${bodyLimitBytes} bytes.`),
      },
      schemas,
    },
  };
}

/** The operation for each common method; HEAD's answers carry no body. */
function eachMethod(
  operation: (method: CommonMethod) => Operation,
): Record<CommonMethod, Operation> {
  const entries = commonMethods.map((method) => {
    const described = operation(method);
    return [method, method === 'head' ? withoutBodies(described) : described] as const;
  });
  return Object.fromEntries(entries) as Record<CommonMethod, Operation>;
}

function withoutBodies(operation: Operation): Operation {
  const responses = Object.entries(operation.responses).map(([status, response]) => {
    if (response === forbidden) return [status, forbiddenHead] as const;
    return [status, Object.fromEntries(Object.entries(response).filter(([k]) => k !== 'content'))];
  });
  return { ...operation, responses: Object.fromEntries(responses) };
}

function stringOrList(): Schema {
  return { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };
}
