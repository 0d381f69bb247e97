/**
 * Model packages (docs/dnn-spec.md sections 1, 2 and 4): building the spec and weights blob from
 * in-memory tensors, loading and checking them, and the model root.
 */
import { keccak256 } from '../vm/keccak';
import { rawCid } from './cid';
import { merkleRootOfBytes } from '../vm/merkle';
import { DnnSpecError } from './errors';
import { checkValueBounds, inferOutputShape } from './shapes';
import { ATTR_RULES, DNN_FORMAT_VERSION, DTYPE_SIZE, MAX_TENSOR_BYTES, OPERANDS, modelSpecSchema, type AttrRule, type ModelSpec, type NodeSpec, type TensorSpec } from './spec';
import { elementCount, paddedSize, tensorBytes, tensorFromBytes, tensorRoot, toHex, type Tensor } from './tensor';

export interface DnnModel {
  spec: ModelSpec;
  /** the spec file's bytes, exactly as hashed */
  specBytes: Uint8Array;
  weights: Uint8Array;
  tensorSpecs: Map<string, TensorSpec>;
  constants: Map<string, Tensor>;
}

/** A tensor as the importer describes it: quantisation, and the data for constants. */
export interface TensorDraft {
  name: string;
  dtype: TensorSpec['dtype'];
  shape: number[];
  scale: number;
  zeroPoint: number;
  channelScales?: number[];
  data?: Tensor;
}

export interface ModelDraft {
  name: string;
  input: string;
  output: string;
  tensors: TensorDraft[];
  nodes: NodeSpec[];
}

/** Constants in blob order: largest padded size first, ties in spec order (section 4). */
function blobOrder<T extends { byteLength: number }>(constants: T[]): T[] {
  return constants
    .map((c, i) => ({ c, i }))
    .sort((a, b) => paddedSize(b.c.byteLength) - paddedSize(a.c.byteLength) || a.i - b.i)
    .map(({ c }) => c);
}

export function buildModel(draft: ModelDraft): DnnModel {
  const withData = draft.tensors
    .filter((t) => t.data)
    .map((t) => ({ name: t.name, bytes: tensorBytes(t.data!), byteLength: tensorBytes(t.data!).length }));
  const offsets = new Map<string, number>();
  let size = 0;
  for (const c of blobOrder(withData)) {
    offsets.set(c.name, size);
    size += paddedSize(c.byteLength);
  }
  const weights = new Uint8Array(size);
  for (const c of withData) weights.set(c.bytes, offsets.get(c.name)!);
  const spec: ModelSpec = {
    format: 'opml-dnn',
    version: DNN_FORMAT_VERSION,
    name: draft.name,
    input: draft.input,
    output: draft.output,
    tensors: draft.tensors.map((t) => ({
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      scale: t.scale,
      zeroPoint: t.zeroPoint,
      ...(t.data ? { root: toHex(tensorRoot(t.data)), offset: offsets.get(t.name)!, byteLength: tensorBytes(t.data).length } : {}),
      ...(t.channelScales ? { channelScales: t.channelScales } : {}),
    })),
    nodes: draft.nodes,
  };
  return loadModel(new TextEncoder().encode(JSON.stringify(spec, null, 1) + '\n'), weights);
}

/** Parses and checks a package; every inconsistency is a DnnSpecError naming where it is. */
export function loadModel(specBytes: Uint8Array, weights: Uint8Array): DnnModel {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(specBytes));
  } catch (e) {
    throw new DnnSpecError(`not UTF-8 JSON (${(e as Error).message})`, 'spec');
  }
  const parsed = modelSpecSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DnnSpecError(issue.message, `spec.${issue.path.join('.')}`);
  }
  const spec = parsed.data;
  const tensorSpecs = new Map<string, TensorSpec>();
  for (const t of spec.tensors) {
    if (tensorSpecs.has(t.name)) throw new DnnSpecError('duplicate tensor name', `tensor ${t.name}`);
    tensorSpecs.set(t.name, t);
  }
  const constants = loadConstants(spec, weights);
  checkGraph(spec, tensorSpecs, constants);
  return { spec, specBytes, weights, tensorSpecs, constants };
}

function loadConstants(spec: ModelSpec, weights: Uint8Array): Map<string, Tensor> {
  const declared = spec.tensors.filter((t) => t.offset !== undefined || t.byteLength !== undefined);
  let expected = 0;
  for (const t of blobOrder(declared.map((d) => ({ ...d, byteLength: d.byteLength ?? 0 })))) {
    const where = `tensor ${t.name}`;
    if (t.offset === undefined || t.byteLength === undefined || t.root === undefined)
      throw new DnnSpecError('a constant needs offset, byteLength and root', where);
    if (t.byteLength !== elementCount(t.shape) * DTYPE_SIZE[t.dtype]) throw new DnnSpecError(`byteLength ${t.byteLength} does not match dtype and shape`, where);
    if (t.offset !== expected) throw new DnnSpecError(`offset ${t.offset} is not the canonical ${expected}`, where);
    expected += paddedSize(t.byteLength);
  }
  if (weights.length !== expected) throw new DnnSpecError(`weights blob is ${weights.length} bytes, the spec lays out ${expected}`, 'weights');
  const constants = new Map<string, Tensor>();
  for (const t of declared) {
    const region = weights.subarray(t.offset!, t.offset! + paddedSize(t.byteLength!));
    if (toHex(merkleRootOfBytes(region)) !== t.root) throw new DnnSpecError('root does not match the weights blob', `tensor ${t.name}`);
    constants.set(t.name, tensorFromBytes(t.dtype, t.shape, region));
  }
  return constants;
}

function checkGraph(spec: ModelSpec, tensorSpecs: Map<string, TensorSpec>, constants: Map<string, Tensor>): void {
  for (const t of spec.tensors) checkTensorSpec(t);
  const input = tensorSpecs.get(spec.input);
  if (!input || constants.has(spec.input) || input.dtype === 'uint8') throw new DnnSpecError('the input must be a declared int8 or int32 (token ids) activation', `input ${spec.input}`);
  const available = new Set([spec.input, ...constants.keys()]);
  spec.nodes.forEach((node, i) => {
    const where = `node ${i + 1} (${node.op})`;
    for (const name of node.inputs) if (!available.has(name)) throw new DnnSpecError(`input ${name} is not computed before this node`, where);
    const out = tensorSpecs.get(node.output);
    if (!out || available.has(node.output)) throw new DnnSpecError(`output ${node.output} must be a declared tensor written once`, where);
    if (out.dtype !== 'int8') throw new DnnSpecError('node outputs are int8', where);
    node.attrs = resolveAttrs(node, where);
    checkOperands(node, where, tensorSpecs, constants);
    const shapes = node.inputs.map((n) => tensorSpecs.get(n)!.shape);
    const inferred = inferOutputShape(node, `${i + 1}`, shapes, out.shape);
    if (inferred.join(',') !== out.shape.join(',')) throw new DnnSpecError(`declared shape ${JSON.stringify(out.shape)} but the operator gives ${JSON.stringify(inferred)}`, where);
    checkValueBounds(node, where, tensorSpecs, constants);
    available.add(node.output);
  });
  if (!spec.nodes.some((n) => n.output === spec.output)) throw new DnnSpecError('is not produced by any node', `output ${spec.output}`);
  for (const t of spec.tensors) if (!available.has(t.name)) throw new DnnSpecError('is neither a constant, the input nor a node output', `tensor ${t.name}`);
}

/** Zero points by dtype, and the guest's tensor size limit (docs/dnn-spec.md section 2). */
function checkTensorSpec(t: TensorSpec): void {
  const where = `tensor ${t.name}`;
  if (t.dtype === 'int8' && t.zeroPoint > 127) throw new DnnSpecError(`zeroPoint ${t.zeroPoint} is outside [-128, 127] (int8)`, where);
  if (t.dtype !== 'int8' && t.zeroPoint !== 0) throw new DnnSpecError(`zeroPoint ${t.zeroPoint} must be 0 (${t.dtype})`, where);
  const bytes = elementCount(t.shape) * DTYPE_SIZE[t.dtype];
  if (bytes > MAX_TENSOR_BYTES) throw new DnnSpecError(`${bytes} bytes exceeds the ${MAX_TENSOR_BYTES}-byte tensor limit`, where);
}

/** The node's attributes in operator order, defaults filled, every value inside its rule. */
function resolveAttrs(node: NodeSpec, where: string): Record<string, number> {
  const rules: Record<string, AttrRule> = ATTR_RULES[node.op];
  for (const name of Object.keys(node.attrs)) if (!(name in rules)) throw new DnnSpecError(`unknown attribute ${name} (${node.op} has ${Object.keys(rules).join(', ') || 'none'})`, where);
  const attrs: Record<string, number> = {};
  for (const [name, rule] of Object.entries(rules)) {
    const v = node.attrs[name] ?? rule.default;
    if (v === undefined) throw new DnnSpecError(`attribute ${name} is required`, where);
    if (v < rule.min || v > rule.max) throw new DnnSpecError(`attribute ${name} = ${v} is outside [${rule.min}, ${rule.max}]`, where, { field: name, value: v, limit: `[${rule.min}, ${rule.max}]` });
    attrs[name] = v;
  }
  return attrs;
}

function checkOperands(node: NodeSpec, where: string, tensorSpecs: Map<string, TensorSpec>, constants: Map<string, Tensor>): void {
  const { dtypes, constants: mustBeConstant } = OPERANDS[node.op];
  node.inputs.forEach((name, i) => {
    const dtype = tensorSpecs.get(name)!.dtype;
    if (i < dtypes.length && dtype !== dtypes[i]) throw new DnnSpecError(`input ${i} (${name}) is ${dtype}, the operator takes ${dtypes[i]}`, where);
    if (mustBeConstant.includes(i) && !constants.has(name)) throw new DnnSpecError(`input ${i} (${name}) must be a constant`, where);
  });
  // Dense, Conv2d and LayerNorm ignore a weight tensor's zero point: it must say so.
  if ((node.op === 'Dense' || node.op === 'Conv2d' || node.op === 'LayerNorm') && tensorSpecs.get(node.inputs[1])!.zeroPoint !== 0)
    throw new DnnSpecError(`input 1 (${node.inputs[1]}) is a weight tensor: zeroPoint must be 0`, where);
}

export function specHash(model: DnnModel): Uint8Array {
  return keccak256(model.specBytes);
}

export function weightsRoot(model: DnnModel): Uint8Array {
  return merkleRootOfBytes(model.weights);
}

/** keccak256(specHash ‖ weightsRoot): what the registry stores for a model. */
export function modelRoot(model: DnnModel): Uint8Array {
  const both = new Uint8Array(64);
  both.set(specHash(model), 0);
  both.set(weightsRoot(model), 32);
  return keccak256(both);
}

/** Content ids of the two package files, for pinning (docs/dnn-spec.md section 1). */
export function packageCids(model: DnnModel): { spec: string; weights: string } {
  return { spec: rawCid(model.specBytes), weights: rawCid(model.weights) };
}
