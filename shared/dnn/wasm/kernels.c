/*
 * WebAssembly entry point for the guest kernels (every guest/dnn C file but main.c, compiled unchanged): the native
 * executor runs each node through the very C the VM runs, so native and VM bytes share one source.
 * main.c (the VM's validation of an untrusted parameter block) is not linked: natively the block
 * is built by shared/dnn/wasm/wasmBackend.ts from a model that loadModel already checked.
 */
#include "node.h"

typedef void (*kernel_fn)(const node *);

/* Indexed by op code, as main.c's OPS table. */
static kernel_fn const KERNELS[] = {
    [1] = dense,   [2] = conv2d,    [3] = matMul,     [4] = add,     [5] = mul,       [6] = relu,       [7] = maxPool,
    [8] = avgPool, [9] = reshape, [10] = transpose, [11] = gather, [12] = softmax, [13] = layerNorm, [14] = lut,
    [15] = rmsNorm, [16] = rope,    [17] = kvWrite,   [18] = attention,
    [19] = denseWide, [20] = sample, [21] = tokenEmbed,
};

/* Runs the node whose parameter block (docs/dnn-spec.md section 8 layout) is at `p`; 0, or 1 for an unknown op. */
__attribute__((export_name("run_node"))) int run_node(const node_params *p) {
  if (p->op < 1 || p->op >= sizeof KERNELS / sizeof KERNELS[0]) return 1;
  const node n = {p, (const int32_t *)&p->inputs[p->inputCount]};
  KERNELS[p->op](&n);
  return 0;
}
