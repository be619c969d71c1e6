// gemm kernels (see the façade in src/kernels/).
