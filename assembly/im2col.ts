// im2col kernels (see the façade in src/kernels/).
