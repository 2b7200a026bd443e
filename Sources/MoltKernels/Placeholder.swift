enum MoltKernelsPlaceholder {}
