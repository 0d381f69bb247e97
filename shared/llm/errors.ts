/**
 * Errors of the LLM layer (checkpoint import, reference runtimes). Callers branch on `name`; each
 * error names the file or tensor it is about, so a user can tell which part of a download is wrong.
 */
export class LlmError extends Error {
  override name = 'LlmError';
}

/** A safetensors file that does not follow the format (header, dtypes, offsets). */
export class SafetensorsError extends LlmError {
  override name = 'SafetensorsError';
  constructor(
    message: string,
    readonly file: string,
    readonly tensor?: string,
  ) {
    super(`${file}${tensor ? ` (tensor ${tensor})` : ''}: ${message}`);
  }
}

/** A Hugging Face checkpoint folder that is not a LlamaForCausalLM we can import. */
export class CheckpointError extends LlmError {
  override name = 'CheckpointError';
  constructor(
    message: string,
    readonly dir: string,
  ) {
    super(`checkpoint ${dir}: ${message}`);
  }
}

/** A config.json that is not a LLaMA we implement, with the field to change. */
export class LlamaConfigError extends LlmError {
  override name = 'LlamaConfigError';
}
