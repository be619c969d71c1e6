// Keras settings that tfjs-layers drops or refuses while it deserializes a model, checked on the
// raw model.json first: tfjs's ReLU layer reads only max_value, so a ReLU with negative_slope or
// threshold would import as a plain relu and silently compute something else; a grouped Conv2D
// fails inside tfjs with a message that names no layer.

type Json = Record<string, unknown>;

const isRecord = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);

/** The layer entries of a Keras/tfjs model topology (converter layout or tfjs's own), top level. */
function layersOf(topology: unknown): Json[] {
  if (!isRecord(topology)) return [];
  const model = isRecord(topology.model_config) ? topology.model_config : topology;
  const config = model.config;
  const layers = Array.isArray(config) ? config : isRecord(config) ? config.layers : undefined;
  return Array.isArray(layers) ? layers.filter(isRecord) : [];
}

/** Throws naming the first layer whose settings the import would drop or cannot take. */
export function checkKerasSettings(topology: unknown): void {
  for (const layer of layersOf(topology)) {
    const className = String(layer.class_name);
    const config = isRecord(layer.config) ? layer.config : {};
    const name = String(config.name ?? layer.name ?? "?");
    const where = `layer '${name}' (${className})`;
    if (className === "ReLU") {
      for (const setting of ["negative_slope", "threshold"]) {
        const value = config[setting];
        if (value !== undefined && value !== null && value !== 0) {
          throw new Error(`${where} has ${setting} ${JSON.stringify(value)}; tfjs-layers ignores it (the import would compute a plain relu), so only 0 is supported`);
        }
      }
    }
    if ((className === "Conv2D" || className === "DepthwiseConv2D") && config.groups !== undefined && config.groups !== null && config.groups !== 1) {
      throw new Error(`${where} has groups ${JSON.stringify(config.groups)}; only ungrouped convolutions (groups 1) are supported`);
    }
  }
}
