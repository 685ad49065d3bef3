import { describe, expect, it } from "vitest";

import { autoWindow, presetsFor, voiRange } from "./presets";

describe("window presets by modality", () => {
  it("offers lung, mediastinum, bone and brain for CT", () => {
    expect(presetsFor("CT").map((p) => p.key)).toEqual([
      "auto",
      "lung",
      "mediastinum",
      "bone",
      "brain",
    ]);
  });

  it("offers only auto for MR and X-ray", () => {
    expect(presetsFor("MR").map((p) => p.key)).toEqual(["auto"]);
    expect(presetsFor("DX").map((p) => p.key)).toEqual(["auto"]);
  });

  it("turns centre and width into a VOI range", () => {
    expect(voiRange(-600, 1500)).toEqual({ lower: -1350, upper: 150 });
  });

  it("ignores outliers when windowing automatically", () => {
    const pixels = new Int16Array(1000).map((_, i) => i % 100);
    pixels[0] = 30000;
    const { center, width } = autoWindow(pixels);
    expect(center + width / 2).toBeLessThan(200);
    expect(center - width / 2).toBeGreaterThanOrEqual(0);
  });
});
