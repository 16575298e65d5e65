/**
 * The global `Response`, with the `url` and `redirected` fetch would give it (the
 * constructor cannot set them). `instanceof Response` holds; `clone()` keeps both.
 */
export class UpstreamResponse extends Response {
  readonly #url: string;
  #redirected: boolean;

  constructor(
    body: ConstructorParameters<typeof Response>[0],
    init: ResponseInit,
    url: string,
    redirected = false,
  ) {
    super(body, init);
    this.#url = url;
    this.#redirected = redirected;
  }

  override get url(): string {
    return this.#url;
  }

  override get redirected(): boolean {
    return this.#redirected;
  }

  override clone(): Response {
    const copy = super.clone();
    return new UpstreamResponse(copy.body, copy, this.#url, this.#redirected);
  }

  /**
   * The same answer, marked as reached through redirects. tokenfetch follows redirects
   * itself, so an answer from a `fetch` option is marked too (an own property over the
   * prototype's getter; its `clone()` does not keep it).
   */
  static redirected(response: Response): Response {
    if (response instanceof UpstreamResponse) response.#redirected = true;
    else Object.defineProperty(response, 'redirected', { value: true, enumerable: true });
    return response;
  }
}
