// Reference twins of assembly/kmeans.ts kernels.
export {};
