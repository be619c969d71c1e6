// Every kernel the JS side calls. One op family per file.
export * from "./memory";
export * from "./quantize";
export * from "./dequantize";
export * from "./stats";
