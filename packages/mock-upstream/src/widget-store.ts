/** The colours a widget may have. */
export const widgetColors = ['red', 'green', 'blue'] as const;

/** A widget's colour. */
export type WidgetColor = (typeof widgetColors)[number];

/** The body of `POST /widgets`. */
export interface NewWidget {
  readonly name: string;
  readonly color?: WidgetColor;
  readonly quantity?: number;
}

/** A stored widget, as the widget routes answer it. */
export interface Widget {
  readonly id: number;
  /** The org it belongs to: the org of the call that created it. */
  readonly orgId: string | number;
  readonly name: string;
  readonly color: WidgetColor | null;
  readonly quantity: number;
  /** Id of the user the creating call acted as. */
  readonly createdBy: number;
  /** ISO date by the server's clock. */
  readonly createdAt: string;
}

/** The limits `parseNewWidget` checks, also stated in the OpenAPI document. */
export const widgetLimits = { nameMaxLength: 100, quantityMax: 1_000_000 } as const;

/** Past this many widgets the oldest is forgotten, so a long-running mock stays small. */
const maxWidgets = 10_000;

/**
 * A small resource of the mock's own (not one of the upstream's), so typed clients have a
 * request and a response body to check: widgets kept in memory, each visible only in the
 * org that created it.
 */
export class WidgetStore {
  readonly #widgets = new Map<number, Widget>();
  readonly #now: () => number;
  #nextId = 1;

  constructor(now: () => number) {
    this.#now = now;
  }

  create(input: NewWidget, orgId: string | number, createdBy: number): Widget {
    const widget: Widget = {
      id: this.#nextId++,
      orgId,
      name: input.name,
      color: input.color ?? null,
      quantity: input.quantity ?? 1,
      createdBy,
      createdAt: new Date(this.#now()).toISOString(),
    };
    this.#widgets.set(widget.id, widget);
    if (this.#widgets.size > maxWidgets) {
      const oldest = this.#widgets.keys().next();
      if (oldest.done !== true) this.#widgets.delete(oldest.value);
    }
    return widget;
  }

  /** The org's widgets, oldest first. */
  list(orgId: string | number): Widget[] {
    return [...this.#widgets.values()].filter((widget) => sameOrg(widget.orgId, orgId));
  }

  /** The widget with that id when it belongs to the org, else `undefined`. */
  find(id: number, orgId: string | number): Widget | undefined {
    const widget = this.#widgets.get(id);
    return widget !== undefined && sameOrg(widget.orgId, orgId) ? widget : undefined;
  }
}

/** A `POST /widgets` body, or what is wrong with it. */
export function parseNewWidget(
  text: string,
): { ok: true; widget: NewWidget } | { ok: false; error: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, error: 'request body must be JSON' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, error: 'request body must be a JSON object' };
  }
  const { name, color, quantity, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) return { ok: false, error: `unknown field: ${unknown}` };
  if (typeof name !== 'string' || name === '' || name.length > widgetLimits.nameMaxLength) {
    return {
      ok: false,
      error: `name must be a string of 1 to ${widgetLimits.nameMaxLength} characters`,
    };
  }
  if (color !== undefined && !widgetColors.includes(color as WidgetColor)) {
    return { ok: false, error: `color must be one of ${widgetColors.join(', ')}` };
  }
  if (quantity !== undefined && !isQuantity(quantity)) {
    return {
      ok: false,
      error: `quantity must be an integer from 0 to ${widgetLimits.quantityMax}`,
    };
  }
  return {
    ok: true,
    widget: {
      name,
      ...(color === undefined ? {} : { color: color as WidgetColor }),
      ...(quantity === undefined ? {} : { quantity }),
    },
  };
}

function isQuantity(value: unknown): value is number {
  return (
    Number.isInteger(value) &&
    (value as number) >= 0 &&
    (value as number) <= widgetLimits.quantityMax
  );
}

function sameOrg(a: string | number, b: string | number): boolean {
  return String(a) === String(b);
}
