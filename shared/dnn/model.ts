/**
 * Model packages (docs/dnn-spec.md sections 1, 2 and 4): building the spec and weights blob from
 * in-memory tensors, loading and checking them, and the model root. A loaded package reads its
 * weights by offset (./weights.ts) and knows its blob's tree from the constants' roots
 * (./weightsTree.ts), so nothing here holds or rehashes a whole blob once its roots are verified.
 */
import { keccak256 } from '../vm/keccak';
import { merkleRootOfBytes } from '../vm/merkle';
import { ConstantTensors, type ConstantLookup } from './constants';
import { DnnSpecError } from './errors';
import { nodeStartLayout } from './nodeLayout';
import { checkValueBounds, inferOutputShape } from './shapes';
import { MAX_NODE_STEPS, nodeStepBound } from './stepBound';
import { ATTR_RULES, INT32_OUTPUT_OPS, DNN_FORMAT_VERSION, DTYPE_SIZE, MAX_TENSOR_BYTES, OPERANDS, modelSpecSchema, type AttrRule, type GenerationSpec, type ModelSpec, type TextSpec, type NodeSpec, type TensorSpec } from './spec';
import { elementCount, paddedSize, tensorBytes, tensorRoot, toHex, type Tensor } from './tensor';
import { BytesWeights, readWeights, type WeightsSource } from './weights';
import { WeightsTree } from './weightsTree';

export interface DnnModel {
  spec: ModelSpec;
  /** the spec file's bytes, exactly as hashed */
  specBytes: Uint8Array;
  weights: WeightsSource;
  tensorSpecs: Map<string, TensorSpec>;
  constants: ConstantTensors;
  /** the weights blob's tree from the constants' (verified) roots */
  weightsTree: WeightsTree;
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
  generation?: GenerationSpec;
  text?: TextSpec;
}

/** Constants in blob order: largest padded size first, ties in the given (spec) order (section 4). */
function blobOrder<T extends { byteLength: number }>(constants: readonly T[]): T[] {
  return constants
    .map((c, i) => ({ c, i }))
    .sort((a, b) => paddedSize(b.c.byteLength) - paddedSize(a.c.byteLength) || a.i - b.i)
    .map(({ c }) => c);
}

/** Each constant's offset in the blob (section 4) and the blob's length, from the byte lengths alone. */
export function blobLayout(constants: readonly { name: string; byteLength: number }[]): { offsets: Map<string, number>; length: number } {
  const offsets = new Map<string, number>();
  let length = 0;
  for (const c of blobOrder(constants)) {
    offsets.set(c.name, length);
    length += paddedSize(c.byteLength);
  }
  return { offsets, length };
}

/** The spec text as the importer writes it (section 2): one-space indent, trailing newline. */
export function specText(spec: ModelSpec): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(spec, null, 1) + '\n');
}

/** The spec of a draft whose constants have these offsets and roots (the package writer's and buildModel's shared step). */
export function draftSpec(draft: ModelDraft, offsets: ReadonlyMap<string, number>, roots: ReadonlyMap<string, string>): ModelSpec {
  return {
    format: 'opml-dnn',
    version: DNN_FORMAT_VERSION,
    name: draft.name,
    input: draft.input,
    output: draft.output,
    tensors: draft.tensors.map((t) => {
      const offset = offsets.get(t.name);
      return {
        name: t.name,
        dtype: t.dtype,
        shape: t.shape,
        scale: t.scale,
        zeroPoint: t.zeroPoint,
        ...(offset !== undefined ? { root: roots.get(t.name)!, offset, byteLength: elementCount(t.shape) * DTYPE_SIZE[t.dtype] } : {}),
        ...(t.channelScales ? { channelScales: t.channelScales } : {}),
      };
    }),
    nodes: draft.nodes,
    ...(draft.generation ? { generation: draft.generation } : {}),
    ...(draft.text ? { text: draft.text } : {}),
  };
}

/** A package from in-memory tensors (the importer's output): the blob is built in memory. */
export function buildModel(draft: ModelDraft): DnnModel {
  const withData = draft.tensors.filter((t) => t.data).map((t) => ({ name: t.name, bytes: tensorBytes(t.data!), byteLength: tensorBytes(t.data!).length, data: t.data! }));
  const { offsets, length } = blobLayout(withData);
  const weights = new Uint8Array(length);
  for (const c of withData) weights.set(c.bytes, offsets.get(c.name)!);
  const roots = new Map(withData.map((c) => [c.name, toHex(tensorRoot(c.data))]));
  return loadModel(specText(draftSpec(draft, offsets, roots)), weights);
}

export interface LoadOptions {
  /**
   * Roots of the blob's constant regions by offset (each region `paddedSize(byteLength)` bytes),
   * computed from these very bytes by a streaming pass (shared/vm's streaming root captures them):
   * checked against the spec instead of rereading and rehashing the blob.
   */
  regionRoots?: ReadonlyMap<number, string>;
  /**
   * This exact package (same spec bytes, same weights bytes) passed every check of loadModel before,
   * as a cache's own record says: the structure is checked again, the roots and value bounds
   * (which read every weight) are not.
   */
  trusted?: boolean;
  /** Bytes of decoded constants the model keeps between uses (default DEFAULT_CONSTANT_CACHE_BYTES). */
  constantCacheBytes?: number;
}

/** The spec file's JSON against the schema (section 2) alone: what a reader needs before it has the weights. */
export function parseSpec(specBytes: Uint8Array): ModelSpec {
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
  return parsed.data;
}

/** The regions of the blob that hold constants (offset, padded size), as the spec declares them. */
export function constantRegions(spec: ModelSpec): { offset: number; size: number }[] {
  return spec.tensors.filter((t) => t.offset !== undefined && t.byteLength !== undefined).map((t) => ({ offset: t.offset!, size: paddedSize(t.byteLength!) }));
}

/** Parses and checks a package; every inconsistency is a DnnSpecError naming where it is. */
export function loadModel(specBytes: Uint8Array, weightsOrBytes: WeightsSource | Uint8Array, options: LoadOptions = {}): DnnModel {
  const weights = weightsOrBytes instanceof Uint8Array ? new BytesWeights(weightsOrBytes) : weightsOrBytes;
  const spec = parseSpec(specBytes);
  const tensorSpecs = new Map<string, TensorSpec>();
  for (const t of spec.tensors) {
    if (tensorSpecs.has(t.name)) throw new DnnSpecError('duplicate tensor name', `tensor ${t.name}`);
    tensorSpecs.set(t.name, t);
  }
  const weightsTree = checkBlob(spec, weights, options);
  const constants = new ConstantTensors(spec.tensors, weights, options.constantCacheBytes);
  checkGraph(spec, tensorSpecs, constants, !options.trusted);
  return { spec, specBytes, weights, tensorSpecs, constants, weightsTree };
}

/**
 * The constants' layout (canonical offsets, the blob's exact length) and their roots against the
 * bytes: from `regionRoots` when a streaming pass computed them, by reading each region otherwise,
 * not at all for a trusted package.
 */
function checkBlob(spec: ModelSpec, weights: WeightsSource, options: LoadOptions): WeightsTree {
  const declared = spec.tensors.filter((t) => t.offset !== undefined || t.byteLength !== undefined);
  let expected = 0;
  const regions: { name: string; offset: number; size: number; root: string }[] = [];
  for (const t of blobOrder(declared.map((d) => ({ ...d, byteLength: d.byteLength ?? 0 })))) {
    const where = `tensor ${t.name}`;
    if (t.offset === undefined || t.byteLength === undefined || t.root === undefined)
      throw new DnnSpecError('a constant needs offset, byteLength and root', where);
    if (t.byteLength !== elementCount(t.shape) * DTYPE_SIZE[t.dtype]) throw new DnnSpecError(`byteLength ${t.byteLength} does not match dtype and shape`, where);
    if (t.offset !== expected) throw new DnnSpecError(`offset ${t.offset} is not the canonical ${expected}`, where);
    regions.push({ name: t.name, offset: t.offset, size: paddedSize(t.byteLength), root: t.root });
    expected += paddedSize(t.byteLength);
  }
  if (weights.byteLength !== expected) throw new DnnSpecError(`weights blob is ${weights.byteLength} bytes, the spec lays out ${expected}`, 'weights');
  if (!options.trusted) {
    for (const r of regions) {
      const actual = options.regionRoots ? options.regionRoots.get(r.offset) : toHex(merkleRootOfBytes(readWeights(weights, r.offset, r.size)));
      if (actual === undefined) throw new DnnSpecError(`no root was computed for its region at offset ${r.offset}`, `tensor ${r.name}`);
      if (actual.toLowerCase() !== r.root) throw new DnnSpecError(`root does not match the weights blob (the bytes give ${actual})`, `tensor ${r.name}`);
    }
  }
  return new WeightsTree(regions.map((r) => ({ offset: r.offset, size: r.size, root: Buffer.from(r.root.slice(2), 'hex') })), expected);
}

function checkGraph(spec: ModelSpec, tensorSpecs: Map<string, TensorSpec>, constants: ConstantTensors, checkValues: boolean): void {
  for (const t of spec.tensors) checkTensorSpec(t);
  const input = tensorSpecs.get(spec.input);
  if (!input || constants.has(spec.input) || input.dtype === 'uint8') throw new DnnSpecError('the input must be a declared int8 or int32 (token ids) activation', `input ${spec.input}`);
  const carried = spec.generation ? spec.generation.carry.map((c) => c.to) : [];
  const available = new Set([spec.input, ...constants.names(), ...carried]);
  spec.nodes.forEach((node, i) => {
    const where = `node ${i + 1} (${node.op})`;
    for (const name of node.inputs) if (!available.has(name)) throw new DnnSpecError(`input ${name} is not computed before this node`, where);
    const out = tensorSpecs.get(node.output);
    if (!out || available.has(node.output)) throw new DnnSpecError(`output ${node.output} must be a declared tensor written once`, where);
    const outDtype = INT32_OUTPUT_OPS.includes(node.op) ? 'int32' : 'int8';
    if (out.dtype !== outDtype) throw new DnnSpecError(`${node.op} outputs are ${outDtype}`, where);
    node.attrs = resolveAttrs(node, where);
    checkOperands(node, where, tensorSpecs, constants);
    const shapes = node.inputs.map((n) => tensorSpecs.get(n)!.shape);
    const inferred = inferOutputShape(node, `${i + 1}`, shapes, out.shape);
    if (inferred.join(',') !== out.shape.join(',')) throw new DnnSpecError(`declared shape ${JSON.stringify(out.shape)} but the operator gives ${JSON.stringify(inferred)}`, where);
    if (checkValues) checkValueBounds(node, where, tensorSpecs, constants);
    checkVmFit(node, where, tensorSpecs);
    available.add(node.output);
  });
  if (!spec.nodes.some((n) => n.output === spec.output)) throw new DnnSpecError('is not produced by any node', `output ${spec.output}`);
  if (spec.generation) checkGeneration(spec, tensorSpecs, constants);
  for (const t of spec.tensors) if (!available.has(t.name)) throw new DnnSpecError('is neither a constant, the input nor a node output', `tensor ${t.name}`);
}

/**
 * A generation package (section 10): the state is the int32 input vector and `next` (the output)
 * a node's result of the same shape; each carried tensor is an activation no node writes, declared
 * exactly as the node output it takes over at the next step.
 */
function checkGeneration(spec: ModelSpec, tensorSpecs: Map<string, TensorSpec>, constants: ConstantTensors): void {
  const g = spec.generation!;
  const where = 'generation';
  const written = new Set(spec.nodes.map((n) => n.output));
  const state = tensorSpecs.get(g.state);
  if (g.state !== spec.input || !state || state.dtype !== 'int32' || state.shape.length !== 1) throw new DnnSpecError(`state ${g.state} must be the model input, an int32 vector`, where);
  const next = tensorSpecs.get(g.next);
  if (g.next !== spec.output || !next || !written.has(g.next) || next.dtype !== 'int32' || next.shape.join(',') !== state.shape.join(','))
    throw new DnnSpecError(`next ${g.next} must be the model output, written by a node, shaped as the state`, where);
  const seen = new Set<string>();
  for (const { from, to } of g.carry) {
    const f = tensorSpecs.get(from);
    const t = tensorSpecs.get(to);
    if (!f || !written.has(from)) throw new DnnSpecError(`carried tensor ${from} is not a node output`, where);
    if (!t || written.has(to) || constants.has(to) || to === spec.input || seen.has(to)) throw new DnnSpecError(`carried tensor ${to} must be an activation that no node writes, carried once`, where);
    if (f.dtype !== t.dtype || f.shape.join(',') !== t.shape.join(',') || f.scale !== t.scale || f.zeroPoint !== t.zeroPoint)
      throw new DnnSpecError(`carried tensor ${to} must be declared exactly as ${from} (dtype, shape, scale, zero point)`, where);
    seen.add(to);
  }
}

/**
 * A node must run in the VM as a dispute would run it: its tensors inside the address space and its
 * kernel inside the game's step bound. Refused here, no accepted package can fail in a dispute.
 */
function checkVmFit(node: NodeSpec, where: string, tensorSpecs: Map<string, TensorSpec>): void {
  nodeStartLayout({ tensorSpecs }, node);
  const steps = nodeStepBound(node, tensorSpecs);
  if (steps > MAX_NODE_STEPS)
    throw new DnnSpecError(`its kernel may take up to ${steps.toExponential(3)} VM steps, past the dispute step bound 2^40: split it into smaller nodes`, where, {
      field: 'steps',
      value: steps,
      limit: '<= 2^40',
    });
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

function checkOperands(node: NodeSpec, where: string, tensorSpecs: Map<string, TensorSpec>, constants: ConstantLookup): void {
  const { dtypes, constants: mustBeConstant } = OPERANDS[node.op];
  node.inputs.forEach((name, i) => {
    const dtype = tensorSpecs.get(name)!.dtype;
    if (i < dtypes.length && dtype !== dtypes[i]) throw new DnnSpecError(`input ${i} (${name}) is ${dtype}, the operator takes ${dtypes[i]}`, where);
    if (mustBeConstant.includes(i) && !constants.has(name)) throw new DnnSpecError(`input ${i} (${name}) must be a constant`, where);
  });
  // Dense, Conv2d, LayerNorm and RmsNorm ignore a weight tensor's zero point: it must say so.
  if ((node.op === 'Dense' || node.op === 'Conv2d' || node.op === 'LayerNorm' || node.op === 'RmsNorm') && tensorSpecs.get(node.inputs[1])!.zeroPoint !== 0)
    throw new DnnSpecError(`input 1 (${node.inputs[1]}) is a weight tensor: zeroPoint must be 0`, where);
  // KvWrite copies bytes: the rows, the cache it writes into and its output mean the same values.
  if (node.op === 'KvWrite') {
    const out = tensorSpecs.get(node.output)!;
    for (const name of [node.inputs[0], node.inputs[2]].filter((n): n is string => n !== undefined)) {
      const t = tensorSpecs.get(name)!;
      if (t.zeroPoint !== out.zeroPoint || t.scale !== out.scale)
        throw new DnnSpecError(`${name} (scale ${t.scale}, zero point ${t.zeroPoint}) must be quantised as the output (scale ${out.scale}, zero point ${out.zeroPoint})`, where);
    }
  }
}

export function specHash(model: DnnModel): Uint8Array {
  return keccak256(model.specBytes);
}

/** The blob's root, from the constants' roots (checked against the bytes when the package was loaded). */
export function weightsRoot(model: DnnModel): Uint8Array {
  return model.weightsTree.root();
}

/** keccak256(specHash ‖ weightsRoot): what the registry stores for a model. */
export function modelRoot(model: DnnModel): Uint8Array {
  const both = new Uint8Array(64);
  both.set(specHash(model), 0);
  both.set(weightsRoot(model), 32);
  return keccak256(both);
}
