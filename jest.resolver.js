// Some ESM-only packages of the IPFS stack export only an "import" entry (no "require", no "module-sync"),
// which jest's CommonJS resolution cannot see. Only when a module cannot be resolved at all is it tried
// again with the "import" condition; every package that has a CommonJS entry keeps it.
module.exports = (request, options) => {
  try {
    return options.defaultResolver(request, options);
  } catch (error) {
    try {
      return options.defaultResolver(request, { ...options, conditions: [...(options.conditions ?? []), 'import'] });
    } catch {
      throw error;
    }
  }
};
