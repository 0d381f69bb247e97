/**
 * Jest environment for suites that call onnxruntime-node. The native addon creates its output
 * typed arrays in Node's main realm, and onnxruntime-common (loaded inside jest's sandbox) checks
 * them with `instanceof`; sharing the main realm's typed-array constructors makes that check hold.
 * Selected per file with a `@jest-environment ./test/dnn/ortEnvironment.js` docblock.
 */
const NodeEnvironment = require('jest-environment-node').TestEnvironment;

const SHARED = [
  'Float32Array', 'Float64Array', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array', 'ArrayBuffer',
];

class OrtEnvironment extends NodeEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = OrtEnvironment;
