// Reference twins of assembly/lasso.ts kernels.
export {};
