/**
 * Errors of the DNN runtime. Callers branch on `name`; each error carries the values that caused it.
 */
export class DnnError extends Error {
  override name = 'DnnError';
}

/**
 * A spec or weights blob that does not follow docs/dnn-spec.md. A value outside a bound of
 * section 6 also carries the field (attribute, rq row, table entry or intermediate), its value
 * (the worst case, for an intermediate) and the bound.
 */
export class DnnSpecError extends DnnError {
  override name = 'DnnSpecError';
  constructor(
    message: string,
    readonly where: string,
    readonly bound?: { field: string; value: number; limit: string },
  ) {
    super(`${where}: ${message}`);
  }
}

/** A node whose input shapes or attributes do not fit its operator. */
export class DnnShapeError extends DnnError {
  override name = 'DnnShapeError';
  constructor(
    message: string,
    readonly node: string,
    readonly op: string,
    readonly shapes: readonly (readonly number[])[],
  ) {
    super(`node ${node} (${op}): ${message}; input shapes ${JSON.stringify(shapes)}`);
  }
}

/** A real value that has no integer encoding within the ranges the kernels accept. */
export class DnnQuantizationError extends DnnError {
  override name = 'DnnQuantizationError';
  constructor(
    message: string,
    readonly value: number,
  ) {
    super(`${message} (${value})`);
  }
}

/** A task input that does not match the model's input tensor. */
export class DnnInputError extends DnnError {
  override name = 'DnnInputError';
  constructor(
    message: string,
    readonly expected: readonly number[],
    readonly given: readonly number[] | number,
  ) {
    super(`${message}: expected ${JSON.stringify(expected)}, given ${JSON.stringify(given)}`);
  }
}
