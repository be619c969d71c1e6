// Reference twins of assembly/im2col.ts kernels.
export {};
