// Reference twins of assembly/gemm.ts kernels.
export {};
