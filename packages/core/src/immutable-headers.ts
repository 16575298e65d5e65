/**
 * The headers of an answer: a `Headers` that refuses every change, as a fetch answer's
 * headers do (their guard is "immutable"; a constructed Response's are not).
 */
export class ImmutableHeaders extends Headers {
  override append(): void {
    throw immutable();
  }

  override set(): void {
    throw immutable();
  }

  override delete(): void {
    throw immutable();
  }
}

function immutable(): TypeError {
  return new TypeError('immutable: the headers of an answer cannot be changed');
}
