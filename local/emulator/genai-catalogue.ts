/**
 * The base-model catalogue of the emulated Generative AI service, and the seed clusters the local
 * stack and the demo start with. Shapes and unit counts follow oci-facts.md section B
 * (limitations.htm); everything here can be replaced through `GenAiEmulatorOptions`.
 */
import { createHash } from 'node:crypto';

export const trainingConfigTypes = [
  'TFEW_TRAINING_CONFIG',
  'LORA_TRAINING_CONFIG',
  'VANILLA_TRAINING_CONFIG',
] as const;
export type TrainingConfigType = (typeof trainingConfigTypes)[number];

export interface BaseModelSpec {
  /** OCI's model name, used as `displayName` (e.g. `cohere.command-r-08-2024`). */
  name: string;
  vendor: string;
  version: string;
  /** `Model.Capabilities` values, e.g. `CHAT`, `FINE_TUNE`, `TEXT_EMBEDDINGS`. */
  capabilities: string[];
  /** The unit shape a fine-tuning cluster for this model must have (createModel checks it). */
  fineTuningUnitShape?: string;
  /** Training methods the model accepts; any of the three when absent. */
  trainingConfigTypes?: TrainingConfigType[];
  /** The unit shape a hosting cluster for this model must have (createEndpoint checks it). */
  hostingUnitShape?: string;
  /** ISO time; shown as `timeDeprecated`. */
  timeDeprecated?: string;
  isLongTermSupported?: boolean;
}

/** Realistic entries from the OCI docs (pretrained models and limitations pages, facts A and B). */
export const defaultBaseModels: readonly BaseModelSpec[] = Object.freeze([
  {
    name: 'cohere.command-r-08-2024',
    vendor: 'cohere',
    version: '1.7',
    capabilities: ['CHAT', 'FINE_TUNE'],
    fineTuningUnitShape: 'SMALL_COHERE_V2',
    trainingConfigTypes: ['TFEW_TRAINING_CONFIG', 'LORA_TRAINING_CONFIG'],
    hostingUnitShape: 'SMALL_COHERE_V2',
  },
  {
    name: 'cohere.command-r-16k',
    vendor: 'cohere',
    version: '15.6',
    capabilities: ['CHAT', 'FINE_TUNE'],
    fineTuningUnitShape: 'SMALL_COHERE_V2',
    trainingConfigTypes: ['TFEW_TRAINING_CONFIG', 'VANILLA_TRAINING_CONFIG'],
    hostingUnitShape: 'SMALL_COHERE_V2',
    // limitations.htm lists command-r-16k as deprecated (facts A).
    timeDeprecated: '2025-01-16T00:00:00.000Z',
  },
  {
    name: 'cohere.command-r-plus-08-2024',
    vendor: 'cohere',
    version: '1.6',
    capabilities: ['CHAT'],
    hostingUnitShape: 'LARGE_COHERE_V2_2',
  },
  {
    name: 'meta.llama-3.3-70b-instruct',
    vendor: 'meta',
    version: '1.0.0',
    capabilities: ['CHAT', 'FINE_TUNE'],
    fineTuningUnitShape: 'LARGE_GENERIC',
    trainingConfigTypes: ['LORA_TRAINING_CONFIG'],
    hostingUnitShape: 'LARGE_GENERIC',
  },
  {
    name: 'meta.llama-3.1-70b-instruct',
    vendor: 'meta',
    version: '1.0.0',
    capabilities: ['CHAT', 'FINE_TUNE'],
    fineTuningUnitShape: 'LARGE_GENERIC',
    trainingConfigTypes: ['LORA_TRAINING_CONFIG'],
    hostingUnitShape: 'LARGE_GENERIC',
    // ja-jp meta-llama-3-1-70b.htm marks it retired (facts A).
    timeDeprecated: '2025-03-01T00:00:00.000Z',
  },
  {
    name: 'cohere.embed-english-v3.0',
    vendor: 'cohere',
    version: '3.0',
    capabilities: ['TEXT_EMBEDDINGS'],
    hostingUnitShape: 'EMBED_COHERE',
  },
]);

/**
 * Fixed unit counts of fine-tuning clusters by shape: "8 units for cohere.command-r-16k and 2 units
 * for other models. This cannot be changed" (limitations.htm, older copy; facts B).
 */
export const defaultFineTuningUnitCounts: Readonly<Record<string, number>> = Object.freeze({
  SMALL_COHERE_V2: 8,
  SMALL_COHERE: 8,
  LARGE_GENERIC: 2,
  LARGE_COHERE_V2: 2,
});

export interface SeedCluster {
  displayName: string;
  type: 'HOSTING' | 'FINE_TUNING';
  unitShape: string;
  unitCount: number;
  /** The emulator's compartment when absent. */
  compartmentId?: string;
  description?: string;
}

/** The clusters the local stack and the demo need: one fine-tuning and one hosting per model family. */
export const demoSeedClusters: readonly SeedCluster[] = Object.freeze([
  {
    displayName: 'dacflow-ft-cohere',
    type: 'FINE_TUNING',
    unitShape: 'SMALL_COHERE_V2',
    unitCount: 8,
  },
  {
    displayName: 'dacflow-hosting-cohere',
    type: 'HOSTING',
    unitShape: 'SMALL_COHERE_V2',
    unitCount: 1,
  },
  {
    displayName: 'dacflow-ft-llama',
    type: 'FINE_TUNING',
    unitShape: 'LARGE_GENERIC',
    unitCount: 2,
  },
  {
    displayName: 'dacflow-hosting-llama',
    type: 'HOSTING',
    unitShape: 'LARGE_GENERIC',
    unitCount: 1,
  },
]);

/** A stable OCID for a base model, so its id survives restarts and is the same in every data dir. */
export function baseModelOcid(name: string, region: string): string {
  const unique = createHash('sha256').update(`basemodel:${name}`).digest('hex').slice(0, 60);
  return `ocid1.generativeaimodel.oc1.${region}.${unique}`;
}

/**
 * The clusters a set of workflows names (by display name), so a local stack can run them as
 * written: fine-tuning clusters with the shape and fixed unit count of their base model, hosting
 * clusters with the base model's hosting shape and the workflow's minimum units. Ids (OCIDs) and
 * base models the catalogue does not know are left out: those runs fail with a clear reason.
 */
export function seedClustersFor(
  workflows: readonly {
    genai?: {
      baseModel: string;
      fineTuningCluster: string;
      hostingClusters: readonly string[];
    };
    autoscaling?: { minUnits: number };
  }[],
  catalogue: readonly BaseModelSpec[] = defaultBaseModels,
): SeedCluster[] {
  const seeds = new Map<string, SeedCluster>();
  for (const w of workflows) {
    const g = w.genai;
    const model = g && catalogue.find((m) => m.name === g.baseModel);
    if (!g || !model) continue;
    const ftShape = model.fineTuningUnitShape;
    if (ftShape && !g.fineTuningCluster.startsWith('ocid1.')) {
      seeds.set(g.fineTuningCluster, {
        displayName: g.fineTuningCluster,
        type: 'FINE_TUNING',
        unitShape: ftShape,
        unitCount: defaultFineTuningUnitCounts[ftShape] ?? 2,
      });
    }
    for (const name of g.hostingClusters) {
      if (name.startsWith('ocid1.') || !model.hostingUnitShape) continue;
      seeds.set(name, {
        displayName: name,
        type: 'HOSTING',
        unitShape: model.hostingUnitShape,
        unitCount: w.autoscaling?.minUnits ?? 1,
      });
    }
  }
  return [...seeds.values()];
}
