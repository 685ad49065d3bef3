/**
 * Window/level presets chosen from the modality. CT gets the four windows radiologists use daily;
 * MR, X-ray and the rest get "auto" only, because their grey values have no fixed physical scale.
 */

export interface VoiPreset {
  key: string;
  name: string;
  /** Window centre and width in modality units (HU for CT). null = compute from the image. */
  center: number | null;
  width: number | null;
}

export const AUTO: VoiPreset = { key: "auto", name: "Auto", center: null, width: null };

const CT: VoiPreset[] = [
  { key: "lung", name: "Lung", center: -600, width: 1500 },
  { key: "mediastinum", name: "Mediastinum", center: 50, width: 350 },
  { key: "bone", name: "Bone", center: 400, width: 1800 },
  { key: "brain", name: "Brain", center: 40, width: 80 },
];

export function presetsFor(modality: string): VoiPreset[] {
  return modality.toUpperCase() === "CT" ? [AUTO, ...CT] : [AUTO];
}

/** The lower/upper bounds a viewport takes (PS3.3 C.11.2.1.2 linear VOI function). */
export function voiRange(center: number, width: number): { lower: number; upper: number } {
  return { lower: center - width / 2, upper: center + width / 2 };
}

/**
 * "Auto" for images without a fixed scale: the 1st–99th percentile of the pixel values, so a few
 * hot pixels or a black border do not flatten the contrast.
 */
export function autoWindow(
  pixels: ArrayLike<number>,
  sampleLimit = 65536,
): { center: number; width: number } {
  const step = Math.max(1, Math.floor(pixels.length / sampleLimit));
  const sample: number[] = [];
  for (let i = 0; i < pixels.length; i += step) sample.push(pixels[i]);
  if (!sample.length) return { center: 0, width: 1 };
  sample.sort((p, q) => p - q);
  const lo = sample[Math.floor(0.01 * (sample.length - 1))];
  const hi = sample[Math.ceil(0.99 * (sample.length - 1))];
  const width = Math.max(1, hi - lo);
  return { center: lo + width / 2, width };
}
