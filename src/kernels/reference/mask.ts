// Reference twins of assembly/mask.ts kernels.
export {};
