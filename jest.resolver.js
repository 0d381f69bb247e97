// ESM-only packages (the IPFS stack) export only "import"/"module-sync" entries, which jest's CommonJS
// resolution cannot see. Only when a module cannot be resolved at all is it tried again with those
// conditions; every package that has a CommonJS entry keeps it.
module.exports = (request, options) => {
  try {
    return options.defaultResolver(request, options);
  } catch (error) {
    try {
      return options.defaultResolver(request, { ...options, conditions: [...(options.conditions ?? []), 'module-sync', 'import'] });
    } catch {
      throw error;
    }
  }
};
