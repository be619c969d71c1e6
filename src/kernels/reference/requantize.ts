// Reference twins of assembly/requantize.ts kernels.
export {};
