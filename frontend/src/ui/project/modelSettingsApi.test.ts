import { describe, expect, it } from "vitest";

import { fieldErrors } from "./modelSettingsApi";

describe("fieldErrors", () => {
  it("turns a DRF 400 body into one reason per dotted field", () => {
    expect(
      fieldErrors({
        "augmentation.rotation_deg": "must be between 0.0 and 180.0",
        input_size: ["must be between 28 and 512"],
      }),
    ).toEqual({
      "augmentation.rotation_deg": "must be between 0.0 and 180.0",
      input_size: "must be between 28 and 512",
    });
  });

  it("gives nothing for a body that is not an object", () => {
    expect(fieldErrors("Bad Request")).toEqual({});
    expect(fieldErrors(null)).toEqual({});
  });
});
