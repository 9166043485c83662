# zkfsd/: rules for this module (see docs/ARCHITECTURE.md).
